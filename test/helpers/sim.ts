import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { SshPool } from '../../src/agent/ssh/pool.ts';
import { Config, HostConfig, SshDefaults } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import { generateClientKey, loadSimFleetSpec, type SimFleetSpec, type StartedSimulator, startSimulator } from '../../src/sim/index.ts';

export const quietLogger = createLogger('silent');

export function demoFleet(): SimFleetSpec {
  return loadSimFleetSpec(readFileSync(join(import.meta.dirname, '..', '..', 'config', 'demo.yaml'), 'utf8'));
}

/**
 * The small fleet the agent suites share: xen1 runs web and has mail defined; xen2 runs files. `xen1Extra` adds
 * domains to xen1 (e.g. a copy of files defined there, for the running-once checks).
 */
export function twoHostFleet(xen1Extra: SimFleetSpec['hosts'][string]['domains'] = []): SimFleetSpec {
  return {
    hosts: {
      xen1: {
        toolstack: 'xl',
        domains: [
          { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
          { name: 'mail', memoryMiB: 1024, vcpus: 2, running: false },
          ...xen1Extra,
        ],
      },
      xen2: { toolstack: 'xl', domains: [{ name: 'files', memoryMiB: 4096, vcpus: 2, running: true }] },
    },
  };
}

/**
 * A fleet out of balance, for /rebalance: xen1 (16 GiB) runs a 4096, b 3072 and c 2048 MiB (with Dom0's 2048, 69 %
 * used); xen2 (16 GiB) holds Dom0 alone (13 %). `more`: further hosts.
 */
export function unevenFleet(more: SimFleetSpec['hosts'] = {}): SimFleetSpec {
  return {
    hosts: {
      xen1: {
        toolstack: 'xl',
        totalMemoryMiB: 16384,
        domains: [
          { name: 'a', memoryMiB: 4096, vcpus: 1, running: true },
          { name: 'b', memoryMiB: 3072, vcpus: 1, running: true },
          { name: 'c', memoryMiB: 2048, vcpus: 1, running: true },
        ],
      },
      xen2: { toolstack: 'xl', totalMemoryMiB: 16384, domains: [] },
      ...more,
    },
  };
}

export interface SimEnv {
  sim: StartedSimulator;
  clientKey: { privateKey: string; publicKey: string };
  hosts: Record<string, HostConfig>;
  ssh: SshDefaults;
  pool(overrides?: Partial<Record<string, Partial<HostConfig>>>, ssh?: Partial<SshDefaults>): SshPool;
  stop(): Promise<void>;
}

/**
 * The simulator with the demo fleet (or another), fast clock, and host configs pinning its keys. `controlPort`
 * also starts the HTTP control interface (0 = a free port; its URL is `sim.control.url`).
 */
export async function startSimEnv(
  options: { fleet?: SimFleetSpec; timeScale?: number; shutdownDelayMs?: number; controlPort?: number } = {},
): Promise<SimEnv> {
  const clientKey = generateClientKey();
  const sim = await startSimulator({
    fleet: options.fleet ?? demoFleet(),
    authorizedKeys: [clientKey.publicKey],
    timeScale: options.timeScale ?? 0.02,
    shutdownDelayMs: options.shutdownDelayMs ?? 1000,
    ...(options.controlPort === undefined ? {} : { controlPort: options.controlPort }),
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

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the channel closed without an exit status (connection lost). */
  code: number | null;
}

export interface RunningExec {
  /** Resolves once stderr (so far) matches: no polling, driven by the data events. */
  stderrMatches(re: RegExp): Promise<string>;
  done: Promise<ExecResult>;
}

/** A bare ssh2 connection to one simulated host: for tests that need to cut the TCP socket under a command. */
export interface RawSsh {
  client: InstanceType<typeof ssh2.Client>;
  /** The client's TCP socket: destroy() it to vanish as a crashed client would. */
  socket: Socket;
  start(command: string): Promise<RunningExec>;
  exec(command: string): Promise<ExecResult>;
  end(): void;
}

export async function connectRaw(sim: StartedSimulator, host: string, privateKey: string): Promise<RawSsh> {
  const handle = sim.hosts[host];
  if (!handle) throw new Error(`no simulated host ${host}`);
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
    client.connect({ host: '127.0.0.1', port: handle.port, username: 'root', privateKey, hostVerifier: () => true, readyTimeout: 5000 });
  });
  client.on('error', () => {});
  const socket = (client as unknown as { _sock: Socket })._sock;
  const start = (command: string) =>
    new Promise<RunningExec>((resolve, reject) => {
      client.exec(command, (err, stream) => {
        if (err) return reject(err);
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        const stderrWaiters: (() => void)[] = [];
        stream.on('data', (c: Buffer) => {
          stdout += c.toString();
        });
        stream.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
          for (const w of [...stderrWaiters]) w();
        });
        stream.on('exit', (c: number | null) => {
          code = typeof c === 'number' ? c : null;
        });
        const done = new Promise<ExecResult>((res) => stream.on('close', () => res({ stdout, stderr, code })));
        resolve({
          done,
          stderrMatches: (re) =>
            new Promise<string>((res, rej) => {
              const check = () => {
                if (re.test(stderr)) {
                  stderrWaiters.splice(stderrWaiters.indexOf(check), 1);
                  res(stderr);
                }
              };
              stderrWaiters.push(check);
              check();
              void done.then(() => {
                if (stderrWaiters.includes(check)) rej(new Error(`command ended before stderr matched ${re}: ${stderr}`));
              });
            }),
        });
      });
    });
  return {
    client,
    socket,
    start,
    exec: async (command) => (await start(command)).done,
    end: () => client.end(),
  };
}

/**
 * A bot/agent config for the simulator's hosts: alice (admin) and carol (viewer) on the terminal, approvals off
 * (the suites using it test queueing and delivery; approvals have their own).
 */
export function simBotConfig(env: SimEnv, prefix: string, redisUrl: string): Config {
  return Config.parse({
    redis: { url: redisUrl, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: { admin: { allow: ['*'] }, viewer: { allow: ['read'] } },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
    },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000 },
    approvals: { enabled: false },
  });
}
