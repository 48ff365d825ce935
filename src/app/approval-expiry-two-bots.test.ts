import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import type { Reply } from '../core/reply.ts';

/**
 * Two bots (HA: the one that took the request, and one that adopted its timers when it took the lease) both time a
 * request's expiry, on real Redis, while bob's /approve lands on one of them at that very moment. Whatever wins,
 * there is one outcome: run once and never said expired, or expired with nothing run — each said and audited once.
 */
const { store, person, makeDesk, askStop } = approvalDeskScene();

let counter = 0;

describe('two bots timing one expiry, and an approval at that moment', () => {
  it('one outcome each time: run once and not said expired, or expired once with nothing run', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const took = await makeDesk({}, false);
      // The other bot's clock reads a few ms ahead or behind: either may count the instant as past first.
      const skewMs = (round % 3) - 1;
      const adopted = await makeDesk({ now: () => Date.now() + skewMs }, false);
      // 300 ms to live: the timers are real, and both bots' fire at its end.
      const id = await askStop(took.desk, `req-two-bots-${++counter}`, { expiresMinutes: 0.005 });
      const rec = await store.get(id);
      if (!rec) throw new Error('no approval recorded');
      await adopted.desk.start();
      // bob's click reaches the adopting bot as the timers fire: from a few ms before (its checks take round trips) to
      // the instant itself.
      const early = (round % 4) * 4;
      const answer = await new Promise<Reply>((resolve, reject) =>
        setTimeout(
          () => adopted.desk.approve(rec.id, person('bob'), 'terminal').then(resolve, reject),
          Math.max(0, rec.expiresAt - Date.now() - early),
        ),
      );
      await expect.poll(async () => (await store.get(rec.id))?.status, { timeout: 5_000 }).not.toBe('pending');
      // Both timers have had their turn.
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
      took.desk.stop();
      adopted.desk.stop();
      const [delivered, audited, enqueued] = [
        [...took.titles(), ...adopted.titles()],
        [...took.audited, ...adopted.audited],
        [...took.enqueued, ...adopted.enqueued],
      ];
      const status = (await store.get(rec.id))?.status;
      const saidExpired = delivered.filter((t) => t === `Approval ${rec.id} expired`).length;
      const auditedExpired = audited.filter((e) => e.detail === `${rec.id} expired unanswered`).length;
      const auditedApproved = audited.filter((e) => e.decision === 'allowed').length;
      if (status === 'approved') {
        outcomes.add('approved');
        expect({ answer: answer.title, enqueued: enqueued.length, saidExpired, auditedExpired, auditedApproved }).toEqual({
          answer: `Approved ${rec.id}`,
          enqueued: 1,
          saidExpired: 0,
          auditedExpired: 0,
          auditedApproved: 1,
        });
      } else {
        outcomes.add(status ?? 'gone');
        expect({ status, answer: answer.title, enqueued: enqueued.length, saidExpired, auditedExpired, auditedApproved }).toEqual({
          status: 'expired',
          answer: `${rec.id} expired`,
          enqueued: 0,
          saidExpired: 1,
          auditedExpired: 1,
          auditedApproved: 0,
        });
      }
    }
    // Not asserted which won: each round is one or the other; the set says the race was real.
    expect([...outcomes].every((o) => o === 'approved' || o === 'expired')).toBe(true);
  }, 60_000);
});
