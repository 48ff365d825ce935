import { Queue } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import { hostQueueName } from '../queue/names.ts';
import type { RedisClient } from '../queue/redis-connection.ts';

/**
 * A host taken out of every config leaves its BullMQ queue (`host-NAME:*`, a dozen keys with no TTL, and its jobs'
 * hashes kept by their retention) and its field in the agents' heartbeats hash in Redis for good: nothing else ever
 * writes or deletes them. Its other keys (`sample:`, `history:`, `unreachable:`, `crashed:`) expire on their own.
 *
 * Never deleted behind anyone's back: a host is "left behind" only when no running bot's config has it (`bots`, see
 * bot-peers.ts), nor the config asked about, and no agent beats for it. Pruning then takes only a queue with no job
 * waiting, delayed or running in it: one with work in it is reported, never deleted.
 */

export interface HostLeftBehind {
  host: string;
  /** Keys of its queue (the queue's own and its jobs'). */
  keys: number;
  /** Jobs still waiting (a paused queue's too), delayed, prioritized or running there: its queue is then never pruned. */
  unfinished: number;
  /** Whether the agents' heartbeats hash still has a field for it. */
  heartbeat: boolean;
}

/** Every key under the prefix matching `pattern` (SCAN; on a Cluster the prefix's keys are on one master). */
async function scanKeys(redis: RedisClient, pattern: string): Promise<string[]> {
  const servers: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const out: string[] = [];
  for (const server of servers) {
    let cursor = '0';
    do {
      const [next, keys] = await server.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
  }
  return out;
}

/** Redis's clock (ms): beats and the bots' fields are written on it. */
async function redisNow(redis: RedisClient): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/** Hosts some running bot serves (their fields in `PREFIX:bots`, lapsed ones left out). */
async function hostsOfRunningBots(redis: RedisClient, prefix: string, now: number): Promise<Set<string>> {
  const served = new Set<string>();
  for (const raw of Object.values(await redis.hgetall(`${prefix}:bots`))) {
    try {
      const v = JSON.parse(raw) as { hosts?: unknown; untilMs?: unknown };
      if (typeof v.untilMs !== 'number' || v.untilMs <= now || !Array.isArray(v.hosts)) continue;
      for (const h of v.hosts) if (typeof h === 'string') served.add(h);
    } catch {
      // a foreign value: serves nothing
    }
  }
  return served;
}

/**
 * The hosts whose keys nobody uses any more: in neither `configured` nor a running bot's hosts, with no agent beating
 * for them within `staleMs` (on Redis's clock).
 */
export async function hostsLeftBehind(
  redis: RedisClient,
  prefix: string,
  configured: readonly string[],
  staleMs: number,
): Promise<HostLeftBehind[]> {
  const now = await redisNow(redis);
  const keep = new Set([...configured, ...(await hostsOfRunningBots(redis, prefix, now))]);
  const beats = await redis.hgetall(`${prefix}:agents`);
  for (const [host, raw] of Object.entries(beats)) {
    try {
      const beat = JSON.parse(raw) as { seenAt?: unknown; stoppedAt?: unknown };
      if (beat.stoppedAt === undefined && typeof beat.seenAt === 'number' && now - beat.seenAt <= staleMs) keep.add(host);
    } catch {
      // a foreign value: no live agent
    }
  }
  const keysByHost = new Map<string, number>();
  const queueHead = `${prefix}:host-`;
  for (const key of await scanKeys(redis, `${queueHead}*`)) {
    // `host-NAME:SUFFIX` or `host-NAME:JOBID[:…]`: a host name has no ':' (the config's names are DNS-like).
    const host = key.slice(queueHead.length).split(':')[0] ?? '';
    if (host !== '') keysByHost.set(host, (keysByHost.get(host) ?? 0) + 1);
  }
  const hosts = new Set([...keysByHost.keys(), ...Object.keys(beats)].filter((h) => !keep.has(h)));
  const out: HostLeftBehind[] = [];
  for (const host of [...hosts].sort()) {
    const keys = keysByHost.get(host) ?? 0;
    out.push({ host, keys, unfinished: keys > 0 ? await unfinishedJobs(redis, prefix, host) : 0, heartbeat: host in beats });
  }
  return out;
}

async function unfinishedJobs(redis: RedisClient, prefix: string, host: string): Promise<number> {
  const queue = new Queue(hostQueueName(host), { connection: redis, prefix });
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}

/**
 * Deletes what the hosts left behind (as hostsLeftBehind found them, looked at again here): the heartbeat field, and
 * the queue of each host that has no unfinished job. Returns the hosts pruned.
 */
export async function pruneHostsLeftBehind(
  redis: RedisClient,
  prefix: string,
  configured: readonly string[],
  staleMs: number,
): Promise<string[]> {
  const pruned: string[] = [];
  for (const h of await hostsLeftBehind(redis, prefix, configured, staleMs)) {
    if (h.unfinished > 0) continue;
    if (h.keys > 0) {
      const queue = new Queue(hostQueueName(h.host), { connection: redis, prefix });
      try {
        // Not forced: BullMQ refuses while a job is active, should one have been taken since the count.
        await queue.obliterate({ force: false });
      } finally {
        await queue.close();
      }
      // Keys obliterate leaves (its events stream, a job's lock still lapsing): none is left under the queue.
      for (const k of await scanKeys(redis, `${prefix}:${hostQueueName(h.host)}:*`)) await redis.unlink(k);
    }
    if (h.heartbeat) await redis.hdel(`${prefix}:agents`, h.host);
    pruned.push(h.host);
  }
  return pruned;
}

/** What `xenops hosts-left-behind` prints for a host. Pure. */
export function describeLeftBehind(h: HostLeftBehind, prune: boolean): string {
  const what = [h.keys > 0 ? `its queue (${h.keys} keys)` : '', h.heartbeat ? 'its heartbeat' : ''].filter(Boolean).join(' and ');
  if (h.unfinished > 0)
    return `${h.host}: ${what}; kept: ${h.unfinished} job(s) still waiting or running there (an agent serving it would run them)`;
  return `${h.host}: ${what}${prune ? ' — deleted' : ' (--prune deletes them)'}`;
}

/**
 * `xenops hosts-left-behind [--prune]`: the hosts in Redis that no bot (this config, or one running on the prefix)
 * and no live agent serves any more. Exit 0; 1 when the config or Redis fails.
 */
export async function runHostsLeftBehind(options: { configPath: string | undefined; prune: boolean }): Promise<number> {
  const { loadConfig, resolveConfigPath } = await import('../config/load.ts');
  const { registerConfigSecrets } = await import('../config/secrets.ts');
  const { ConfigError } = await import('../core/errors.ts');
  const { redactSecrets } = await import('../core/log.ts');
  const { connectForOneRun } = await import('../queue/redis-connection.ts');
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(resolveConfigPath(options.configPath));
    // Its secrets (a Redis password in the URL) are scrubbed from anything printed.
    registerConfigSecrets(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 1;
  }
  const { prefix } = config.redis;
  const hosts = Object.keys(config.hosts);
  let redis: RedisClient | null = null;
  try {
    redis = await connectForOneRun(config.redis);
    const left = await hostsLeftBehind(redis, prefix, hosts, config.bot.agentStaleMs);
    const pruned = new Set(options.prune ? await pruneHostsLeftBehind(redis, prefix, hosts, config.bot.agentStaleMs) : []);
    if (left.length === 0) process.stdout.write(`No host left behind under ${prefix}: every host in Redis is served.\n`);
    for (const h of left) process.stdout.write(`${describeLeftBehind(h, pruned.has(h.host))}\n`);
    return 0;
  } catch (error) {
    const why = redactSecrets(error instanceof Error ? error.message : String(error));
    process.stderr.write(`xenops hosts-left-behind: Redis at ${redactSecrets(config.redis.url)}: ${why}\n`);
    return 1;
  } finally {
    redis?.disconnect();
  }
}
