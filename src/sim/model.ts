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
  /** Six xl-style flags r b p s <reason> d. Setting them settles the CPU time so far (see cpuSeconds). */
  flags: string;
  /** CPU seconds at `cpuSince`, plus `cpuRate` per wall second after it while the domain runs. */
  cpuBase: number;
  cpuSince: number;
  cpuRate: number;
  /** When the domain was created here (xl uptime counts from it). */
  createdAt: number;
  /**
   * Controller pauses held (Xen counts them: a domain paused twice needs two unpauses); the `p` flag is set while
   * it is above 0.
   */
  pauseCount: number;
  /** A shutdown asked while paused: the guest acts on it when it runs again (it is a xenstore request, not an order). */
  shutdownRequested?: boolean;
  /** xend/libxl's maxmem (MiB); the same as memoryMiB unless the config says otherwise. */
  maxMemoryMiB: number;
  /** The config's `cpus` (hard affinity of every vCPU, e.g. `2-3`); null when not pinned. */
  cpus: string | null;
  disks: SimDisk[];
  /** Each vif as the running domain has it: a MAC always (generated at create when the config sets none). */
  vifs: SimVif[];
}

/** A disk as the config states it (legacy `kind:target,vdev,mode`). */
export interface SimDisk {
  target: string;
  vdev: string;
  mode: 'w' | 'r';
  /** phy: a block device (xl backend phy); file: an image file (xl backend qdisk, format raw). */
  kind: 'phy' | 'file';
}

/** A vif as the config states it; a running domain's always has a MAC. */
export interface SimVif {
  mac: string | null;
  bridge: string | null;
  /** `ip=` (space-separated addresses); null when the config sets none. */
  ip: string | null;
  /** vif-bridge, vif-route…; null when the config names none. */
  script: string | null;
}

export type SimDevices = { maxMemoryMiB?: number | undefined; cpus?: string | null | undefined; disks?: SimDisk[]; vifs?: SimVif[] };

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
  /**
   * xm: the domains xend manages (`xm new`), by name. xend keeps them while they do not run, and xm lists them then
   * with a blank ID (shared/xen-toolstack.md §1.2).
   */
  xendManaged: Map<string, { memoryMiB: number; vcpus: number }>;
  /** Every command string received over SSH, in order. */
  commandLog: string[];
  /**
   * Whether xentop knows -f/--full-name (Xen 4.0+, shared/xen-toolstack.md §2); false models a Xen 3.x xentop, which
   * answers -f with its usage and exit 0. Tests set it on the host.
   */
  xentopFullName: boolean;
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
  /** xm hosts: managed by xend (`xm new`), so listed with a blank ID while it does not run. */
  xendManaged?: boolean | undefined;
  maxMemoryMiB?: number | undefined;
  /** Pinning of every vCPU (`cpus = "2-3"`). */
  cpus?: string | undefined;
  /** Default: one disk, phy:/dev/vg0/NAME-disk as xvda, rw. */
  disks?: { target: string; vdev: string; mode?: 'w' | 'r' | undefined; kind?: 'phy' | 'file' | undefined }[] | undefined;
  /** Default: one vif on xenbr0, MAC generated at create. */
  vifs?: { bridge?: string | undefined; mac?: string | undefined; ip?: string | undefined; script?: string | undefined }[] | undefined;
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

/** The devices a spec states, with the simulator's defaults (one phy disk as xvda, one vif on xenbr0). */
export function specDevices(d: Pick<SimDomainSpec, 'name' | 'maxMemoryMiB' | 'cpus' | 'disks' | 'vifs'>): Required<SimDevices> & {
  maxMemoryMiB: number | undefined;
} {
  return {
    maxMemoryMiB: d.maxMemoryMiB,
    cpus: d.cpus ?? null,
    disks: (d.disks ?? [{ target: `/dev/vg0/${d.name}-disk`, vdev: 'xvda' }]).map((k) => ({
      target: k.target,
      vdev: k.vdev,
      mode: k.mode ?? 'w',
      kind: k.kind ?? 'phy',
    })),
    vifs: (d.vifs ?? [{ bridge: 'xenbr0' }]).map((v) => ({
      mac: v.mac ?? null,
      bridge: v.bridge ?? null,
      ip: v.ip ?? null,
      script: v.script ?? null,
    })),
  };
}

