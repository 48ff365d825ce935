import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sampler } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { DomainLocks } from '../../src/queue/coordination.ts';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers } from '../helpers/sampler.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * A host's history in Redis once nothing samples it any more (taken out of the config, its agent gone): every point
 * in it is older than `sampling.historyHours` after that long, so nothing reads it — and it must not stay in Redis for
 * good, one list per host ever sampled.
 */
const prefix = uniquePrefix();
let env: SimEnv;
let pool: SshPool;
let redis: Redis;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
});

describe('a host history no longer sampled', () => {
  it('expires sampling.historyHours after its last point, and each new point keeps it that long again', async () => {
    const samples = new SampleStore(redis, prefix);
    const drivers = simDrivers(env, pool);
    const options = fastSamplerOptions(['xen1']);
    const sampler = new Sampler(options, {
      runner: pool,
      samples,
      events: new FleetEventLog(redis, prefix),
      locks: new DomainLocks(redis, prefix),
      list: (host) => (drivers[host] as XenToolstack).list(),
      logger: quietLogger,
    });
    const key = samples.historyKey('xen1');
    const keepMs = options.historyHours * 3_600_000;
    sampler.start();
    try {
      await expect.poll(() => redis.llen(key), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    } finally {
      await sampler.close();
    }
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(keepMs - 60_000);
    expect(ttl).toBeLessThanOrEqual(keepMs);
  }, 30_000);
});
