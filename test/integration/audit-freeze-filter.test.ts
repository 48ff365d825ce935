import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * README: "`/audit domain:web since:24h` filters by `person`, `host`, `domain` …". A freeze of every host is an entry
 * about each of them, and `/freeze xen1 …` is found by host:xen1; `/freeze all …` is not.
 */
let t: TerminalStack;
let chat: Conversation;

beforeAll(async () => {
  t = await startTerminalStack();
  chat = conversation(t);
}, 60_000);

afterAll(async () => {
  await t?.stack.stop();
});

describe('/audit host:', () => {
  it('finds the freeze of one host and the freeze of all hosts', async () => {
    expect(await chat.say('/freeze xen1 kernel one')).toContain('Frozen: xen1');
    expect(await chat.say('/unfreeze xen1')).toContain('Unfrozen');
    expect(await chat.say('/freeze all storage work')).toContain('Frozen: xen1, xen2');
    const out = await chat.say('/audit host:xen1 command:freeze');
    expect(out).toContain('kernel one');
    expect(out, 'the /freeze all entry froze xen1 too').toContain('storage work');
  });
});
