import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { CommandLog } from './log.ts';

/**
 * The simulated Dom0s: pure in-memory state, no I/O. Time comes from an injected clock so CPU seconds advance
 * and tests stay deterministic.
 */

export type Toolstack = 'xl' | 'xm';

export interface SimDomain {
  name: string;
  id: number;
  /** Derived from the name (see domainUuid): the same guest has the same UUID on every host and after migration. */
  uuid: string;
  memoryMiB: number;
  vcpus: number;
  /** Six xl-style flags r b p s <reason> d. */
  flags: string;
  /** CPU seconds at `cpuSince`, plus `cpuRate` per wall second after it. */
  cpuBase: number;
  cpuSince: number;
  cpuRate: number;
  /**
   * Controller pauses held (Xen counts them: a domain paused twice needs two unpauses); the `p` flag is set while
   * it is above 0.
   */
  pauseCount: number;
}

export interface SimHostState {
  name: string;
  toolstack: Toolstack;
  sudo: 'ok' | 'password';
  totalMemoryMiB: number;
  migrateAddress: string;
  domains: SimDomain[];
  /** path → content */
  files: Map<string, string>;
  /** Symbolic links: path → contents (the target as written, absolute or relative to the link's directory). */
  links: Map<string, string>;
  /** Directories that exist even when empty (a directory with an entry below it exists anyway). */
  dirs: Set<string>;
  nextId: number;
  /** Every command string received over SSH, in order. */
  commandLog: string[];
}

export interface SimDomainSpec {
  name: string;
  memoryMiB: number;
  vcpus: number;
  running: boolean;
  configPath?: string | undefined;
  state?: string | undefined;
  consoleLines?: string[] | undefined;
  /** Starts with the host: a symlink /etc/xen/auto/NAME.cfg → its config file. */
  autostart?: boolean | undefined;
}

export interface SimHostSpec {
  toolstack?: Toolstack | undefined;
  sudo?: 'ok' | 'password' | undefined;
  totalMemoryMiB?: number | undefined;
  migrateAddress?: string | undefined;
  domains: SimDomainSpec[];
}

export interface SimFleetSpec {
  hosts: Record<string, SimHostSpec>;
}

export const CONSOLE_DIR = '/var/log/xen/console';

/** xendomains' XENDOMAINS_AUTO: the Xen packages ship it (empty). */
export const AUTO_DIR = '/etc/xen/auto';

export function consoleLogPath(name: string): string {
  return `${CONSOLE_DIR}/guest-${name}.log`;
}

/** Xen gives Domain-0 the nil UUID. */
export const DOM0_UUID = '00000000-0000-0000-0000-000000000000';

/** The namespace of the simulator's name-based UUIDs (itself a random v4 UUID, fixed forever). */
const UUID_NAMESPACE = Buffer.from('5b0c6f1e9d0a4c7e8f3b2a61c4d7e9f0', 'hex');

/**
 * A stable UUID for a simulated guest: RFC 4122 version 5 (SHA-1 of a fixed namespace and the name), formatted
 * 8-4-4-4-12 in lower case as xl prints it. Domain-0 gets the nil UUID, as on a real Dom0.
 */
export function domainUuid(name: string): string {
  if (name === 'Domain-0') return DOM0_UUID;
  const hash = createHash('sha1').update(UUID_NAMESPACE).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function renderDomainConfig(d: { name: string; memoryMiB: number; vcpus: number; uuid?: string }): string {
  return [
    `name = "${d.name}"`,
    `uuid = "${d.uuid ?? domainUuid(d.name)}"`,
    `memory = ${d.memoryMiB}`,
    `vcpus = ${d.vcpus}`,
    'bootloader = "pygrub"',
    `disk = [ 'phy:/dev/vg0/${d.name}-disk,xvda,w' ]`,
    `vif = [ 'bridge=xenbr0' ]`,
    '',
  ].join('\n');
}

/** Reads name/uuid/memory/vcpus back from an xl cfg (the subset the simulator writes and real files commonly have). */
export function parseDomainConfig(text: string): { name: string | null; uuid: string | null; memoryMiB: number; vcpus: number } {
  const get = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\n#]+?)"?\\s*(?:#.*)?$`, 'm').exec(text)?.[1]?.trim();
  const uuid = get('uuid')?.toLowerCase();
  return {
    name: get('name') ?? null,
    uuid: uuid && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid) ? uuid : null,
    memoryMiB: Number(get('memory') ?? 512),
    vcpus: Number(get('vcpus') ?? 1),
  };
}

export class SimFleet {
  readonly hosts = new Map<string, SimHostState>();
  /** Every command any host received, with a fleet-wide sequence number (the control interface's /log). */
  readonly log: CommandLog;

