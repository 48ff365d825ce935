import { type ControlServer, startControlServer } from './control.ts';
import type { SimDomainStatus, SimStateJson } from './control-api.ts';
import {
  type ArmedFault,
  armFault,
  describeFault,
  type FaultInfo,
  type FaultSpec,
  type OnCrash,
  SimConflictError,
  UnknownSimDomainError,
  UnknownSimHostError,
} from './faults.ts';
import { crashGuest } from './interpreter.ts';
import { generateEd25519KeyPair } from './keys.ts';
import type { CommandLog } from './log.ts';
import { SimFleet, type SimFleetSpec } from './model.ts';
import { fingerprintOfBlob, parseKeyOrThrow, SimSshServer } from './server.ts';

export { loadSimFleetSpec, SimFleetSpecSchema } from '../config/simulator-spec.ts';
export { type ControlServer, startControlServer } from './control.ts';
export type * from './control-api.ts';
export { type FaultSpec, type OnCrash, SimConflictError, UnknownSimDomainError, UnknownSimHostError } from './faults.ts';
export { encodeEd25519KeyPair, generateEd25519KeyPair } from './keys.ts';
export { type CommandLog, type LogQuery, LogWaitTimeout } from './log.ts';
export { DOM0_UUID, domainUuid, SimFleet, type SimFleetSpec, type SimHostSpec } from './model.ts';

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
  /** Also serve the HTTP control interface on 127.0.0.1 at this port (0 = a random free one); absent = none. */
  controlPort?: number;
}

export interface SimHostHandle {
  name: string;
  address: '127.0.0.1';
  port: number;
  hostKeyFingerprint: string;
  /** Every command string received, in order. */
  commandLog: string[];
}

/** Fault switches for tests. `match` defaults to any command; each *Next arms a fault for one command and returns its id. */
export interface SimFaults {
  /** The next matching command exits with `code` and `stderr`, doing nothing. */
  failNext(host: string, options: { match?: RegExp; code: number; stderr: string }): string;
  /** The next matching command never answers (until its client goes away: channel closed or connection lost). */
  hangNext(host: string, match?: RegExp): string;
  /** The next matching command loses the connection mid-way; with afterEffect it took effect first. */
  dropNext(host: string, options?: { match?: RegExp; afterEffect?: boolean }): string;
  /** The next matching command waits ms of wall time, then runs (to completion even if its client left meanwhile). */
  delayNext(host: string, options: { match?: RegExp; ms: number }): string;
  /** Arms any fault (what POST /faults does); hostKey replaces the host's key for new connections until removed. */
  add(host: string, spec: FaultSpec): Promise<FaultInfo>;
  /** Armed faults, oldest first. */
  list(): FaultInfo[];
  /** Disarms one fault (a hostKey fault restores the original key); false when there is no such fault. */
  remove(id: string): Promise<boolean>;
  /** Disarms every fault, restores every original host key and brings every host taken down back up. */
  clearAll(): Promise<void>;
  /** Cuts every live connection to the host now (a late ECONNRESET for idle clients); returns how many. */
  dropConnections(host: string): number;
  /**
   * Takes the host off the network: new connections are refused (nothing listens on its port) and live ones are cut,
   * until hostUp or clearAll. Its domains are left as they are. Returns how many connections were cut.
   */
  hostDown(host: string): Promise<number>;
  /** Brings a host taken down back: it listens again on its port, with the host key it has now. */
  hostUp(host: string): Promise<void>;
  /**
   * A running guest panics now, as if its kernel did: it ends as `onCrash` says (preserve: listed crashed, `--psc-`;
   * destroy: gone). No command is logged: no client sent one. UnknownSimDomainError for no such domain,
   * SimConflictError when it is not running (defined only, paused, shut down, dying, or Domain-0).
   */
  crashDomain(host: string, domain: string, onCrash?: OnCrash): void;
  /** New connections see another host key (true) or the original one again (false). */
  presentAnotherHostKey(host: string, on: boolean): Promise<void>;
  /** Concurrency seen at the server: now and the most at once; channels opened so far (execs and sessions). */
  activity(host: string): { active: number; maxActive: number; channels: number };
  /** Disarms the command faults (not host keys). */
  clear(): void;
}