export function renderDomainConfig(
  d: { name: string; memoryMiB: number; vcpus: number; uuid?: string } & Pick<SimDomainSpec, 'maxMemoryMiB' | 'cpus' | 'disks' | 'vifs'>,
): string {
  const dev = specDevices(d);
  const vif = (v: SimVif) =>
    [v.mac && `mac=${v.mac}`, v.bridge && `bridge=${v.bridge}`, v.ip && `ip=${v.ip}`, v.script && `script=${v.script}`]
      .filter(Boolean)
      .join(',');
  return [
    `name = "${d.name}"`,
    `uuid = "${d.uuid ?? domainUuid(d.name)}"`,
    `memory = ${d.memoryMiB}`,
    ...(dev.maxMemoryMiB === undefined ? [] : [`maxmem = ${dev.maxMemoryMiB}`]),
    `vcpus = ${d.vcpus}`,
    ...(dev.cpus === null ? [] : [`cpus = "${dev.cpus}"`]),
    'bootloader = "pygrub"',
    `disk = [ ${dev.disks.map((k) => `'${k.kind}:${k.target},${k.vdev},${k.mode}'`).join(', ')} ]`,
    `vif = [ ${dev.vifs.map((v) => `'${vif(v)}'`).join(', ')} ]`,
    '',
  ].join('\n');
}

/**
 * Reads name/uuid/memory/vcpus (and maxmem, cpus, the disk and vif lists) back from an xl cfg: the subset the
 * simulator writes and real files commonly have. Disks in the legacy `kind:target,vdev,mode` form, vifs as
 * `key=value` lists; an entry of another shape is skipped.
 */
export function parseDomainConfig(text: string): {
  name: string | null;
  uuid: string | null;
  memoryMiB: number;
  vcpus: number;
} & SimDevices {
  const get = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*"?([^"\\n#]+?)"?\\s*(?:#.*)?$`, 'm').exec(text)?.[1]?.trim();
  const uuid = get('uuid')?.toLowerCase();
  const list = (key: string) => {
    const body = new RegExp(`^\\s*${key}\\s*=\\s*\\[([^\\]]*)\\]`, 'm').exec(text)?.[1];
    return body === undefined ? undefined : [...body.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? '');
  };
  const disks = list('disk')?.flatMap((spec): SimDisk[] => {
    const m = /^(phy|file):(\/[^,]+),(xvd[a-p]),(w|r)$/.exec(spec.trim());
    return m ? [{ kind: m[1] as 'phy' | 'file', target: m[2] as string, vdev: m[3] as string, mode: m[4] as 'w' | 'r' }] : [];
  });
  const vifs = list('vif')?.map((spec): SimVif => {
    const kv = new Map(
      spec
        .split(',')
        .map((p) => p.trim().split('='))
        .filter((p) => p.length === 2)
        .map(([k, v]) => [k as string, v as string]),
    );
    return { mac: kv.get('mac') ?? null, bridge: kv.get('bridge') ?? null, ip: kv.get('ip') ?? null, script: kv.get('script') ?? null };
  });
  const maxmem = get('maxmem');
  return {
    name: get('name') ?? null,
    uuid: uuid && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(uuid) ? uuid : null,
    memoryMiB: Number(get('memory') ?? 512),
    vcpus: Number(get('vcpus') ?? 1),
    ...(maxmem === undefined ? {} : { maxMemoryMiB: Number(maxmem) }),
    cpus: get('cpus') ?? null,
    ...(disks ? { disks } : {}),
    ...(vifs ? { vifs } : {}),
  };
}

