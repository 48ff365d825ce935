import { describe, expect, it } from 'vitest';
import { freezeDesk } from '../test/helpers/freeze-desk.ts';

/**
 * A reason ending in a time is refused, the time going first — only a time that could be the freeze's end. A date
 * already past, or a time said as when something began or happens ("since 09:30", "from 2026-12-01", "after 22:00"),
 * is part of the reason: refused, it was suggested as a line freezing until a time the operator never meant (or one
 * /freeze then refuses as in the past).
 */
const { calls, run } = freezeDesk('UTC', ['xen1', 'xen2']);
const text = (r: unknown) => JSON.stringify(r);

describe('/freeze with a reason that ends in a time that is no end', () => {
  it.each([
    ['rollback of the change made 2026-11-02'], // a past date (the desk's clock is 2026-12-07 10:00 UTC)
    ['disk errors since 09:30'], // when the problem began: suggested as "/freeze xen1 09:30 disk errors since"
    ['kernel 6.1 from 2026-12-01'], // a start, and past
    ['reboot after 22:00'], // suggested as "/freeze xen1 22:00 reboot after": frozen until the reboot may begin
  ])('"/freeze xen1 %s" freezes until /unfreeze with that reason', async (reason) => {
    const r = await run('xen1', reason);
    expect(text(r)).not.toContain('the time goes before the reason');
    expect(calls.map((c) => [c.until, c.reason])).toEqual([[null, reason]]);
  });

  it('never suggests a line that /freeze refuses in turn as in the past', async () => {
    const r = await run('xen1', 'rollback of the change made 2026-11-02');
    const suggested = /\/freeze xen1 (\S+) (.*?) \(a time after/.exec(text(r));
    const again = suggested ? await run('xen1', `${suggested[1]} ${suggested[2]}`) : null;
    expect(again === null ? '' : text(again)).not.toContain('is in the past');
  });
});
