import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * `/migrate` of a guest that is defined but not running (the demo's mail, on xen1): only a running guest can be
 * migrated, and the bot knows it from the host's list — it refuses before asking an approver (approvals on, as in the
 * demo). Its view may be stale: a guest started by hand since is not refused on that word (the hosts are asked again).
 */

describe('/migrate of a guest that is not running', () => {
  const chat = staleViewChat();

  it('GIVEN mail defined but not running on xen1 THEN /migrate mail xen2 is refused at once, with no approval asked', async () => {
    const out = await chat.say('/migrate mail xen2');
    // Was an approval request; only the agent, once approved, said "mail is not running on xen1".
    expect(out).toContain('✖ Cannot do that');
    expect(out).toContain('mail is not running on xen1 (defined there, not running): only a running guest can be migrated');
    expect(out).not.toMatch(/approv/i);
    expect(chat.sent('xen1', /\bmigrate\b/)).toBe(0);
  });

  it('GIVEN mail started by hand since the bot last listed xen1 THEN /migrate mail xen2 is not refused on that stale view', async () => {
    expect(await chat.byHand('xen1', 'xl create /etc/xen/vm/mail.cfg')).toBe(0);
    const out = await chat.say('/migrate mail xen2');
    expect(out).not.toContain('not running');
    // Goes on to its approval, as any migration (the hosts were asked again and mail runs on xen1).
    expect(out).toMatch(/approv/i);
  });
});
