import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * What /unfreeze answers when it lifted nothing: a host that was not frozen, or one a maintenance window in the config
 * freezes (which /unfreeze cannot lift). xen2 has a window open for the whole run.
 */
let t: TerminalStack;
let chat: Conversation;

beforeAll(async () => {
  t = await startTerminalStack((c) => ({
    ...c,
    maintenance: [{ hosts: ['xen2'], reason: 'rack move', from: '2020-01-01T00:00:00Z', until: '2099-01-01T00:00:00Z' }],
  }));
  chat = conversation(t);
}, 60_000);

afterAll(async () => {
  await t?.stack.stop();
});

describe('/unfreeze of a host that was not frozen', () => {
  it('says there was nothing to unfreeze, not "Unfrozen … may run there again"', async () => {
    const out = await chat.say('/unfreeze xen1');
    expect(out).not.toContain('Unfrozen');
    expect(out).not.toContain('again');
    expect(out).toContain('xen1 was not frozen');
  });
});

describe('/unfreeze of a host a maintenance window freezes', () => {
  it('says the window still freezes it, until when, and that /unfreeze cannot lift it', async () => {
    const out = await chat.say('/unfreeze xen2');
    expect(out).not.toContain('Unfrozen');
    expect(out).not.toContain('may run');
    expect(out).toContain('xen2 is still frozen by the maintenance window "rack move" until 2099-01-01 00:00 UTC');
    expect(out).toContain('/unfreeze cannot lift it');
  });

  it('lifts the freeze from chat on both hosts, and says which one a window still holds', async () => {
    expect(await chat.say('/freeze xen1,xen2 kernel upgrade')).toContain('Frozen: xen1, xen2');
    const out = await chat.say('/unfreeze xen1,xen2');
    expect(out).toContain('Unfrozen: xen1, xen2');
    expect(out).toContain('mutating commands may run on xen1 again');
    expect(out).toContain('xen2 is still frozen by the maintenance window "rack move"');
    expect(out).not.toContain('may run on xen2');
  });
});
