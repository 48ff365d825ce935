import { Redis } from 'ioredis';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { type ApprovalRecord, ApprovalStore } from './approvals.ts';

/**
 * The id draw is the one thing replaced (node:crypto's randomInt): ~1e9 ids make a clash rare, and these tests need
 * one on the first try. Each draw of a character takes the next value of `draws` (0 = 'A', 1 = 'B'), then 0.
 */
const draws: number[] = [];
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, randomInt: () => draws.shift() ?? 0 };
});

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});
beforeEach(() => {
  draws.length = 0;
});

function draft(requestId: string, requester: string, domain: string): Omit<ApprovalRecord, 'id'> {
  const now = Date.now();
  return {
    requestId,
    command: 'stop',
    args: { domain: { domain }, force: false },
    requester,
    platform: 'terminal',
    userId: requester,
    channelId: 'terminal',
    target: { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
    mode: 'parallel',
    jobs: [{ op: 'domain.stop', host: 'xen1', domain, force: false }],
    targets: [{ host: 'xen1', domain }],
    touches: [],
    risk: 'write',
    preview: [`xen1$ timeout 30 xl shutdown -w ${domain}`],
    state: [],
    policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers: 'oncall', count: 1, expiresMinutes: 15 },
    createdAt: now,
    expiresAt: now + 15 * 60_000,
    approvals: [],
    status: 'pending',
    announcements: [],
  };
}

describe('approval ids', () => {
  it('a request that draws an id another record holds gets a new one: an approval of the first never runs the second', async () => {
    const store = new ApprovalStore(redis, `${prefix}:clash`);
    const a = await store.create(draft('req-a', 'alice', 'web'));
    // frank's request draws AAAAAA too, then BBBBBB.
    draws.push(...Array(6).fill(0), ...Array(6).fill(1));
    const b = await store.create(draft('req-b', 'frank', 'db'));
    expect([a.id, b.id]).toEqual(['AAAAAA', 'BBBBBB']);
    expect((await store.get('AAAAAA'))?.jobs).toEqual(a.jobs);
    expect((await store.get('BBBBBB'))?.requestId).toBe('req-b');
    expect((await store.pendingIds()).sort()).toEqual(['AAAAAA', 'BBBBBB']);
  });

  it('a draw that keeps clashing (a broken random source) fails the request rather than overwrite a record', async () => {
    const store = new ApprovalStore(redis, `${prefix}:stuck`);
    await store.create(draft('req-a', 'alice', 'web'));
    await expect(store.create(draft('req-b', 'frank', 'db'))).rejects.toThrow(/no free approval id/);
    expect((await store.get('AAAAAA'))?.requestId).toBe('req-a');
  });
});

describe('the pending gauge', () => {
  it('counts live pending requests only: one expired, or whose record is gone, is not waiting (and leaves the index)', async () => {
    let now = Date.now();
    const store = new ApprovalStore(redis, `${prefix}:gauge`, () => now);
    draws.push(...Array(6).fill(2));
    const live = await store.create(draft('req-live', 'alice', 'web'));
    draws.push(...Array(6).fill(3));
    const gone = await store.create(draft('req-gone', 'bob', 'db'));
    expect(await store.pendingCount()).toBe(2);
    // Its record expired (a day past its expiry) with no bot of its platform left to settle it.
    await redis.del(`${prefix}:gauge:approval:${gone.id}`);
    expect(await store.pendingCount()).toBe(1);
    expect(await store.pendingIds()).toEqual([live.id]);
    // Past its expiry and not settled yet: not waiting any more either.
    now += 16 * 60_000;
    expect(await store.pendingCount()).toBe(0);
  });
});
