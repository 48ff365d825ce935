import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SshPool } from '../../src/agent/ssh/pool.ts';
import { type Config, HostConfig, SshDefaults } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import { generateClientKey, loadSimFleetSpec, type SimFleetSpec, type StartedSimulator, startSimulator } from '../../src/sim/index.ts';

export const quietLogger = createLogger('silent');

export function demoFleet(): SimFleetSpec {
  return loadSimFleetSpec(readFileSync(join(import.meta.dirname, '..', '..', 'config', 'demo.yaml'), 'utf8'));
}

export interface SimEnv {
  sim: StartedSimulator;
  clientKey: { privateKey: string; publicKey: string };
  hosts: Record<string, HostConfig>;
  ssh: SshDefaults;
  pool(overrides?: Partial<Record<string, Partial<HostConfig>>>, ssh?: Partial<SshDefaults>): SshPool;
  stop(): Promise<void>;
}

/** The simulator with the demo fleet (or another), fast clock, and host configs pinning its keys. */
export async function startSimEnv(options: { fleet?: SimFleetSpec; timeScale?: number; shutdownDelayMs?: number } = {}): Promise<SimEnv> {
  const clientKey = generateClientKey();
  const sim = await startSimulator({
    fleet: options.fleet ?? demoFleet(),
    authorizedKeys: [clientKey.publicKey],
    timeScale: options.timeScale ?? 0.02,
    shutdownDelayMs: options.shutdownDelayMs ?? 1000,
  });
  const hosts: Record<string, HostConfig> = {};
  for (const [name, h] of Object.entries(sim.hosts)) {
    hosts[name] = HostConfig.parse({
      address: '127.0.0.1',
      port: h.port,
      privateKey: clientKey.privateKey,
      hostKey: h.hostKeyFingerprint,
      migrateAddress: name,
      shutdownTimeoutSeconds: 5,
    });
  }
  const ssh = SshDefaults.parse({ commandTimeoutMs: 5000, reconnectBaseMs: 10, reconnectMaxMs: 50 });
  const pools: SshPool[] = [];
  return {
    sim,
    clientKey,
    hosts,
    ssh,
    pool(overrides = {}, sshOverrides = {}) {
      const merged: Record<string, HostConfig> = {};
      for (const [name, h] of Object.entries(hosts)) merged[name] = { ...h, ...(overrides[name] ?? {}) } as HostConfig;
      const pool = new SshPool({ hosts: merged, defaults: { ...ssh, ...sshOverrides }, logger: quietLogger });
      pools.push(pool);
      return pool;
    },
    async stop() {
      for (const p of pools) await p.close();
      await sim.stop();
    },
  };
}

export type { Config };
