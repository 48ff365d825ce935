import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers, simSampler } from '../helpers/sampler.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * The sampler's close() while Redis is gone, with a change still settling: it reports what it can and resolves. It
 * rejected, and the agent awaits it only after closing its workers — a rejection nobody handled meanwhile (node's
 * unhandled rejection: a test run's "Errors 1 error", a process started with --unhandled-rejections=strict ended).
 */
const prefix = uniquePrefix();
let env: SimEnv | undefined;

afterAll(async () => {
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('Sampler.close with Redis gone', () => {
  it('GIVEN a guest gone and its change still settling WHEN Redis is gone THEN close() resolves', async () => {
    env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
    const pool = env.pool();
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const drivers = simDrivers(env, pool);
    // A long settle wait: the disappearance stays pending until close().
    const sampler = simSampler({ ...fastSamplerOptions(['xen1']), settleMs: 60_000 }, { runner: pool, drivers, redis, prefix });
    sampler.start();
    await expect.poll(() => sampler.latest('xen1')?.domains.some((d) => d.name === 'web') ?? false).toBe(true);
    const xen1 = env.sim.fleet.host('xen1');
    const web = xen1.domains.find((d) => d.name === 'web');
    if (!web) throw new Error('no web');
    env.sim.fleet.removeDomain(xen1, web);
    // Classified: the sampler marked it gone (the mark precedes the pending change).
    await expect.poll(async () => (await redis.keys(`${prefix}:gone:*`)).length).toBeGreaterThan(0);
    redis.disconnect();
    await expect(sampler.close()).resolves.toBeUndefined();
  }, 30_000);
});
