import { describe, expect, it } from 'vitest';
import { staleViewChat } from '../helpers/stack.ts';

/**
 * `/stop` of a guest the bot's view shows stopped on its host (the demo's mail, defined on xen1): nothing to stop, so
 * it is refused before an approver is asked (approvals on, as in the demo) — it was an approval card showing
 * `xen1$ timeout 30 xl shutdown -w mail`, answered once approved by the agent's "not running". A view gone stale (the
 * guest started by hand since) is not refused on that word: the hosts are asked again.
 */

describe('/stop of a guest the view shows not running', () => {
  const chat = staleViewChat();

  it('GIVEN mail defined but not running on xen1 THEN /stop mail is refused at once, with no approval card', async () => {
    const out = await chat.say('/stop mail');
    expect(out).toContain('✖ Cannot do that');
    expect(out).toContain('mail is not running on xen1: nothing to stop; nothing was queued');
    expect(out).not.toMatch(/approv/i);
    expect(out).not.toContain('xl shutdown');
    expect(chat.sent('xen1', /\b(shutdown|destroy)\b.*\bmail\b/)).toBe(0);
  });

  it('GIVEN mail started by hand since the bot last listed xen1 THEN /stop mail is not refused on that stale view', async () => {
    expect(await chat.byHand('xen1', 'xl create /etc/xen/vm/mail.cfg')).toBe(0);
    const out = await chat.say('/stop mail');
    expect(out).not.toContain('nothing to stop');
    expect(out).toMatch(/approv/i);
  });
});