export interface StartedSimulator {
  hosts: Record<string, SimHostHandle>;
  fleet: SimFleet;
  faults: SimFaults;
  /** Every command any host received, numbered fleet-wide; `log.waitFor(…)` resolves when matching ones arrive. */
  log: CommandLog;
  /** What GET /state answers. */
  state(): SimStateJson;
  /** The control interface, when started with controlPort. */
  control: ControlServer | null;
  stop(): Promise<void>;
}

/** An Ed25519 key pair for SSH clients, in OpenSSH formats (see keys.ts for why not ssh2's generator). */
export function generateClientKey(): { privateKey: string; publicKey: string } {
  return generateEd25519KeyPair('xenops-client');
}

/** `SHA256:…` of an OpenSSH public key line, a private key, or a raw key blob. */
export function fingerprintOf(key: string | Buffer): string {
  if (Buffer.isBuffer(key)) return fingerprintOfBlob(key);
  return fingerprintOfBlob(parseKeyOrThrow(key).getPublicSSH());
}

function statusOf(flags: string): SimDomainStatus {
  if (flags[5] === 'd') return 'dying';
  if (flags[3] === 's') return flags[4] === 'c' ? 'crashed' : 'shutdown';
  if (flags[2] === 'p') return 'paused';
  if (flags[0] === 'r') return 'running';
  return flags[1] === 'b' ? 'blocked' : 'running';
}

