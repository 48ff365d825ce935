import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sampler } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { SplitBrainWatch } from '../../src/app/split-brain-watch.ts';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers, simSampler } from '../helpers/sampler.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * Two hosts whose xentop has no -f (names cut to 10 characters, mapped back through a list): each runs two guests
 * whose names share their first 10 characters (webserver-01/-02 on xen1, webserver-03/-04 on xen2). The sampler
 * cannot map `webserver-` to one guest on either host, and keeps it cut in the sample. Four distinct guests, none
 * running twice: the split-brain watch must say nothing.
 */
const prefix = uniquePrefix();
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
let samples: SampleStore;
let events: FleetEventLog;
let sampler: Sampler;

const at = async (host: string) => (await samples.latest([host]))[host]?.at ?? 0;

/** Until every host has a sample later than the one given. */
async function laterSamples(after: Record<string, number>): Promise<Record<string, number>> {
  const now: Record<string, number> = {};
  for (const host of Object.keys(after)) {
    for (let i = 0; i < 500 && (await at(host)) <= (after[host] ?? 0); i++) await new Promise((r) => setTimeout(r, 20));
    now[host] = await at(host);
  }
  return now;
}

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
  for (const [host, names] of [
    ['xen1', ['webserver-01', 'webserver-02']],
    ['xen2', ['webserver-03', 'webserver-04']],
  ] as const) {
    const h = env.sim.fleet.host(host);
    h.xentopFullName = false;
    for (const name of names) env.sim.fleet.addDomain(h, { name, memoryMiB: 512, vcpus: 1, flags: '-b----' });
  }
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  samples = new SampleStore(redis, prefix);
  events = new FleetEventLog(redis, prefix);
  const drivers = simDrivers(env, pool, { onListed: (host, running) => sampler?.heardList(host, running) });
  sampler = simSampler(fastSamplerOptions(['xen1', 'xen2']), { runner: pool, drivers, redis, prefix, samples, events });
  sampler.start();
}, 30_000);

afterAll(async () => {
  await sampler?.close();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
});

describe('split-brain watch on hosts whose xentop cuts names', () => {
  it('takes no two different guests cut to the same 10 characters on two hosts for one guest running twice', async () => {
    const watch = new SplitBrainWatch({
      hosts: ['xen1', 'xen2'],
      samples,
      events,
      // As the bot's fleet view answers: no guest is named `webserver-` on either host.
      uuidOf: () => null,
      intervalMs: 1_000,
      repeatMs: 60_000,
      logger: quietLogger,
    });
    let seen = await laterSamples({ xen1: 0, xen2: 0 });
    for (let i = 0; i < 3; i++) {
      await watch.check();
      seen = await laterSamples(seen);
    }
    await watch.check();
    const names = ((await samples.latest(['xen1']))['xen1']?.domains ?? []).map((d) => d.name);
    const said = (await events.since(0)).filter((e) => e.kind === 'domain.running-twice');
    expect({ sampledOnXen1: names, said }).toEqual({ sampledOnXen1: expect.any(Array), said: [] });
  }, 30_000);
});
