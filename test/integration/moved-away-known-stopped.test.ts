import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * A guest the bot knew stopped on its host, stopped again (a double /stop, a /pause of a stopped guest): a legit
 * "not running", not a miss after a move outside xenops. It must not cost a list of every other host the asker may
 * use (a slow or hung one holding the reply for seconds).
 */
// No sampler: its own `xl list`s would blur which hosts a command had asked.
const chat = staleViewChat((c) => ({
  ...c,
  approvals: { ...c.approvals, enabled: false },
  sampling: { ...c.sampling, enabled: false },
}));

describe('a guest known stopped on its host', () => {
  it('GIVEN mail known stopped on xen1 WHEN /stop mail THEN no other host is listed for it', async () => {
    expect(await chat.say('/list xen1')).toContain('mail');
    const listsOnXen2 = chat.sent('xen2', /\blist\b/);
    const out = await chat.say('/stop mail');
    expect(out).toContain('mail is not running on xen1');
    expect(chat.sent('xen2', /\blist\b/)).toBe(listsOnXen2);
  });
});
