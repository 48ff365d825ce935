import ssh2 from 'ssh2';
import { SimFleet, type SimFleetSpec } from './model.ts';
import { type Fault, fingerprintOfBlob, parseKeyOrThrow, SimSshServer } from './server.ts';

export { SimFleet, type SimFleetSpec, type SimHostSpec } from './model.ts';
export type { Fault } from './server.ts';
export { loadSimFleetSpec, SimFleetSpecSchema } from './spec.ts';

export interface StartSimulatorOptions {
  fleet: SimFleetSpec;
  /** OpenSSH public key lines allowed to log in. */
  authorizedKeys: string[];
  /** host → private key (OpenSSH/PEM); generated when absent. */
  hostKeys?: Record<string, string>;
  /** 1 = real time; 0.05 = twenty times faster. */
  timeScale?: number;
  /** How long a guest takes to power off after `shutdown` (before timeScale). Default 1500 ms. */
  shutdownDelayMs?: number;
  /** 0 = a random free port per host. */
  port?: number;
}

export interface SimHostHandle {
  name: string;
  address: '127.0.0.1';
  port: number;
  hostKeyFingerprint: string;
  /** Every command string received, in order. */
  commandLog: string[];
}

/** Fault switches for tests. `match` defaults to any command. */
export interface SimFaults {
  /** The next matching command exits with `code` and `stderr`, doing nothing. */
  failNext(host: string, options: { match?: RegExp; code: number; stderr: string }): void;
  /** The next matching command never answers (until the client closes its channel). */
  hangNext(host: string, match?: RegExp): void;
  /** The next matching command loses the connection mid-way; with afterEffect it took effect first. */
  dropNext(host: string, options?: { match?: RegExp; afterEffect?: boolean }): void;
  /** Cuts every live connection to the host now (a late ECONNRESET for idle clients). */
  dropConnections(host: string): void;
  /** New connections see another host key (true) or the original one again (false). */
  presentAnotherHostKey(host: string, on: boolean): Promise<void>;
  /** Concurrency seen at the server: now and the most at once. */
  activity(host: string): { active: number; maxActive: number };
  clear(): void;
}

export interface StartedSimulator {
  hosts: Record<string, SimHostHandle>;
  fleet: SimFleet;
  faults: SimFaults;
  stop(): Promise<void>;
}

export function generateClientKey(): { privateKey: string; publicKey: string } {
  const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'xenops-client' });
  return { privateKey: pair.private, publicKey: pair.public };
}

/** `SHA256:…` of an OpenSSH public key line, a private key, or a raw key blob. */
export function fingerprintOf(key: string | Buffer): string {
  if (Buffer.isBuffer(key)) return fingerprintOfBlob(key);
  return fingerprintOfBlob(parseKeyOrThrow(key).getPublicSSH());
}

/** One SSH server per simulated host on 127.0.0.1, each with its own host key, sharing one fleet model. */
export async function startSimulator(options: StartSimulatorOptions): Promise<StartedSimulator> {
  const fleet = new SimFleet(options.fleet);
  const authorized = options.authorizedKeys.map((k) => parseKeyOrThrow(k));
  const servers = new Map<string, SimSshServer>();
  const originalKeys = new Map<string, string>();
  try {
    for (const [name, host] of fleet.hosts) {
      const hostKey = options.hostKeys?.[name] ?? ssh2.utils.generateKeyPairSync('ed25519').private;
      originalKeys.set(name, hostKey);
      const server = new SimSshServer({
        fleet,
        host,
        hostKey,
        authorizedKeys: authorized,
        timeScale: options.timeScale ?? 1,
        shutdownDelayMs: options.shutdownDelayMs ?? 1500,
        port: options.port ?? 0,
      });
      await server.listen();
      servers.set(name, server);
    }
  } catch (error) {
    await Promise.all([...servers.values()].map((s) => s.close()));
    throw error;
  }
  const server = (host: string) => {
    const s = servers.get(host);
    if (!s) throw new Error(`no simulated host ${host}`);
    return s;
  };
  const any = /.*/;
  const hosts: Record<string, SimHostHandle> = {};
  for (const [name, s] of servers) {
    hosts[name] = {
      name,
      address: '127.0.0.1',
      port: s.port,
      get hostKeyFingerprint() {
        return s.fingerprint;
      },
      commandLog: fleet.host(name).commandLog,
    };
  }
  const faults: SimFaults = {
    failNext: (host, o) =>
      server(host).faults.push({ kind: 'fail', match: o.match ?? any, code: o.code, stderr: o.stderr } satisfies Fault),
    hangNext: (host, match) => server(host).faults.push({ kind: 'hang', match: match ?? any }),
    dropNext: (host, o = {}) => server(host).faults.push({ kind: 'drop', match: o.match ?? any, afterEffect: o.afterEffect ?? false }),
    dropConnections: (host) => server(host).dropConnections(),
    presentAnotherHostKey: async (host, on) => {
      await server(host).swapHostKey(on ? ssh2.utils.generateKeyPairSync('ed25519').private : (originalKeys.get(host) ?? ''));
    },
    activity: (host) => ({ active: server(host).active, maxActive: server(host).maxActive }),
    clear: () => {
      for (const s of servers.values()) s.faults.length = 0;
    },
  };
  return {
    hosts,
    fleet,
    faults,
    stop: async () => {
      await Promise.all([...servers.values()].map((s) => s.close()));
    },
  };
}
