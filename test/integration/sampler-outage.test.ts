import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Sampler, type SamplerOptions } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { DomainLocks } from '../../src/queue/coordination.ts';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers } from '../helpers/sampler.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/** The sampler's history across an outage of its xentop stream (real Redis, the simulator). */
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
const prefixes: string[] = [];
const samplers: Sampler[] = [];

beforeAll(async () => {
  env = await startSimEnv({
    fleet: twoHostFleet([{ name: 'batch', memoryMiB: 512, vcpus: 1, running: true }]),
    timeScale: 0.2,
  });
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterEach(async () => {
  for (const s of samplers.splice(0)) await s.close();
  await env.sim.faults.clearAll();
});

afterAll(async () => {
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  redis?.disconnect();
});

function makeSampler(options: Partial<SamplerOptions>): { sampler: Sampler; samples: SampleStore } {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const samples = new SampleStore(redis, prefix);
  const drivers = simDrivers(env, pool);
  const sampler = new Sampler(
    { ...fastSamplerOptions(['xen1']), ...options },
    {
      runner: pool,
      samples,
      events: new FleetEventLog(redis, prefix),
      locks: new DomainLocks(redis, prefix),
      list: (host) => (drivers[host] as XenToolstack).list(),
      logger: quietLogger,
    },
  );
  samplers.push(sampler);
  return { sampler, samples };
}

describe('a history point across an outage of the xentop stream', () => {
  it('GIVEN xentop hung while a guest stopped THEN no point stamped after the outage holds what was measured before it', async () => {
    // One point per 3 s (about 15 iterations at this time scale); a stream silent for 4 s is restarted.
    const { sampler, samples } = makeSampler({ historyEverySeconds: 3, staleMs: 4000 });
    const history = () => samples.history('xen1', 0);
    sampler.start();
    await expect.poll(async () => (await history()).length, { timeout: 15_000 }).toBeGreaterThan(0);
    const lastPoint = (await history()).at(-1)?.at ?? 0;
    // Samples folded into the window under way, not pushed yet.
    await expect.poll(async () => (await samples.latest(['xen1']))['xen1']?.at ?? 0, { timeout: 10_000 }).toBeGreaterThan(lastPoint + 400);
    const before = await history();

    // The stream is cut; the xentop started again hangs with no output until the sampler gives up on it. Meanwhile
    // batch is shut down.
    const hang = await env.sim.faults.add('xen1', { kind: 'hang', match: /xentop/ });
    const cutAt = Date.now();
    expect(env.sim.faults.dropConnections('xen1')).toBeGreaterThan(0);
    const host = env.sim.fleet.host('xen1');
    const batch = host.domains.find((d) => d.name === 'batch');
    if (!batch) throw new Error('no batch');
    env.sim.fleet.removeDomain(host, batch);
    // Taken by the xentop started again (a fault of one command is gone once it is used).
    await expect.poll(() => env.sim.faults.list().some((f) => f.id === hang.id), { timeout: 10_000 }).toBe(false);

    // Sampling resumes by itself, and a point is pushed of what it measured since.
    await expect.poll(async () => (await samples.latest(['xen1']))['xen1']?.at ?? 0, { timeout: 20_000 }).toBeGreaterThan(cutAt + 4000);
    const resumedAt = (await samples.latest(['xen1']))['xen1']?.at ?? 0;
    await expect.poll(async () => (await history()).at(-1)?.at ?? 0, { timeout: 15_000 }).toBeGreaterThan(resumedAt);

    const points = await history();
    const withBatch = points.filter((p) => Object.hasOwn(p.domains, 'batch')).map((p) => p.at);
    // What was folded before the cut is kept, at its own time…
    expect(Math.max(...withBatch)).toBeGreaterThan(before.at(-1)?.at ?? 0);
    // …and never stamped after the outage, where batch was no longer running.
    expect(withBatch.filter((at) => at > cutAt)).toEqual([]);
  }, 60_000);
});

describe('an xentop that hangs with no output, again and again', () => {
  it('GIVEN every xentop hangs THEN the sampler restarts it with no channel left open, and stops answering /top from the old sample', async () => {
    const { sampler, samples } = makeSampler({ staleMs: 600 });
    sampler.start();
    await expect.poll(async () => (await samples.latest(['xen1']))['xen1']?.at ?? 0, { timeout: 10_000 }).toBeGreaterThan(0);
    expect(sampler.latest('xen1')).not.toBeNull();
    const hang = await env.sim.faults.add('xen1', { kind: 'hang', match: /^xentop/, times: 0 });
    expect(env.sim.faults.dropConnections('xen1')).toBeGreaterThan(0);
    await expect.poll(() => env.sim.faults.list().find((f) => f.id === hang.id)?.hits ?? 0, { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
    // Each hung xentop was given up on and its channel closed: at most the one under way is open.
    expect(env.sim.faults.activity('xen1').active).toBeLessThanOrEqual(1);
    // Three intervals (1 s each here) past the last sample, /top no longer takes it as live: it runs a one-shot xentop.
    await expect.poll(() => sampler.latest('xen1'), { timeout: 5_000 }).toBeNull();
    await expect.poll(async () => (await samples.latest(['xen1']))['xen1'], { timeout: 5_000 }).toBeNull();
  }, 40_000);
});
