import type { Redis } from 'ioredis';
import { Sampler, type SamplerOptions } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import { type DriverOptions, XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { DomainLocks } from '../../src/queue/coordination.ts';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { SampleStore } from '../../src/queue/samples.ts';
import { quietLogger, type SimEnv } from './sim.ts';

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
