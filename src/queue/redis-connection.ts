import type { ConnectionOptions } from 'bullmq';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/**
 * The one place Redis connections are made, for one Redis server or a Redis Cluster.
 *
 * Every key xenops and BullMQ write starts with the hash-tagged prefix (`{xenops}:…`), so on a Cluster all of them
 * hash to one slot and live on one master: BullMQ's Lua scripts, the audit chain script (stream + head), MULTI blocks
 * and pipelines only ever touch keys of that slot, which is what a Cluster requires of them.
 */

/**
 * Where Redis is, as the config's `redis` section says it: one server at `url`, or (`cluster: true`) a Redis Cluster
 * whose seed nodes are `url` and `nodes` (the other nodes are discovered). A bare URL means one server.
 */
export type RedisTarget = string | { url: string; cluster?: boolean | undefined; nodes?: readonly string[] | undefined };

/**
 * How long the bot waits for Redis to answer one command on its request path (ioredis's commandTimeout) before it
 * says Redis is not answering. A Redis that keeps its connections but answers nothing (a frozen machine, a path that
 * drops packets without a reset, a script that never ends) would otherwise hold every request, silently, for as
 * long. Not on blocking connections (their commands wait by design) nor on BullMQ's own.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 10_000;

/** A connection to one server or to a Cluster: the stores only use commands both have. */
export type RedisClient = Redis | Cluster;

export function isClusterTarget(target: RedisTarget): boolean {
  return typeof target !== 'string' && target.cluster === true;
}

/** The URL of one server, or a Cluster's seed URLs (`url` first). */
export function redisUrls(target: RedisTarget): string[] {
  if (typeof target === 'string') return [target];
  return isClusterTarget(target) ? [target.url, ...(target.nodes ?? []).filter((u) => u !== target.url)] : [target.url];
}

/** For messages and logs (callers redact secrets): the URL, or `the Redis Cluster at URL, URL`. */
export function describeRedis(target: RedisTarget): string {
  return isClusterTarget(target) ? `the Redis Cluster at ${redisUrls(target).join(', ')}` : (redisUrls(target)[0] as string);
}

/**
 * `new Redis(url, options)` for one server (exactly that); for a Cluster, `new Cluster(seeds, …)` with the options
 * split between the cluster (lazyConnect, enableOfflineQueue, retryStrategy as its clusterRetryStrategy) and each
 * node's connection (everything else, plus the seed URL's user, password and TLS, which discovered nodes need too).
 */
export function createRedisClient(target: RedisTarget, options: RedisOptions = {}): RedisClient {
  const urls = redisUrls(target);
  if (!isClusterTarget(target)) return heard(new Redis(urls[0] as string, options));
  const [first] = urls as [string, ...string[]];
  return heard(new Cluster(urls.map(nodeOf), clusterOptions(options, { ...credentialsOf(first) })));
}

/**
 * Whether the server that holds `key` answers for it: a PING on a single server; on a Cluster a command on the key
 * itself, routed as xenops's own are (MOVED followed), as the master owning the prefix's slot (where every key of
 * xenops's is) is the one that matters. A bare PING goes to any node, and even the key's master answers a PING while
 * the cluster refuses every command on its keys (CLUSTERDOWN, another master down past cluster-node-timeout).
 */
export async function pingHolderOf(client: RedisClient, key: string): Promise<string> {
  if (!(client instanceof Cluster)) return client.ping();
  await client.exists(key);
  return 'PONG';
}

/**
 * A connected client for a command run once from the shell (`xenops audit verify`, `xenops hosts-left-behind`): no
 * retries and no offline queue, so a Redis that is down or refuses the password fails the run at once rather than
 * hanging it. Rejects with the first error the connection met (a refused connection, a wrong password): ioredis's
 * own rejection of connect() then only says "Connection is closed". The caller disconnects the client.
 */
