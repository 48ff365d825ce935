import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/** The trustworthy-core issue's acceptance script, fed to the demo stack's terminal as a user would type it. */
let t: TerminalStack;

beforeAll(async () => {
  // The trustworthy-core script migrates directly; the approvals suite runs the same demo with approvals on.
  t = await startTerminalStack((c) => ({ ...c, approvals: { ...c.approvals, enabled: false } }));
}, 60_000);

afterAll(async () => {
  await t?.stack.stop();
});

describe('the trustworthy-core acceptance script in the demo', () => {
  it('refuses a second copy, Domain-0, a bad line count and an out-of-scope migration, and moves nothing it refused', async () => {
    const script = [
      '/migrate web xen2',
      '/start xen1:web',
      '/stop xen1:Domain-0 --force',
      '/console web abc',
      '@dave /migrate files xen1',
      '/list',
    ];
    t.input.end(`${script.join('\n')}\n`);
    await t.terminal.done;
    const sections = t.output().split(/^> /m).slice(1);
    expect(sections.map((s) => s.split('\n')[0])).toEqual(script);
    const [migrate, start, dom0, consoleAbc, dave, list] = sections as [string, string, string, string, string, string];
    expect(migrate).toContain('✔ web moved from xen1 to xen2');
    expect(start).toContain('✖ Cannot do that\nweb is running on xen2 — starting it on xen1 would run it twice');
    expect(dom0).toContain("✖ Cannot do that\nDomain-0 is the host's own domain: /stop cannot target it");
    expect(dom0).not.toContain('queued');
    expect(consoleAbc).toContain('lines must be a whole number from 1 to 2000, got "abc"');
    expect(dave).toContain('✖ Not allowed\ndave may not run /migrate to xen1: needs permission domain.migrate on xen1/files');
    expect(dave).not.toContain('queued');
    expect(list).toMatch(/xen2\s+files\s+\d+/);
    expect(list).toMatch(/xen2\s+web\s+\d+/);
    const xen1 = t.stack.sim.hosts['xen1']?.commandLog ?? [];
    const xen2 = t.stack.sim.hosts['xen2']?.commandLog ?? [];
    expect(xen1.filter((c) => /\bcreate\b/.test(c))).toEqual([]);
    expect(xen1.filter((c) => /\b(destroy|shutdown)\b/.test(c))).toEqual([]);
    expect(xen2.filter((c) => /\bmigrate\b/.test(c))).toEqual([]);
    expect(xen1.filter((c) => /\bmigrate\b/.test(c))).toHaveLength(1);
  });
});
