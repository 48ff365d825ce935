import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack, type TestStack } from '../helpers/stack.ts';

/**
 * An approved change runs only on the state it was approved in. One that finds nothing to do when it runs — the guest
 * stopped or left the host meanwhile — ran on another state: the requester is told that, not "nothing to do".
 */
let t: TerminalStack;
let stack: TestStack;
let chat: Conversation;
const say = (line: string) => chat.say(line);
const sent = (host: string, re: RegExp) => (stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length;
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

describe('an approved stop whose guest stopped before it ran', () => {
  it('GIVEN web stopped outside xenops after the approval was asked THEN the approved stop says the state changed, and sends nothing', async () => {
    const id = idOf(await say('@alice /stop web'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    const xen1 = stack.sim.fleet.host('xen1');
    const web = stack.sim.fleet.findDomain(xen1, 'web');
    if (!web) throw new Error('no web on xen1');
    // Shut down by hand: its config file stays, so xen1 lists it as defined.
    stack.sim.fleet.removeDomain(xen1, web);
    const mark = t.output().length;
    await say(`@bob /approve ${id}`);
    const result = await chat.printed(/✖ Could not stop [^\n]*\n[^\n]*/, mark);
    expect(result).toContain(`web was running and is not any more since approval ${id} was asked for: nothing was done`);
    expect(result).not.toContain('nothing to do');
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bweb\b/)).toBe(0);
  });
});
