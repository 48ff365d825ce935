import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Redis } from 'ioredis';
import { clientsOfPorts, countKinds, parseClientList, parseProcNetTcp, type RedisClient, type TcpSocket, vmRssMiB } from './parse.ts';

/** What the bench reads about a running process: its RSS and the Redis connections it holds. Linux only (/proc). */

export function rssMiB(pid: number): number {
  const rss = vmRssMiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (rss === null) throw new Error(`no VmRSS in /proc/${pid}/status (has the process exited?)`);
  return rss;
}

/** Inodes of the sockets the process has open (its /proc/PID/fd links `socket:[N]`). */
function socketInodes(pid: number): Set<number> {
  const out = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) out.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

function tcpSockets(): TcpSocket[] {
  const read = (p: string) => {
    try {
      return parseProcNetTcp(readFileSync(p, 'utf8'));
    } catch {
      return [];
    }
  };
  return [...read('/proc/net/tcp'), ...read('/proc/net/tcp6')];
}

export interface RedisConnections {
  /** Established TCP connections from the process to Redis's port (from /proc). */
  sockets: number;
  /** Those connections as Redis lists them (CLIENT LIST, matched by the client's port). */
  clients: RedisClient[];
  /** By what opened them, largest first. */
  kinds: [string, number][];
}

/**
 * The Redis connections a process holds: its TCP sockets (by inode, from /proc/PID/fd and /proc/net/tcp) that are
 * established to Redis's port, matched to `CLIENT LIST` by the client address's port. Counting by the process's own
 * sockets, not by names or prefixes, so other users of the same Redis never count, and unnamed clients do.
 */
export async function redisConnectionsOf(pid: number, redisUrl: string): Promise<RedisConnections> {
  const url = new URL(redisUrl);
  const redisPort = Number(url.port || 6379);
  const inodes = socketInodes(pid);
  const mine = tcpSockets().filter((s) => s.state === 1 && s.remotePort === redisPort && inodes.has(s.inode));
  const ports = new Set(mine.map((s) => s.localPort));
  const admin = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await admin.connect();
    const list = (await admin.client('LIST')) as string;
    const clients = clientsOfPorts(parseClientList(list), ports);
    return { sockets: mine.length, clients, kinds: countKinds(clients) };
  } finally {
    admin.disconnect();
  }
}

/**
 * "1000 QueueEvents (1 per host) + 1003 unnamed (…) (1 per host + 3) + 1 Worker (blocking)": what the connections
 * are, and how they scale with the number of hosts served.
 */
export function describeKinds(kinds: readonly [string, number][], hosts: number): string {
  const scale = (n: number) => {
    if (hosts < 2 || n < hosts) return '';
    const per = Math.floor(n / hosts);
    const rest = n - per * hosts;
    return ` (${per} per host${rest ? ` + ${rest}` : ''})`;
  };
  return kinds.map(([k, n]) => `${n} ${k}${scale(n)}`).join(' + ') || 'none';
}