/** The device number libxl gives `xvdX` (202 << 8 | disk << 4): what block-list prints as Vdev. */
export function vdevNumber(vdev: string): number {
  const m = /^xvd([a-p])$/.exec(vdev);
  if (!m) throw new Error(`sim: no device number for ${vdev}`);
  return (202 << 8) | (((m[1] as string).charCodeAt(0) - 97) << 4);
}

/** A MAC in Xen's OUI 00:16:3e, as xl makes one for a vif whose config sets none (stable per domain and vif here). */
export function generatedMac(name: string, index: number): string {
  const h = createHash('sha1').update(`mac:${name}:${index}`).digest();
  return [
    '00',
    '16',
    '3e',
    ...[h[0] ?? 0, h[1] ?? 0, h[2] ?? 0].map((b, i) => (i === 0 ? b & 0x7f : b).toString(16).padStart(2, '0')),
  ].join(':');
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
        xendManaged: new Map(),
        commandLog: [],
        xentopFullName: true,
      };
      this.hosts.set(name, host);
      this.addDomain(host, { name: 'Domain-0', memoryMiB: 2048, vcpus: 4, flags: 'r-----', id: 0, cpuRate: 0.2, cpuBase: 5000 });
      for (const d of h.domains) {
        const cfg = d.configPath ?? `/etc/xen/vm/${d.name}.cfg`;
        host.files.set(cfg, renderDomainConfig(d));
        if (d.autostart) host.links.set(`${AUTO_DIR}/${d.name}.cfg`, cfg);
        if (d.xendManaged && host.toolstack === 'xm') host.xendManaged.set(d.name, { memoryMiB: d.memoryMiB, vcpus: d.vcpus });
        host.files.set(consoleLogPath(d.name), (d.consoleLines ?? bootLines(d.name)).map((l) => `${l}\n`).join(''));
        if (d.running)
          this.addDomain(host, { name: d.name, memoryMiB: d.memoryMiB, vcpus: d.vcpus, flags: d.state ?? '-b----', ...specDevices(d) });
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
    } & SimDevices,
  ): SimDomain {
    const model = this;
    let flags = d.flags;
    const domain: SimDomain = {
      name: d.name,
      id: d.id ?? host.nextId++,
      uuid: d.uuid ?? domainUuid(d.name),
      memoryMiB: d.memoryMiB,
      vcpus: d.vcpus,
      // An accessor, so that every change of state (the interpreter's, a test's) stops or starts the CPU clock.
      get flags() {
        return flags;
      },
      set flags(next: string) {
        this.cpuBase = model.cpuSeconds(this);
        this.cpuSince = model.now();
        flags = next;
      },
      cpuBase: d.cpuBase ?? 0,
      cpuSince: this.now(),
      createdAt: this.now(),
      cpuRate: d.cpuRate ?? 0.02 * d.vcpus,
      pauseCount: d.flags[2] === 'p' ? 1 : 0,
      maxMemoryMiB: d.maxMemoryMiB ?? d.memoryMiB,
      cpus: d.cpus ?? null,
      disks: (d.disks ?? []).map((k) => ({ ...k })),
      // xl makes a MAC for a vif whose config sets none when it creates the domain; it keeps it until the domain goes.
      vifs: (d.vifs ?? []).map((v, i) => ({ ...v, mac: v.mac ?? generatedMac(d.name, i) })),
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

  /** A paused, shut-down (crashed) or dying domain does not run: its CPU time stands still, as Xen counts it. */
  cpuSeconds(d: SimDomain): number {
    const runs = d.flags[2] !== 'p' && d.flags[3] !== 's' && d.flags[5] !== 'd';
    return d.cpuBase + (runs ? ((this.now() - d.cpuSince) / 1000) * d.cpuRate : 0);
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