/** One SSH server per simulated host on 127.0.0.1, each with its own host key, sharing one fleet model. */
export async function startSimulator(options: StartSimulatorOptions): Promise<StartedSimulator> {
  const fleet = new SimFleet(options.fleet);
  const authorized = options.authorizedKeys.map((k) => parseKeyOrThrow(k));
  const servers = new Map<string, SimSshServer>();
  const originalKeys = new Map<string, string>();
  try {
    for (const [name, host] of fleet.hosts) {
      const hostKey = options.hostKeys?.[name] ?? generateEd25519KeyPair(`xenops-sim-${name}`).privateKey;
      originalKeys.set(name, hostKey);
      const server = new SimSshServer({
        fleet,
        host,
        hostKey,
        authorizedKeys: authorized,
        timeScale: options.timeScale ?? 1,
        shutdownDelayMs: options.shutdownDelayMs ?? 1500,
        port: options.port ?? 0,
        reachable: (target) => !servers.get(target.name)?.down,
        // A hang fault on a migration's target matching `xl migrate-receive` is that host not answering its stream; so is
        // a target taken down mid-copy (xl's stream waits on TCP, as for a cable pulled out).
        receiverAnswers: (target, command) => {
          const s = servers.get(target.name);
          return !s?.down && !s?.faults.some((f) => f.kind === 'hang' && f.match.test(command));
        },
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
    if (!s) throw new UnknownSimHostError(host);
    return s;
  };
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
  const arm = (host: string, spec: FaultSpec): ArmedFault => {
    const s = server(host);
    const fault = armFault(host, spec);
    s.faults.push(fault);
    return fault;
  };
  const removeHostKeyFault = async (s: SimSshServer, host: string, fault: ArmedFault) => {
    s.faults.splice(s.faults.indexOf(fault), 1);
    await s.swapHostKey(originalKeys.get(host) ?? s.hostKey);
  };
  const faults: SimFaults = {
    failNext: (host, o) => arm(host, { kind: 'fail', match: o.match, code: o.code, stderr: o.stderr }).id,
    hangNext: (host, match) => arm(host, { kind: 'hang', match }).id,
    dropNext: (host, o = {}) => arm(host, { kind: 'drop', match: o.match, afterEffect: o.afterEffect ?? false }).id,
    delayNext: (host, o) => arm(host, { kind: 'delay', match: o.match, ms: o.ms }).id,
    add: async (host, spec) => {
      const s = server(host);
      if (spec.kind !== 'hostKey') return describeFault(arm(host, spec));
      // One replacement key at a time: a second hostKey fault replaces the first.
      const previous = s.faults.find((f) => f.kind === 'hostKey');
      if (previous) s.faults.splice(s.faults.indexOf(previous), 1);
      const fault = armFault(host, spec);
      await s.swapHostKey(generateEd25519KeyPair(`xenops-sim-${host}-other`).privateKey);
      fault.fingerprint = s.fingerprint;
      s.faults.push(fault);
      return describeFault(fault);
    },
    list: () =>
      [...servers.values()].flatMap((s) => s.faults.map(describeFault)).sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1))),
    remove: async (id) => {
      for (const [host, s] of servers) {
        const fault = s.faults.find((f) => f.id === id);
        if (!fault) continue;
        if (fault.kind === 'hostKey') await removeHostKeyFault(s, host, fault);
        else s.faults.splice(s.faults.indexOf(fault), 1);
        return true;
      }
      return false;
    },
    clearAll: async () => {
      for (const [host, s] of servers) {
        const hostKeyFault = s.faults.find((f) => f.kind === 'hostKey');
        s.faults.length = 0;
        if (hostKeyFault) await s.swapHostKey(originalKeys.get(host) ?? s.hostKey);
        // Back to a healthy fleet in one call: a host taken down is a fault too.
        await s.bringUp();
      }
    },
    dropConnections: (host) => server(host).dropConnections(),
    hostDown: (host) => server(host).takeDown(),
    hostUp: (host) => server(host).bringUp(),
    crashDomain: (host, name, onCrash = 'preserve') => {
      server(host);
      const h = fleet.host(host);
      const d = h.domains.find((x) => x.name === name);
      if (!d) {
        const defined = h.xendManaged.has(name) || [...h.files.keys()].some((p) => p.endsWith(`/${name}.cfg`));
        if (defined) throw new SimConflictError(`${name} is not running on ${host} (defined, not started)`);
        throw new UnknownSimDomainError(host, name);
      }
      if (d.id === 0) throw new SimConflictError(`Domain-0 is the host itself: take ${host} down instead`);
      const status = statusOf(d.flags);
      // A paused guest's vCPUs do not run, so its kernel cannot panic; shut down or dying ones have no kernel left.
      if (status !== 'running' && status !== 'blocked') throw new SimConflictError(`${name} is not running on ${host} (${status})`);
      crashGuest(fleet, h, d, onCrash);
    },
    presentAnotherHostKey: async (host, on) => {
      if (on) {
        await faults.add(host, { kind: 'hostKey' });
        return;
      }
      const s = server(host);
      const fault = s.faults.find((f) => f.kind === 'hostKey');
      if (fault) await removeHostKeyFault(s, host, fault);
      else if (s.hostKey !== originalKeys.get(host)) await s.swapHostKey(originalKeys.get(host) ?? s.hostKey);
    },
    activity: (host) => ({ active: server(host).active, maxActive: server(host).maxActive, channels: server(host).channels }),
    clear: () => {
      for (const s of servers.values()) {
        for (let i = s.faults.length - 1; i >= 0; i--) if (s.faults[i]?.kind !== 'hostKey') s.faults.splice(i, 1);
      }
    },
  };
  const state = (): SimStateJson => {
    const out: SimStateJson = { hosts: {}, lastSeq: fleet.log.lastSeq };
    for (const [name, s] of servers) {
      const h = fleet.host(name);
      out.hosts[name] = {
        name,
        address: '127.0.0.1',
        port: s.port,
        hostKeyFingerprint: s.fingerprint,
        toolstack: h.toolstack,
        sudo: h.sudo,
        migrateAddress: h.migrateAddress,
        down: s.down,
        totalMemoryMiB: h.totalMemoryMiB,
        freeMemoryMiB: fleet.freeMemoryMiB(h),
        domains: [...h.domains]
          .sort((a, b) => a.id - b.id)
          .map((d) => ({
            name: d.name,
            id: d.id,
            uuid: d.uuid,
            flags: d.flags,
            status: statusOf(d.flags),
            memoryMiB: d.memoryMiB,
            vcpus: d.vcpus,
            cpuSeconds: Math.round(fleet.cpuSeconds(d) * 10) / 10,
          })),
        configs: [...h.files.keys()].filter((p) => p.endsWith('.cfg')).sort(),
        links: [...h.links].map(([path, target]) => ({ path, target })).sort((a, b) => a.path.localeCompare(b.path)),
        connections: s.connections,
        activeCommands: s.active,
        maxActiveCommands: s.maxActive,
      };
    }
    return out;
  };
  const sim: StartedSimulator = {
    hosts,
    fleet,
    faults,
    log: fleet.log,
    state,
    control: null,
    stop: async () => {
      await sim.control?.close();
      await Promise.all([...servers.values()].map((s) => s.close()));
    },
  };
  if (options.controlPort !== undefined) {
    try {
      sim.control = await startControlServer(sim, options.controlPort);
    } catch (error) {
      await sim.stop();
      throw error;
    }
  }
  return sim;
}
