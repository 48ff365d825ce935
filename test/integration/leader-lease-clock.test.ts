import { afterEach, describe, expect, it, vi } from 'vitest';
import { LeaderLease, type LeaseRole, leaseKey, leaseTiming } from '../../src/app/leader-lease.ts';
import { createRedisClient } from '../../src/queue/redis-connection.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { quietLogger } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The lease on real Redis (through a proxy that can cut it off) while the wall clock is stepped, as NTP or a VM
 * resumed from a pause steps it: the lease counts on a monotonic clock, so a leader cut off from Redis still steps
 * down before its key can lapse — a standby takes the key then, and two bots would poll at once.
 */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A prefix of its own and the lease's connection to Redis through a proxy (as the bot makes it), cleaned up after. */
async function throughProxy() {
  const prefix = uniquePrefix();
  const proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  const redis = createRedisClient(proxy.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', () => {});
  await redis.connect();
  cleanups.push(
    () => deleteKeysWithPrefix(REDIS_URL, prefix),
    () => proxy.stop(),
    () => proxy.heal(),
    () => redis.disconnect(),
  );
  return { prefix, proxy, redis };
}

describe('the leader lease and the wall clock', () => {
  it('a leader cut off from Redis steps down in time though the wall clock was set back an hour', async () => {
    const { prefix, proxy, redis } = await throughProxy();
    // Only Date is faked (timers and the monotonic clock run on), before the lease exists: it may read Date.now.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now(), shouldAdvanceTime: true });
    const timing = leaseTiming(1_500);
    const roles: { role: LeaseRole; at: number }[] = [];
    const lease = new LeaderLease({
      redis,
      key: leaseKey(prefix),
      token: 'test:1:abcdef',
      timing,
      logger: quietLogger,
      onChange: (role) => roles.push({ role, at: performance.now() }),
    });
    cleanups.push(() => lease.stop());
    await lease.start();
    expect(lease.isLeader()).toBe(true);

    vi.setSystemTime(Date.now() - 3_600_000);
    // When the key would lapse in Redis, read straight before the cut (not through the proxy).
    const direct = createRedisClient(REDIS_URL);
    cleanups.push(() => direct.disconnect());
    const lapsesAt = performance.now() + (await direct.pttl(leaseKey(prefix)));
    proxy.partition();

    await expect.poll(() => roles.at(-1)?.role, { timeout: 5_000 }).toBe('standby');
    expect(lease.isLeader()).toBe(false);
    // Before its key lapsed in Redis (a renewal between the read and the cut moves the leader's end by at most a renewal
    // interval, less than the margin it keeps).
    expect(roles.at(-1)?.at ?? Number.POSITIVE_INFINITY).toBeLessThan(lapsesAt);
  }, 20_000);
});

describe('the leader lease given up while a renewal is on its way', () => {
  it('the renewal answered after the release does not make the bot leader again over a key that is gone', async () => {
    const { prefix, proxy, redis } = await throughProxy();
    const token = 'test:2:fedcba';
    const roles: LeaseRole[] = [];
    const lease = new LeaderLease({
      redis,
      key: leaseKey(prefix),
      token,
      timing: leaseTiming(3_000),
      logger: quietLogger,
      onChange: (role) => roles.push(role),
    });
    cleanups.push(() => lease.stop());
    await lease.start();
    expect(lease.isLeader()).toBe(true);
    // The next renewal is held on its way to Redis, and whatever the connection sends after it (the release).
    const deliver = proxy.holdAt((chunk) => chunk.includes(token));
    await expect.poll(() => proxy.holding, { timeout: 5_000, interval: 20 }).toBe(true);
    // As a leader whose term could not begin gives the lease up (leadership.ts: release, then a hold-off for another
    // bot's turn), with its renewal loop still on.
    const rolesBefore = roles.length;
    const released = lease.release();
    deliver();
    expect(await released).toBe(true);
    lease.holdOff(3_000);
    const attempting = () => (lease as unknown as { attempting: Promise<void> | null }).attempting;
    await expect.poll(attempting, { timeout: 5_000, interval: 20 }).toBeNull();
    const direct = createRedisClient(REDIS_URL);
    cleanups.push(() => direct.disconnect());
    // Redis ran the renewal, then the release: nobody holds the key, and a standby may take it at once.
    expect(await direct.get(leaseKey(prefix))).toBeNull();
    // Before: the renewal's answer ("held") came after the release and made the bot leader again until its lease's
    // end — alongside the standby that took the free key.
    expect(lease.isLeader()).toBe(false);
    expect(roles.slice(rolesBefore)).toEqual([]);
  }, 20_000);
});
