import type { SamplerOptions } from '../../src/agent/sampler.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { type DriverOptions, XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { SimEnv } from './sim.ts';

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
