/**
 * Pure parsers for what the bench reads about processes: /proc/PID/status, /proc/net/tcp, Redis `CLIENT LIST`, and
 * how a process's Redis clients break down by what opened them (BullMQ names its connections).
 */

/** VmRSS of a /proc/PID/status text, in MiB; null when absent. */
export function vmRssMiB(status: string): number | null {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m?.[1] ? Number(m[1]) / 1024 : null;
}

export interface TcpSocket {
  localAddress: string;
  localPort: number;
  remoteAddress: string;
  remotePort: number;
  /** The kernel's state code: 1 = ESTABLISHED, 10 = LISTEN. */
  state: number;
  inode: number;
}

/** An address of /proc/net/tcp (little-endian hex IPv4) or /proc/net/tcp6 (four little-endian words). */
function hexAddress(hex: string): string {
  if (hex.length === 8) {
    const b = Buffer.from(hex, 'hex');
    return `${b[3]}.${b[2]}.${b[1]}.${b[0]}`;
  }
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = Buffer.concat(words.map((w) => Buffer.from(w, 'hex').reverse()));
  // ::ffff:a.b.c.d (an IPv4 client on a dual-stack socket) is shown as IPv4.
  if (bytes.subarray(0, 10).every((x) => x === 0) && bytes[10] === 0xff && bytes[11] === 0xff)
    return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  return (bytes.toString('hex').match(/.{4}/g) ?? []).join(':');
}

/** The rows of /proc/net/tcp or /proc/net/tcp6. */
export function parseProcNetTcp(text: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [local, remote, st, , , , , , inode] = f.slice(1);
    const [la, lp] = (local ?? '').split(':');
    const [ra, rp] = (remote ?? '').split(':');
    if (!la || !lp || !ra || !rp) continue;
    out.push({
      localAddress: hexAddress(la),
      localPort: Number.parseInt(lp, 16),
      remoteAddress: hexAddress(ra),
      remotePort: Number.parseInt(rp, 16),
      state: Number.parseInt(st ?? '0', 16),
      inode: Number(inode),
    });
  }
  return out;
}

/** One client of Redis `CLIENT LIST`: its fields by name (`id`, `addr`, `laddr`, `name`, `cmd`, …). */
export type RedisClient = Record<string, string>;

export function parseClientList(text: string): RedisClient[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const client: RedisClient = {};
      for (const part of line.split(' ')) {
        const eq = part.indexOf('=');
        if (eq > 0) client[part.slice(0, eq)] = part.slice(eq + 1);
      }
      return client;
    });
}

/** The port of an `ip:port` (or `[v6]:port`) address. */
export function portOf(addr: string | undefined): number | null {
  const m = /:(\d+)$/.exec(addr ?? '');
  return m?.[1] ? Number(m[1]) : null;
}

/** The clients whose client-side address (`addr`) is one of the given local ports of a process. */
export function clientsOfPorts(clients: readonly RedisClient[], ports: ReadonlySet<number>): RedisClient[] {
  return clients.filter((c) => {
    const p = portOf(c['addr']);
    return p !== null && ports.has(p);
  });
}

/**
 * What opened a Redis connection, from its name: BullMQ names a QueueEvents connection `<prefix>:<base64 queue>:qe`
 * and a Worker's blocking connection `<prefix>:<base64 queue>` (or `…:w:<worker name>`); ioredis clients and BullMQ
 * Queue (producer) connections have no name.
 */
export function connectionKind(name: string | undefined): string {
  if (!name) return 'unnamed (Queue producers, ioredis clients)';
  if (/:qe$/.test(name)) return 'QueueEvents';
  if (/^.+:[A-Za-z0-9+/]+={0,2}(:w:.*)?$/.test(name)) return 'Worker (blocking)';
  return `named ${name}`;
}

/** Counts by kind, largest first: [["QueueEvents", 1000], …]. */
export function countKinds(clients: readonly RedisClient[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const c of clients) {
    const k = connectionKind(c['name']);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The machine's CPU time counters (the `cpu` line of /proc/stat, in clock ticks): all of it, and what was stolen. */
export interface CpuTicks {
  total: number;
  /** Time the hypervisor ran something else while this VM wanted a CPU. */
  steal: number;
}

/** The first (all-CPU) line of /proc/stat; null when there is none. */
export function parseProcStatCpu(text: string): CpuTicks | null {
  const m = /^cpu\s+([\d\s]+)$/m.exec(text);
  if (!m?.[1]) return null;
  const f = m[1].trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice: already counted in user and nice]
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, steal: f[7] ?? 0 };
}

/** The share of the CPU time between two readings that was stolen, in %. */
export function stealPct(before: CpuTicks, after: CpuTicks): number {
  const total = after.total - before.total;
  return total > 0 ? ((after.steal - before.steal) / total) * 100 : 0;
}

/** V8's heap spaces as prom-client's default metrics expose them, in MiB (committed and in use). */
export interface HeapSpaces {
  youngCommitted: number;
  youngUsed: number;
  oldCommitted: number;
  oldUsed: number;
}

/**
 * `nodejs_heap_space_size_{total,used}_bytes{space="new"|"old"}` of a /metrics text; null when any is missing. What
 * an RSS reading is made of: a young generation V8 grew under load and has not shrunk yet, or a heap in use.
 */
export function parseHeapSpaces(metrics: string): HeapSpaces | null {
  const read = (kind: 'total' | 'used', space: string): number | null => {
    const re = new RegExp(`^nodejs_heap_space_size_${kind}_bytes\\{[^}]*space="${space}"[^}]*\\} ([0-9.e+]+)$`, 'm');
    const m = re.exec(metrics);
    return m?.[1] ? Number(m[1]) / 1048576 : null;
  };
  const v = [read('total', 'new'), read('used', 'new'), read('total', 'old'), read('used', 'old')];
  if (v.some((x) => x === null || !Number.isFinite(x))) return null;
  const [youngCommitted, youngUsed, oldCommitted, oldUsed] = v as number[];
  return { youngCommitted, youngUsed, oldCommitted, oldUsed } as HeapSpaces;
}
