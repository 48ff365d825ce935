import { describe, expect, it } from 'vitest';
import { demoChat } from '../helpers/stack.ts';

/**
 * An approved change runs only on the state it was approved in. One that finds nothing to do when it runs — the guest
 * stopped or left the host meanwhile — ran on another state: the requester is told that, not "nothing to do".
 */
const chat = demoChat();
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

describe('an approved stop whose guest stopped before it ran', () => {
  it('GIVEN web stopped outside xenops after the approval was asked THEN the approved stop says the state changed, and sends nothing', async () => {
    const id = idOf(await chat.say('@alice /stop web'));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    const fleet = chat.stack.sim.fleet;
    const xen1 = fleet.host('xen1');
    const web = fleet.findDomain(xen1, 'web');
    if (!web) throw new Error('no web on xen1');
    // Shut down by hand: its config file stays, so xen1 lists it as defined.
    fleet.removeDomain(xen1, web);
    const mark = chat.t.output().length;
    await chat.say(`@bob /approve ${id}`);
    const result = await chat.printed(/✖ Could not stop [^\n]*\n[^\n]*/, mark);
    expect(result).toContain(`web was running and is not any more since approval ${id} was asked for: nothing was done`);
    expect(result).not.toContain('nothing to do');
    expect(chat.sent('xen1', /\b(shutdown|destroy)\b.*\bweb\b/)).toBe(0);
  });
});
