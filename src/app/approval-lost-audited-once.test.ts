import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL } from '../../test/helpers/redis.ts';

/**
 * Two bots time a request's expiry (HA: the one that took it, and one that adopted its timers when it took the lease).
 * Redis lost the request while it was pending: both timers find it gone, and the loss must reach the audit once.
 */
const { prefix, makeDesk, askStop } = approvalDeskScene({
  approvals: { escalateMinutes: 60, channels: [{ platform: 'terminal', id: 'approvals' }] },
});

describe('a pending approval Redis lost, timed by two bots', () => {
  it('is audited as lost once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const took = await makeDesk({}, false);
    const adopted = await makeDesk({}, false);
    try {
      const id = await askStop(took.desk, 'req-lost-once-1');
      await adopted.desk.start();
      await deleteKeysWithPrefix(REDIS_URL, prefix);
      await vi.advanceTimersByTimeAsync(15 * 60_000 + 1_000);
      const lostTitle = `Approval ${id} was lost`;
      // Both timers have had their turn once each bot has told its cards.
      await vi.waitFor(() => {
        expect(took.titles()).toContain(lostTitle);
        expect(adopted.titles()).toContain(lostTitle);
      });
      const detail = `${id} lost with Redis's data before it was decided; nothing ran`;
      const audited = [...took.audited, ...adopted.audited].filter((e) => e.detail === detail);
      expect(audited).toHaveLength(1);
    } finally {
      took.desk.stop();
      adopted.desk.stop();
      vi.useRealTimers();
    }
  });
});
