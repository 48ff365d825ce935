import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { fastSamplerOptions, simDrivers } from '../../test/helpers/sampler.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../../test/helpers/sim.ts';
import { DomainLocks } from '../queue/coordination.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { Sampler } from './sampler.ts';
import type { SshPool } from './ssh/pool.ts';
import type { RemoteRunner } from './ssh/types.ts';

/**
 * A Dom0 whose xentop has no -f (Xen 3.x): a real xentop meets the unknown option the way getopt's '?' case says —
 * `xentop: invalid option -- 'f'` on stderr, its usage text on STDOUT, exit status 0 (tools/xentop/xentop.c main;
 * src/sim/xentop-options.test.ts). The sampler must still fall back to running it without -f, in its stream and in
 * its poll; it used to look for a failed exit or an empty stdout, and sampled nothing there, ever.
 */
let env: SimEnv;
let pool: SshPool;
let redis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { xen1: { domains: [{ name: 'database-primary', memoryMiB: 512, vcpus: 1, running: true }] } } },
    timeScale: 0.2,
  });
  env.sim.fleet.host('xen1').xentopFullName = false;
  pool = env.pool();
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});

afterAll(async () => {
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  redis?.disconnect();
});

async function samplesFrom(runner: RemoteRunner): Promise<string[]> {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const samples = new SampleStore(redis, prefix);
  const d = simDrivers(env, pool);
  const sampler = new Sampler(fastSamplerOptions(['xen1']), {
    runner,
    samples,
    events: new FleetEventLog(redis, prefix),
    locks: new DomainLocks(redis, prefix),
    list: (host) => (d[host] as NonNullable<(typeof d)[string]>).list(),
    logger: quietLogger,
  });
  const since = env.sim.log.lastSeq;
  sampler.start();
  try {
    await expect
      .poll(async () => (await samples.latest(['xen1']))['xen1']?.domains.map((x) => x.name) ?? [], { timeout: 10_000 })
      .toContain('database-primary');
  } finally {
    await sampler.close();
  }
  return env.sim.log.query({ host: 'xen1', match: /^xentop/, since }).map((e) => e.command);
}

describe('a host whose xentop has no -f answers it with its usage and exit 0', () => {
  it('the stream falls back to xentop without -f and samples the guest under its full name', async () => {
    const commands = await samplesFrom(pool);
    expect(commands[0]).toMatch(/ '?-f'?$/);
    expect(commands.at(-1)).not.toMatch(/ '?-f'?$/);
  }, 30_000);

  it('so does the poll (a runner without stream)', async () => {
    const commands = await samplesFrom({ run: (h, argv, o) => pool.run(h, argv, o) });
    expect(commands[0]).toMatch(/ '?-f'?$/);
    expect(commands.at(-1)).not.toMatch(/ '?-f'?$/);
  }, 30_000);
});
