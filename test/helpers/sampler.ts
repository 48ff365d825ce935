import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { Sampler, type SamplerOptions } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import { type DriverOptions, XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { SshDefaults } from '../../src/config/schema.ts';
import type { HostSample } from '../../src/core/samples.ts';
import type { DomainSummary } from '../../src/core/xen.ts';
import { DomainLocks } from '../../src/queue/coordination.ts';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from './sim.ts';

/** The sampler at test speed against the simulator (xentop every second at its time scale, short waits). */
export function fastSamplerOptions(hosts: string[]): SamplerOptions {
  return {
    hosts,
    intervalSeconds: 1,
    historyEverySeconds: 1,
    historyHours: 1,
    unreachableAfterFailures: 2,
    restartBaseMs: 50,
    restartMaxMs: 200,
    quietMs: 50,
    settleMs: 400,
  };
}

/** An xl driver per simulated host, through the pool: what the sampler lists domains with. */
export function simDrivers(env: SimEnv, pool: SshPool, options: DriverOptions = {}): Record<string, XenToolstack> {
  return Object.fromEntries(
    Object.entries(env.hosts).map(([name, h]) => [
      name,
      new XenToolstack('xl', pool, { name, configDirs: h.configDirs, consoleLogDir: h.consoleLogDir, shutdownTimeoutSeconds: 5 }, options),
    ]),
  );
}

/**
 * A sampler wired as the agent wires it: xentop through `runner`, each host listed by its driver in `drivers`, its
 * samples, events and domain locks in `redis` under `prefix` (`samples` and `events`: stores the test reads too).
 */
export function simSampler(
  options: SamplerOptions,
  on: {
    runner: RemoteRunner;
    drivers: Record<string, XenToolstack>;
    redis: Redis;
    prefix: string;
    samples?: SampleStore;
    events?: FleetEventLog;
  },
): Sampler {
  return new Sampler(options, {
    runner: on.runner,
    samples: on.samples ?? new SampleStore(on.redis, on.prefix),
    events: on.events ?? new FleetEventLog(on.redis, on.prefix),
    locks: new DomainLocks(on.redis, on.prefix),
    list: (host) => (on.drivers[host] as XenToolstack).list(),
    logger: quietLogger,
  });
}

export interface SamplerSceneOptions {
  /** The hosts sampled (of the two-host simulated fleet). */
  hosts: string[];
  /** Changes to fastSamplerOptions(hosts). */
  sampler?: Partial<SamplerOptions>;
  /** The pool's SSH settings (a command timeout, say). */
  ssh?: Partial<SshDefaults>;
  /** Every list a driver reads tells the sampler who each guest is (heardList), as the agent wires them. */
  heardLists?: boolean;
  /** Told of every list a driver reads, whether or not the sampler hears it. */
  onListed?: (host: string, running: readonly DomainSummary[]) => void;
  /** Makes the simulator what the test needs (guests, xentop without -f, faults) before the sampler starts. */
  given?: (env: SimEnv) => void | Promise<void>;
}

export interface SamplerScene {
  readonly env: SimEnv;
  readonly pool: SshPool;
  /** A connection of the test's own, to the Redis the sampler writes to. */
  readonly redis: Redis;
  readonly prefix: string;
  readonly samples: SampleStore;
  readonly events: FleetEventLog;
  readonly drivers: Record<string, XenToolstack>;
  readonly sampler: Sampler;
  /**
   * The host's latest sample once it was taken after `after` (ms) and, with `naming`, names that guest: polled every
   * 20 ms (one is written a second), for 10 s at most.
   */
  sampleOf(host: string, wanted?: { after?: number; naming?: string }): Promise<HostSample>;
  /** When each host's next sample was taken, once every host has one later than the time given for it. */
  laterSamples(after: Record<string, number>): Promise<Record<string, number>>;
}

/**
 * A sampler on the simulated two-host fleet (time scale 0.2: xentop -d 1 sleeps 200 ms), writing to the real Redis
 * under a prefix of its own, started before the file's tests and closed after them, its keys deleted. Call at the top
 * of the file and read its fields inside the tests (or in a beforeAll of the file's, which runs after this one's).
 */
export function samplerScene(options: SamplerSceneOptions): SamplerScene {
  const prefix = uniquePrefix();
  let parts:
    | { env: SimEnv; pool: SshPool; redis: Redis; samples: SampleStore; events: FleetEventLog; drivers: Record<string, XenToolstack> }
    | undefined;
  let env: SimEnv | undefined;
  let redis: Redis | undefined;
  let sampler: Sampler | undefined;
  beforeAll(async () => {
    env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.2 });
    await options.given?.(env);
    const pool = env.pool({}, options.ssh);
    redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const samples = new SampleStore(redis, prefix);
    const events = new FleetEventLog(redis, prefix);
    const drivers = simDrivers(env, pool, {
      onListed: (host, running) => {
        options.onListed?.(host, running);
        if (options.heardLists) sampler?.heardList(host, running);
      },
    });
    parts = { env, pool, redis, samples, events, drivers };
    sampler = simSampler(
      { ...fastSamplerOptions(options.hosts), ...options.sampler },
      { runner: pool, drivers, redis, prefix, samples, events },
    );
    sampler.start();
  }, 30_000);
  afterAll(async () => {
    await sampler?.close();
    await env?.stop();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
    redis?.disconnect();
  });
  const started = () => {
    if (!parts || !sampler) throw new Error('samplerScene: not started (call it at the top of the file)');
    return { ...parts, sampler };
  };
  const sampleOf: SamplerScene['sampleOf'] = async (host, { after = 0, naming } = {}) => {
    for (let i = 0; i < 500; i++) {
      const s = (await started().samples.latest([host]))[host];
      if (s && s.at > after && (naming === undefined || s.domains.some((d) => d.name === naming))) return s;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no sample of ${host} after ${after}${naming === undefined ? '' : ` naming ${naming}`}`);
  };
  return {
    prefix,
    get env() {
      return started().env;
    },
    get pool() {
      return started().pool;
    },
    get redis() {
      return started().redis;
    },
    get samples() {
      return started().samples;
    },
    get events() {
      return started().events;
    },
    get drivers() {
      return started().drivers;
    },
    get sampler() {
      return started().sampler;
    },
    sampleOf,
    async laterSamples(after) {
      const now: Record<string, number> = {};
      for (const [host, at] of Object.entries(after)) now[host] = (await sampleOf(host, { after: at })).at;
      return now;
    },
  };
}
