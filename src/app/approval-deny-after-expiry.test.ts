import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';

const { store, person, makeDesk, askStop } = approvalDeskScene();

/**
 * `/deny` (or a withdrawal) typed after the request's expiry time but before its expiry timer fired (the timer is late:
 * a busy event loop, a suspended machine, a shared clock that moved ahead). Nothing runs either way; what matters is
 * that the record, the audit and the cards say what happened: it expired.
 */
describe('a /deny that comes after the expiry time, before the expiry timer', () => {
  for (const [who, requestId] of [
    ['bob', 'req-deny-late-1'],
    ['alice', 'req-deny-late-2'],
  ] as const) {
    it(`by ${who === 'bob' ? 'an approver' : 'the requester'}: recorded, audited and shown as expired, not ${who === 'bob' ? 'denied' : 'withdrawn'}`, async () => {
      let offset = 0;
      const { desk, audited, titles } = await makeDesk({ now: () => Date.now() + offset }, false);
      try {
        const id = await askStop(desk, requestId);
        // The shared clock is past the expiry; the timer, armed for 15 minutes, has not fired.
        offset = 16 * 60_000;
        const answer = await desk.deny(id, person(who), 'too late anyway');
        expect({
          answer: answer.title,
          status: (await store.get(id))?.status,
          audit: audited.at(-1)?.detail,
          card: titles().at(-1),
        }).toEqual({
          answer: `${id} expired`,
          status: 'expired',
          audit: `${id} expired unanswered`,
          card: `Approval ${id} expired`,
        });
      } finally {
        desk.stop();
      }
    });
  }
});
