import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApprovalRecord, ApprovalStore, approvalAction } from '../../src/app/approvals.ts';
import { createRedisClient, REDIS_COMMAND_TIMEOUT_MS, type RedisClient } from '../../src/queue/redis-connection.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-cluster.ts';

/**
 * The approval store's one-pending-request-per-action index on a three-master Redis Cluster, the prefix's slot on a
 * master other than the seed: the record, the pending set and the action's index are one script's keys, in one slot.
 */
let cluster: RedisClusterHandle;
let prefix: string;
let redis: RedisClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  prefix = uniquePrefix();
  while ((await cluster.ownerOf(prefix)).index === 0) prefix = uniquePrefix();
  redis = createRedisClient(
    { url: cluster.urls[0] as string, cluster: true },
    { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, commandTimeout: REDIS_COMMAND_TIMEOUT_MS },
  );
  await redis.connect();
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

function draft(requestId: string): Omit<ApprovalRecord, 'id'> {
  const now = Date.now();
  const base = {
    requestId,
    command: 'stop',
    args: { domain: { domain: 'web' }, force: false },
    requester: 'alice',
    platform: 'terminal',
    userId: 'alice',
    channelId: 'terminal',
    target: { platform: 'terminal' as const, channelId: 'terminal', requestId, state: {} },
    mode: 'parallel' as const,
    jobs: [{ op: 'domain.stop' as const, host: 'xen1', domain: 'web', force: false }],
    targets: [{ host: 'xen1', domain: 'web' }],
    touches: [],
    risk: 'write' as const,
    preview: ['xen1$ timeout 30 xl shutdown -w web'],
    state: [],
    policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers: 'oncall' as const, count: 1, expiresMinutes: 15 },
    createdAt: now,
    expiresAt: now + 15 * 60_000,
    approvals: [],
    status: 'pending' as const,
    announcements: [],
  };
  return { ...base, action: approvalAction(base, ['domain']) };
}

describe('ApprovalStore.ask on a Redis Cluster', () => {
  it('a second ask of a pending action gets the first; once withdrawn, a new one is made', async () => {
    const bot1 = new ApprovalStore(redis, prefix);
    const bot2 = new ApprovalStore(redis, prefix);
    const first = await bot1.ask(draft('req-1'));
    expect(first.made).toBe(true);
    expect(await bot2.ask(draft('req-2'))).toEqual({ made: false, rec: first.rec });
    await bot2.update(first.rec.id, (r) => ({ ...r, status: 'denied', decidedBy: 'alice', decidedAt: Date.now() }));
    const next = await bot1.ask(draft('req-3'));
    expect(next.made).toBe(true);
    expect(next.rec.id).not.toBe(first.rec.id);
  });
});