export async function connectForOneRun(target: RedisTarget): Promise<RedisClient> {
  const redis = createRedisClient(target, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  });
  let firstError: Error | null = null;
  redis.on('error', (e: Error) => {
    firstError ??= e;
  });
  await redis.connect().catch((e: unknown) => {
    redis.disconnect();
    throw firstError ?? e;
  });
  return redis;
}

/**
 * A client of its own with the same target (a connection for WATCH/MULTI, or one that may block): `duplicate(options)`
 * of one server, or of a Cluster (same seeds; node options merged as createRedisClient splits them).
 */
export function duplicateRedisClient(client: RedisClient, options: RedisOptions = {}): RedisClient {
  if (client instanceof Cluster) return heard(client.duplicate([], clusterOptions(options, { ...client.options.redisOptions })));
  return heard(client.duplicate(options));
}

/**
 * Every client made here has a listener for its errors: without one ioredis prints each failed (re)connect to stderr,
 * a raw line with its stack, for as long as Redis is down. What went wrong is said by the commands that fail, the
 * owners' own listeners (at the level they choose) and the BullMQ objects using the client ("queue error").
 */
function heard<T extends RedisClient>(client: T): T {
  client.on('error', () => {});
  return client;
}

function clusterOptions(options: RedisOptions, base: NonNullable<ClusterOptions['redisOptions']>): ClusterOptions {
  // What a Cluster takes for itself rather than for each node's connection.
  const { lazyConnect, enableOfflineQueue, retryStrategy, ...node } = options;
  // Host, port and db are the seeds' (a Cluster has db 0 only).
  const { host: _host, port: _port, db: _db, path: _path, ...perNode } = node;
  return {
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(retryStrategy === undefined ? {} : { clusterRetryStrategy: retryStrategy }),
    redisOptions: { ...base, ...perNode },
  };
}

function nodeOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 6379 };
}

function credentialsOf(url: string): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const u = new URL(url);
  return {
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

/**
 * The `connection` BullMQ's Queue, QueueEvents and Worker are given: one client (made on first use,
 * `maxRetriesPerRequest: null` as BullMQ requires of anything it blocks on), for one server or a
 * Cluster. BullMQ shares it as the command connection of every Queue and Worker (it never closes a shared client)
 * and duplicates it for each blocking one (a Worker's BZPOPMIN, a QueueEvents' XREAD), which it closes itself;
 * close() ends the shared one, once the BullMQ objects using it are closed.
 */
export class BullConnection {
  private shared: RedisClient | null = null;

  constructor(private readonly target: RedisTarget) {}

  /**
   * For Queues and QueueEvents: one shared client, so a Queue per host costs no connection of its own (a bot with
   * 1,000 host queues holds one connection for them all).
   */
  get options(): ConnectionOptions {
    return this.client;
  }

  /**
   * The shared client itself, connecting from the start. Not lazily: BullMQ connects a client it finds unconnected
   * (and each duplicate it makes of it) with `connect()`, which fails for good on the first refused attempt — a Queue
   * or Worker made while Redis is down then never works, Redis back or not (a bot started before its Redis answered
   * said "Redis is unreachable" to every command from then on). One already connecting is waited for until ready.
   */
  get client(): RedisClient {
    this.shared ??= createRedisClient(this.target, { maxRetriesPerRequest: null });
    return this.shared;
  }

  /** For Workers. */
  get forWorkers(): ConnectionOptions {
    return workerConnection(this.options);
  }

  /** Ends the shared Cluster connection (nothing to do for one server: BullMQ closed its own). */
  close(): void {
    this.shared?.disconnect();
    this.shared = null;
  }
}

/** A Worker's connection from a Queue's: BullMQ wants `maxRetriesPerRequest: null` (a client instance has it already). */
export function workerConnection(connection: ConnectionOptions): ConnectionOptions {
  if (connection instanceof Redis || connection instanceof Cluster) return connection;
  return { ...connection, maxRetriesPerRequest: null };
}
