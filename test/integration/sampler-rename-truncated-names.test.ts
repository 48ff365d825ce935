import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sampler } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { type FleetEvent, FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { fastSamplerOptions, simDrivers, simSampler } from '../helpers/sampler.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * `xl rename` on a host whose xentop has no -f (names cut to 10 characters, mapped back through a list): a guest whose
 * old and new names share their first 10 characters (webserver-a → webserver-b) prints as `webserver-` before and
 * after. The sampler hears every list read of the host (heardList), the bot's fleet refresh's among them: once one
 * such list shows the new name, the samples must name the guest by it and the rename must be said.
 */
const prefix = uniquePrefix();
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
let samples: SampleStore;
let events: FleetEventLog;
let sampler: Sampler;
let drivers: Record<string, XenToolstack>;

const xen1 = () => env.sim.fleet.host('xen1');

async function sampleNames(): Promise<string[]> {
  return ((await samples.latest(['xen1']))['xen1']?.domains ?? []).map((d) => d.name);
}

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
  xen1().xentopFullName = false;
  env.sim.fleet.addDomain(xen1(), { name: 'webserver-a', memoryMiB: 512, vcpus: 1, flags: '-b----' });
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  samples = new SampleStore(redis, prefix);
  events = new FleetEventLog(redis, prefix);
  drivers = simDrivers(env, pool, { onListed: (host, running) => sampler?.heardList(host, running) });
  sampler = simSampler(
    { ...fastSamplerOptions(['xen1']), historyEverySeconds: 3 },
    { runner: pool, drivers, redis, prefix, samples, events },
  );
  sampler.start();
  for (let i = 0; i < 500 && !(await sampleNames()).includes('webserver-a'); i++) await new Promise((r) => setTimeout(r, 20));
  await (drivers['xen1'] as XenToolstack).list();
}, 30_000);

afterAll(async () => {
  await sampler?.close();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis?.disconnect();
});

describe('a guest renamed on a host whose xentop cuts names to 10 characters', () => {
  it('is sampled under its new name once a list shows it, and the rename is said', async () => {
    const t0 = Date.now() - 1;
    const guest = xen1().domains.find((d) => d.name === 'webserver-a');
    if (!guest) throw new Error('no webserver-a');
    guest.name = 'webserver-b';
    // The bot's fleet refresh (each minute) lists the host: the sampler hears it.
    await (drivers['xen1'] as XenToolstack).list();
    await expect.poll(sampleNames, { timeout: 8_000 }).toContain('webserver-b');
    const said = (await events.since(t0)).filter((e): e is Extract<FleetEvent, { domain: string }> => 'domain' in e);
    expect(said.map((e) => `${e.kind} ${e.domain}`)).toContain('domain.renamed webserver-b');
  }, 30_000);
});
