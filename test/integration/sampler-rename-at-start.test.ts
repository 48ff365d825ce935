import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sampler } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { type FleetEvent, FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers, simSampler } from '../helpers/sampler.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * `xl rename` right after the agent starts, before any list of the host was read by a job or the bot's fleet refresh
 * (simulator, real Redis): the sampler must know who each guest is by then, or the rename reads as a guest vanished
 * (a false alert: "web vanished from xen1, and xenops did not stop it") and another appeared.
 */
const prefix = uniquePrefix();
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
let samples: SampleStore;
let events: FleetEventLog;
let sampler: Sampler;
/** Lists of xen1 read so far, by anyone (the driver says each one). */
let listsOfXen1 = 0;

const xen1 = () => env.sim.fleet.host('xen1');

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  samples = new SampleStore(redis, prefix);
  events = new FleetEventLog(redis, prefix);
  const drivers = simDrivers(env, pool, {
    onListed: (host, running) => {
      if (host === 'xen1') listsOfXen1++;
      sampler?.heardList(host, running);
    },
  });
  sampler = simSampler(fastSamplerOptions(['xen1']), { runner: pool, drivers, redis, prefix, samples, events });
  sampler.start();
  // The first sample is the baseline's: nothing else lists the host meanwhile.
  await sampleWith('web');
}, 30_000);
afterAll(async () => {
  await sampler?.close();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
});

const about = async (t0: number, ...names: string[]) =>
  (await events.since(t0)).filter((e): e is Extract<FleetEvent, { domain: string }> => 'domain' in e && names.includes(e.domain));

/** When the first sample of xen1 taken after `after` that names `name` was taken (the latest is polled every 20 ms). */
async function sampleWith(name: string, after = 0): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const s = (await samples.latest(['xen1']))['xen1'];
    if (s && s.at > after && s.domains.some((d) => d.name === name)) return s.at;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no sample of ${name}`);
}

describe('a guest renamed before any list of its host was read', () => {
  it('is one domain.renamed, not web vanished and www appeared', async () => {
    // At most the sampler's own list: no job's, no fleet refresh's.
    expect(listsOfXen1).toBeLessThanOrEqual(1);
    const t0 = Date.now() - 1;
    const web = xen1().domains.find((d) => d.name === 'web');
    if (!web) throw new Error('no web');
    web.name = 'www';
    await expect.poll(async () => (await about(t0, 'web', 'www')).length, { timeout: 10_000 }).toBeGreaterThan(0);
    // Anything else said of either would come within the settle wait (400 ms here).
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await about(t0, 'web', 'www')).map(({ at: _at, ...e }) => e)).toEqual([
      { kind: 'domain.renamed', host: 'xen1', oldName: 'web', domain: 'www', uuid: web.uuid, byXenops: false },
    ]);
  }, 30_000);

  it('lists the host no more while nothing changes (no list per iteration)', async () => {
    const before = listsOfXen1;
    let at = 0;
    // Five iterations with no change.
    for (let i = 0; i < 5; i++) at = await sampleWith('www', at);
    expect(listsOfXen1).toBe(before);
  }, 30_000);
});
