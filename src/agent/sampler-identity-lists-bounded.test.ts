import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { fastSamplerOptions, simDrivers } from '../../test/helpers/sampler.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../../test/helpers/sim.ts';
import { DomainLocks } from '../queue/coordination.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import type { SimFleetSpec } from '../sim/index.ts';
import { Sampler } from './sampler.ts';
import type { DomainSummary } from './toolstack/types.ts';

/**
 * An agent of many hosts starts every stream at once: the lists the sampler sends at their first iteration to learn
 * who each guest is go out at most 32 at a time, not in one burst, and a host waiting its turn is still listed once
 * a turn frees. The simulated fleet over real SSH, real Redis; each list held by the test until it lets them go.
 */
const HOSTS = Array.from({ length: 40 }, (_, i) => `xen${i + 1}`);
const LIMIT = 32;
const prefix = uniquePrefix();

let env: SimEnv;
let redis: Redis;
let sampler: Sampler | undefined;

beforeAll(async () => {
  const fleet: SimFleetSpec = {
    hosts: Object.fromEntries(
      HOSTS.map((h) => [h, { toolstack: 'xl', domains: [{ name: `vm-${h}`, memoryMiB: 512, vcpus: 1, running: true }] }]),
    ),
  };
  env = await startSimEnv({ fleet, timeScale: 0.2 });
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}, 60_000);

afterAll(async () => {
  await sampler?.close();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
}, 30_000);

describe('the lists that learn who each guest is, at the start of 40 hosts', () => {
  it('GIVEN every list held THEN no more than 32 are out at once, and every host is listed once when they are let go', async () => {
    const drivers = simDrivers(env, env.pool());
    let letGo: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let inFlight = 0;
    let mostInFlight = 0;
    const listed: string[] = [];
    const samples = new SampleStore(redis, prefix);
    sampler = new Sampler(fastSamplerOptions(HOSTS), {
      runner: env.pool(),
      samples,
      events: new FleetEventLog(redis, prefix),
      locks: new DomainLocks(redis, prefix),
      list: async (host): Promise<DomainSummary[]> => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        listed.push(host);
        try {
          await held;
          return await (drivers[host] as NonNullable<(typeof drivers)[string]>).list();
        } finally {
          inFlight--;
        }
      },
      logger: quietLogger,
    });
    sampler.start();
    // A host's sample is written at its stream's second iteration, after the first asked for its list: once every
    // host has one, all 40 have asked, and the 8 past the limit wait for a turn.
    await expect
      .poll(async () => Object.values(await samples.latest(HOSTS)).filter(Boolean).length, { timeout: 30_000, interval: 100 })
      .toBe(HOSTS.length);
    expect(inFlight).toBe(LIMIT);
    expect(mostInFlight).toBe(LIMIT);
    expect(new Set(listed).size).toBe(LIMIT);

    letGo();
    await expect.poll(() => [...listed].sort(), { timeout: 15_000, interval: 20 }).toEqual([...HOSTS].sort());
    await expect.poll(() => inFlight, { timeout: 15_000, interval: 20 }).toBe(0);
    expect(mostInFlight).toBe(LIMIT);
  }, 90_000);
});
