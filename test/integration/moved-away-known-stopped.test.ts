import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * A guest the bot knew stopped on its host, stopped again (a double /stop): a legit "not running", not a miss after a
 * move outside xenops. It is refused before anything is queued (no approver asked), on the hosts' fresh word — a bare
 * name that runs on another host now would be stopped there, so the other hosts are asked once (the pipeline's
 * precheck lookup) — and the reply says what is true, never that it moved. That runs-elsewhere asks nothing for a
 * guest not heard running on its host is src/app/runs-elsewhere.test.ts's.
 */
// No sampler: its own `xl list`s would blur which hosts a command had asked.
const chat = staleViewChat((c) => ({
  ...c,
  approvals: { ...c.approvals, enabled: false },
  sampling: { ...c.sampling, enabled: false },
}));

describe('a guest known stopped on its host', () => {
  it('GIVEN mail known stopped on xen1 WHEN /stop mail THEN it is refused as not running, nothing sent', async () => {
    expect(await chat.say('/list xen1')).toContain('mail');
    const listsOnXen2 = chat.sent('xen2', /\blist\b/);
    const out = await chat.say('/stop mail');
    expect(out).toContain('mail is not running on xen1: nothing to stop; nothing was queued');
    expect(out).not.toContain('outside xenops');
    expect(chat.sent('xen1', /shutdown|destroy/)).toBe(0);
    // Asked once, for the refusal's fresh word: not once more by the reply.
    expect(chat.sent('xen2', /\blist\b/)).toBe(listsOnXen2 + 1);
  });
});
