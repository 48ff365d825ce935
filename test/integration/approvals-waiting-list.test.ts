import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * An on-call person who missed an approval request's card (scrolled away, read on another platform) had no way to
 * find what waits for them: `/approve` wanted an id. `/approve` alone lists the requests they may approve now, and
 * the asker's own still waiting — never one they may not decide. The terminal demo: alice admin, bob operator and on
 * call, carol viewer, dave operator on xen2 only.
 */
let t: TerminalStack;
let chat: Conversation;
const say = (line: string) => chat.say(line);
const idOf = (text: string) => /Approval needed: .* — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';

beforeAll(async () => {
  t = await startTerminalStack();
  chat = conversation(t);
  await say('/list');
}, 60_000);

afterAll(async () => {
  t.input.end();
  await t.stack?.stop();
});

describe('/approve with no id', () => {
  it('lists what waits for the asker: to approve, and their own; nothing they may not decide', async () => {
    const stop = idOf(await say('@alice /stop web'));
    const pause = idOf(await say('@alice /pause gateway'));
    expect(stop).not.toBe('');
    expect(pause).not.toBe('');

    const bob = await say('@bob /approve');
    expect(bob).toContain('ℹ 2 requests wait for your approval');
    expect(bob).toMatch(new RegExp(`${stop}\\s+/stop xen1:web\\s+alice\\s+0 of 1\\s+\\d\\d:\\d\\d UTC`));
    expect(bob).toMatch(new RegExp(`${pause}\\s+/pause xen1:gateway\\s+alice`));
    expect(bob).toContain(`/approve ${stop}   or   /deny ${stop} [reason]`);

    // Carol may approve nothing (a viewer, not on call); dave's scope is xen2 only: neither is told of xen1's guests.
    for (const who of ['carol', 'dave']) {
      const none = await say(`@${who} /approve`);
      expect(none).toContain('ℹ Nothing waits for your approval');
      expect(none).not.toContain(stop);
      expect(none).not.toContain('web');
    }

    // Her own: waiting for someone else, not hers to approve.
    const own = await say('@alice /approve');
    expect(own).toContain('ℹ Nothing waits for your approval');
    expect(own).toMatch(new RegExp(`your requests still waiting: ${stop} \\(/stop xen1:web\\), ${pause} \\(/pause xen1:gateway\\)`));

    // Decided ones leave the list.
    await say(`@bob /deny ${pause} not now`);
    const after = await say('@bob /approve');
    // The denial's own lines may print after its echo: the list is what follows its title.
    const listed = after.slice(after.indexOf('ℹ 1 request waits for your approval'));
    expect(listed).toMatch(/^ℹ 1 request waits for your approval\n/);
    expect(listed).toContain(stop);
    expect(listed).not.toContain(pause);
  });
});
