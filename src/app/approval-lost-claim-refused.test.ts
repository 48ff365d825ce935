import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { type PrivateRedis, startPrivateRedis } from '../../test/helpers/redis-server.ts';
import { ApprovalStore } from './approvals.ts';

/**
 * Redis lost a pending request, and at its expiry it reads (the record is gone) but refuses writes: at its maxmemory
 * (noeviction), a failed BGSAVE (MISCONF), a replica promoted read-only. The claim that keeps the loss from being
 * audited twice is a write: refused, the loss must still reach the audit (its file takes it with Redis refusing), and
 * the cards still asking for an approval must be told it is gone.
 */
const { prefix, makeDesk, askStop } = approvalDeskScene({
  approvals: { escalateMinutes: 60, channels: [{ platform: 'terminal', id: 'approvals' }] },
});
let server: PrivateRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startPrivateRedis();
  redis = new Redis(server.url);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe('a pending approval Redis lost, its expiry met by a Redis that refuses writes', () => {
  it('is still audited as lost, and its cards told', async () => {
    const store = new ApprovalStore(redis, prefix);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const took = await makeDesk({ store }, false);
    try {
      // Recorded on the private Redis; the scene's helper looks on its own and finds none.
      await askStop(took.desk, 'req-lost-refused-1').catch(() => {});
      const [id] = await store.pendingIds();
      expect(id).toBeDefined();
      await redis.flushall();
      await redis.config('SET', 'maxmemory-policy', 'noeviction');
      await redis.config('SET', 'maxmemory', '1');
      await expect(redis.set(`${prefix}:probe`, '1')).rejects.toThrow(/OOM/);
      await vi.advanceTimersByTimeAsync(15 * 60_000 + 1_000);
      const lostTitle = `Approval ${id} was lost`;
      await vi.waitFor(() => expect(took.titles()).toContain(lostTitle), { timeout: 5_000 });
      const detail = `${id} lost with Redis's data before it was decided; nothing ran`;
      expect(took.audited.filter((e) => e.detail === detail)).toHaveLength(1);
    } finally {
      took.desk.stop();
      vi.useRealTimers();
    }
  });
});
