import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessHandle, ProcessHarness } from '../helpers/processes.ts';
import { ask, received, skewedClock, startRun } from './support.ts';

/**
 * The bot and its agents run on different machines, and machines' clocks disagree (NTP off, a VM restored from a
 * snapshot). What one process stamps and another compares must not depend on them agreeing.
 */
/** The process's clock is `seconds` off the test's, as its own log lines stamp it (libfaketime took effect). */
function expectSkewed(p: ProcessHandle, line: RegExp, seconds: number): void {
  const found = [...p.stderr.lines, ...p.log.lines].find((l) => line.test(l));
  expect(found).toBeDefined();
  const stamped = (JSON.parse(found as string) as { time: number }).time;
  // Logged within the last seconds: its time is off by the skew, give or take that.
  expect(Math.abs(stamped - Date.now() - seconds * 1000)).toBeLessThan(15_000);
}

describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('clocks that disagree between machines', () => {
  let h: ProcessHarness | null = null;
  afterEach(async () => {
    await h?.stopAll();
    h = null;
  });

  it("an agent whose clock is 30 s behind the bot's is alive to it: reads and mutations are served", async () => {
    const run = await startRun({ agent: false });
    h = run.h;
    expectSkewed(await h.startAgent({ env: skewedClock(-30) }), /"msg":"agent started"/, -30);
    const list = await ask(run.bot, '/list xen1');
    expect(list.title).toBe('✔ Domains on xen1');
    const start = await ask(run.bot, '/start mail');
    expect(start.title).toBe('✔ mail started on xen1');
    expect(await received(run.sim, 'xen1', /\bcreate\b/)).toBe(1);
  });

  it("an agent whose clock is 90 s ahead of the bot's runs a mutation picked up at once, rather than calling it late", async () => {
    const run = await startRun({ agent: false });
    h = run.h;
    expectSkewed(await h.startAgent({ env: skewedClock(90) }), /"msg":"agent started"/, 90);
    const start = await ask(run.bot, '/start mail');
    expect(start.title).toBe('✔ mail started on xen1');
    expect(await received(run.sim, 'xen1', /\bcreate\b/)).toBe(1);
  });

  it("a bot whose clock is 45 s ahead of its agent's serves too, and says truly how old a sample is", async () => {
    const run = await startRun({ agent: false, bot: { env: skewedClock(45) } });
    h = run.h;
    expectSkewed(run.bot, /"msg":"bot started"/, 45);
    await h.startAgent();
    const before = Date.now();
    const start = await ask(run.bot, '/start mail');
    const after = Date.now();
    expect(start.title).toBe('✔ mail started on xen1');
    expect(await received(run.sim, 'xen1', /\bcreate\b/)).toBe(1);
    const top = await ask(run.bot, '/top xen1');
    expect(top.title).toMatch(/^✔ /);
    // Taken just now (by the sampler, whose samples are used up to 3 intervals of 2 s old, or one-shot for this
    // request), not 45 s ago.
    expect(top.body.join('\n')).toMatch(/xen1: (live sample, [0-6] s old|one-shot xentop \(no live sample\), [0-6] s ago)$/m);
    // Who did what when: on Redis's clock, not 45 s in the future.
    const entries = readFileSync(h.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ts: string; event: string; command?: string });
    const startedAt = entries.filter((e) => e.command === 'start').map((e) => Date.parse(e.ts));
    expect(startedAt.length).toBeGreaterThan(0);
    for (const t of startedAt) {
      expect(t).toBeGreaterThanOrEqual(before - 2_000);
      expect(t).toBeLessThanOrEqual(after + 2_000);
    }
  });
});
