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
 * Two hosts whose xentop has no -f, one guest each, cut alike: webserver-a on xen1, webserver-b on xen2, both printed
 * `webserver-`. `xl list` fails on both, so neither sampler can map its one `webserver-` back: each host's sample
 * holds it once, under its cut name. Two distinct guests, none running twice: the split-brain watch must say nothing.
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
  for (const [host, name] of [
    ['xen1', 'webserver-a'],
    ['xen2', 'webserver-b'],
  ] as const) {
    const h = env.sim.fleet.host(host);
    h.xentopFullName = false;
    env.sim.fleet.addDomain(h, { name, memoryMiB: 512, vcpus: 1, flags: '-b----' });
    await env.sim.faults.add(host, { kind: 'fail', match: /\bxl list\b/, stderr: 'cannot init xl context\n', times: 0 });
  }
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  samples = new SampleStore(redis, prefix);
  events = new FleetEventLog(redis, prefix);
  sampler = simSampler(fastSamplerOptions(['xen1', 'xen2']), {
    runner: pool,
    drivers: simDrivers(env, pool),
    redis,
    prefix,
    samples,
    events,
  });
  sampler.start();
}, 30_000);

afterAll(async () => {
  await sampler?.close();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
});

describe('split-brain watch on hosts whose xentop cuts names, with one unresolved cut name each', () => {
  it('takes no two different guests each cut to the same 10 characters on its host for one guest running twice', async () => {
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
    const latest = await samples.latest(['xen1', 'xen2']);
    const sampled = (host: string) => (latest[host]?.domains ?? []).map((d) => d.name).filter((n) => n.startsWith('webserver'));
    const said = (await events.since(0)).filter((e) => e.kind === 'domain.running-twice');
    expect({ xen1: sampled('xen1'), xen2: sampled('xen2'), said }).toEqual({ xen1: ['webserver-'], xen2: ['webserver-'], said: [] });
  }, 30_000);

  it('marks the cut name in the sample, and no full name', async () => {
    const latest = await samples.latest(['xen1', 'xen2']);
    const marked = (host: string) => (latest[host]?.domains ?? []).filter((d) => d.nameCut).map((d) => d.name);
    const unmarked = (host: string) => (latest[host]?.domains ?? []).filter((d) => 'nameCut' in d && !d.nameCut);
    expect({ xen1: marked('xen1'), xen2: marked('xen2') }).toEqual({ xen1: ['webserver-'], xen2: ['webserver-'] });
    expect([...unmarked('xen1'), ...unmarked('xen2')]).toEqual([]);
  });
});
