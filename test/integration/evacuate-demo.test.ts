import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack, type TestStack } from '../helpers/stack.ts';

/**
 * The evacuation issue's acceptance in the terminal demo (approvals on, as shipped: alice admin, bob operator and on
 * call): alice asks to evacuate xen1, the plan names gateway and web going to xen2 with the figures and the
 * `/approve ID` line; bob approves; the migrations run, and /list shows both on xen2 and no longer running on xen1.
 */
let t: TerminalStack;
let stack: TestStack;
let chat: Conversation;
const say = (line: string) => chat.say(line);
const printed = (re: RegExp, from = 0) => chat.printed(re, from);

const sent = (host: string, re: RegExp) => (stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c));
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

beforeAll(async () => {
  t = await startTerminalStack();
  chat = conversation(t);
  stack = t.stack;
  await say('/list');
}, 60_000);

afterAll(async () => {
  t.input.end();
  await stack?.stop();
});

describe('/evacuate in the terminal demo', () => {
  it('alice asks, the plan moves gateway and web to xen2 with its figures; bob approves; /list shows them on xen2', async () => {
    const asked = await say('@alice /evacuate xen1');
    const id = idOf(asked);
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    // One approval for the whole plan: the card lists every migration, each domain's state, and the figures.
    expect(asked).toContain(`Approval needed: /evacuate xen1 (2 steps) — ${id}`);
    expect(asked).toContain('xen1$ xl migrate web xen2');
    expect(asked).toContain('xen1$ xl migrate gateway xen2');
    expect(asked).toMatch(/web on xen1: (running|blocked), id \d+, 2048 MiB/);
    expect(asked).toMatch(/gateway on xen1: (running|blocked), id \d+, 512 MiB/);
    // xen2: 16384 total, Domain-0 2048 and files 4096 → 10240 free; web takes 2048, then gateway 512.
    expect(asked).toMatch(/1\s+web\s+2 GiB\s+xen2\s+10 GiB\s+8 GiB/);
    expect(asked).toMatch(/2\s+gateway\s+512 MiB\s+xen2\s+8 GiB\s+7.5 GiB/);
    expect(asked).toContain('targets: xen2 10 GiB free of 16 GiB → 7.5 GiB after');
    expect(asked).toContain(`/approve ${id}   or   /deny ${id} [reason]`);
    expect(sent('xen1', /\bmigrate\b/)).toEqual([]);

    const mark = t.output().length;
    await say(`@bob /approve ${id}`);
    await printed(new RegExp(`✔ Approved ${id}\\n/evacuate xen1 \\(2 steps\\) is running; alice gets the result`), mark);
    const result = await printed(
      /✔ xen1 evacuated: 2 guests moved\n(?:.*\n)*?xen1 is now frozen \(mutating commands refused\) until \/unfreeze/,
      mark,
    );
    expect(result).toMatch(/✔ 1\. web → xen2: running there as id \d+ \(verified\)/);
    expect(result).toMatch(/✔ 2\. gateway → xen2: running there as id \d+ \(verified\)/);
    // gateway autostarts with xen1 in the demo: its link stays there, so the reply says it would run twice.
    expect(result).toContain(
      '⚠ gateway still starts with xen1 (its /etc/xen/auto link stays there): before xen1 boots again, run /autostart xen1:gateway off',
    );
    expect(result).not.toContain('⚠ web still starts with');
    expect(sent('xen1', /\bmigrate\b/)).toHaveLength(2);

    const list = await say('/list');
    expect(list).toMatch(/xen2\s+web\s+\d+/);
    expect(list).toMatch(/xen2\s+gateway\s+\d+/);
    expect(list).toMatch(/xen1\s+web\s+-\s+defined \(not running\)/);
    expect(list).toMatch(/xen1\s+gateway\s+-\s+defined \(not running\)/);
    expect(list).toMatch(/xen2\s+files\s+\d+/);
    // And xen1 takes no new starts until someone unfreezes it.
    expect(await say('@alice /start xen1:mail')).toMatch(/✖ Frozen\nxen1 is frozen until \/unfreeze \(alice: evacuated\)/);
  });
});