  constructor(
    spec: SimFleetSpec,
    readonly now: () => number = Date.now,
  ) {
    this.log = new CommandLog(now);
    for (const [name, h] of Object.entries(spec.hosts)) {
      const host: SimHostState = {
        name,
        toolstack: h.toolstack ?? 'xl',
        sudo: h.sudo ?? 'ok',
        totalMemoryMiB: h.totalMemoryMiB ?? 32768,
        migrateAddress: h.migrateAddress ?? name,
        domains: [],
        files: new Map(),
        links: new Map(),
        dirs: new Set(['/etc/xen', '/etc/xen/vm', AUTO_DIR, CONSOLE_DIR]),
        nextId: 1,
        commandLog: [],
      };
      this.hosts.set(name, host);
      this.addDomain(host, { name: 'Domain-0', memoryMiB: 2048, vcpus: 4, flags: 'r-----', id: 0, cpuRate: 0.2, cpuBase: 5000 });
      for (const d of h.domains) {
        const cfg = d.configPath ?? `/etc/xen/vm/${d.name}.cfg`;
        host.files.set(cfg, renderDomainConfig(d));
        if (d.autostart) host.links.set(`${AUTO_DIR}/${d.name}.cfg`, cfg);
        host.files.set(consoleLogPath(d.name), (d.consoleLines ?? bootLines(d.name)).map((l) => `${l}\n`).join(''));
        if (d.running) this.addDomain(host, { name: d.name, memoryMiB: d.memoryMiB, vcpus: d.vcpus, flags: d.state ?? '-b----' });
      }
    }
  }

  host(name: string): SimHostState {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no simulated host ${name}`);
    return h;
  }

  /** A host by name or by its migrate address (what `xl migrate DOM HOST` is given). */
  findHost(nameOrAddress: string): SimHostState | undefined {
    return this.hosts.get(nameOrAddress) ?? [...this.hosts.values()].find((h) => h.migrateAddress === nameOrAddress);
  }

  addDomain(
    host: SimHostState,
    d: {
      name: string;
      memoryMiB: number;
      vcpus: number;
      flags: string;
      id?: number;
      uuid?: string | null;
      cpuRate?: number;
      cpuBase?: number;
    },
  ): SimDomain {
    const domain: SimDomain = {
      name: d.name,
      id: d.id ?? host.nextId++,
      uuid: d.uuid ?? domainUuid(d.name),
      memoryMiB: d.memoryMiB,
      vcpus: d.vcpus,
      flags: d.flags,
      cpuBase: d.cpuBase ?? 0,
      cpuSince: this.now(),
      cpuRate: d.cpuRate ?? 0.02 * d.vcpus,
      pauseCount: d.flags[2] === 'p' ? 1 : 0,
    };
    host.domains.push(domain);
    return domain;
  }

  removeDomain(host: SimHostState, domain: SimDomain): void {
    host.domains = host.domains.filter((d) => d !== domain);
  }

  /** xl resolves all-digit arguments as ids, anything else as an exact name. */
  findDomain(host: SimHostState, ref: string): SimDomain | undefined {
    return /^\d+$/.test(ref) ? host.domains.find((d) => d.id === Number(ref)) : host.domains.find((d) => d.name === ref);
  }

  cpuSeconds(d: SimDomain): number {
    return d.cpuBase + ((this.now() - d.cpuSince) / 1000) * d.cpuRate;
  }

  appendConsole(host: SimHostState, name: string, lines: string[]): void {
    const path = consoleLogPath(name);
    host.files.set(path, (host.files.get(path) ?? '') + lines.map((l) => `${l}\n`).join(''));
  }

  /**
   * Where a path leads after following symlinks (relative targets against the link's directory, at most 8 hops as
   * ELOOP allows few): the final path, which may not exist; null for a loop.
   */
  resolve(host: SimHostState, path: string): string | null {
    let p = path;
    for (let hops = 0; hops < 8; hops++) {
      const target = host.links.get(p);
      if (target === undefined) return p;
      p = posix.resolve(posix.dirname(p), target);
    }
    return null;
  }

  /** A regular file's content, following symlinks; undefined when there is none. */
  readFile(host: SimHostState, path: string): string | undefined {
    const p = this.resolve(host, path);
    return p === null ? undefined : host.files.get(p);
  }

  /** Whether a directory exists (declared, or with any entry below it), following symlinks. */
  isDir(host: SimHostState, path: string): boolean {
    const p = this.resolve(host, path.length > 1 ? path.replace(/\/+$/, '') : path);
    if (p === null) return false;
    if (host.dirs.has(p)) return true;
    const prefix = `${p}/`;
    return [...host.files.keys(), ...host.links.keys(), ...host.dirs].some((e) => e.startsWith(prefix));
  }

  freeMemoryMiB(host: SimHostState): number {
    return Math.max(0, host.totalMemoryMiB - host.domains.reduce((sum, d) => sum + d.memoryMiB, 0));
  }
}

export function bootLines(name: string): string[] {
  return [
    '[    0.000000] Linux version 6.1.0-27-amd64 (debian-kernel@lists.debian.org)',
    '[    0.000000] Xen: using vcpuop timer interface',
    '[    1.204511] blkfront: xvda: flush diskcache: enabled; persistent grants: enabled',
    '[    2.512200] EXT4-fs (xvda1): mounted filesystem with ordered data mode',
    `[    3.100000] systemd[1]: Set hostname to <${name}>.`,
    '[  OK  ] Reached target Multi-User System.',
    '',
    `Debian GNU/Linux 12 ${name} hvc0`,
    '',
    `${name} login: `,
  ];
}
