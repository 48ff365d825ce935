import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * The README's approval walk-through as a script whose input ends right after the approval: the demo exits "once every
 * answer still due has been printed", and the approved /stop's result is one of them.
 */
let t: TerminalStack;

beforeAll(async () => {
  t = await startTerminalStack();
}, 60_000);

afterAll(async () => {
  await t?.stack.stop();
});

describe('the demo when its input ends just after an approval', () => {
  it('prints the approved request’s result before it is done, and ran it once', async () => {
    const chat = conversation(t);
    await chat.say('/list');
    const asked = await chat.say('@alice /stop web');
    const id = /Approval needed: .* — ([A-Z2-9]{6})/.exec(asked)?.[1] ?? '';
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    t.input.end(`@bob /approve ${id}\n`);
    await t.terminal.done;
    expect(t.output()).toContain(`✔ Approved ${id}`);
    expect(t.output()).toContain('✔ web shut down on xen1');
    expect((t.stack.sim.hosts['xen1']?.commandLog ?? []).filter((c) => /\bshutdown\b/.test(c))).toHaveLength(1);
  });
});
