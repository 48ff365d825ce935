import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { redisAnswers } from '../../src/app/ensure-redis.ts';
import { createRedisClient, REDIS_COMMAND_TIMEOUT_MS, type RedisClient } from '../../src/queue/redis-connection.ts';
import { uniquePrefix } from './redis.ts';

/**
 * A private Redis Cluster of three masters (no replicas) on loopback, each a `redis-server --cluster-enabled yes` in
 * a temporary directory of its own, formed the way redis-cli would do it but through plain commands (redis-cli may be
 * missing): every node takes a third of the 16384 slots (CLUSTER ADDSLOTSRANGE, or ADDSLOTS on Redis 6), the first
 * node MEETs the other two, and the cluster is ready once every node says cluster_state:ok and knows all three.
 *
 * stop() ends the servers and deletes their directories. Servers a failed test left behind end with this process: an
 * exit hook stops them, and each server's watchdog ends it when this process is gone even without one (SIGKILL).
 */
export interface RedisClusterHandle {
  /** One seed URL per master, in slot order (the first owns slots 0–5460). */
  urls: string[];
  ports: number[];
  /** A plain (non-cluster) connection to each master, for inspecting where keys live. */
  node(index: number): Redis;
  /** The index of the master that owns the slot `key` hashes to (by CLUSTER KEYSLOT and CLUSTER SLOTS). */
  ownerOf(key: string): Promise<{ index: number; slot: number }>;
  stop(): Promise<void>;
}

const SLOTS = 16384;
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGTERM');
  });
}

/** Whether a TCP port can be bound on 127.0.0.1 right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A client port whose cluster bus port (client port + 10000, the default on every Redis version) is free too, below
 * the usual ephemeral range so nothing else grabs either meanwhile.
 */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await bindable(port)) && (await bindable(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free pair of ports (client, client + 10000) for a Redis Cluster node');
}

interface Node {
  port: number;
  dir: string;
  /** The watchdog shell (see WATCHDOG); redis-server is its child. */
  child: ChildProcess;
  exited: Promise<void>;
  client: Redis;
}

/**
 * Runs redis-server ("$@") and ends it when this test process is gone, however it went (a worker killed by SIGTERM or
 * SIGKILL runs no exit hook): it polls the parent's pid, and then deletes the node's directory ($NODE_DIR) too.
 * SIGTERM to the shell ends redis-server.
 */
const WATCHDOG = `
redis-server "$@" &
r=$!
trap 'kill -TERM $r 2>/dev/null' TERM INT
while kill -0 $r 2>/dev/null; do
  if ! kill -0 ${process.pid} 2>/dev/null; then kill -KILL $r 2>/dev/null; wait $r; rm -rf "$NODE_DIR"; exit 0; fi
  sleep 0.3
done
wait $r
`;

async function startNode(port: number): Promise<Node> {
  const dir = mkdtempSync(join(tmpdir(), 'xenops-redis-cluster-'));
  const child = spawn(
    'sh',
    [
      '-c',
      WATCHDOG,
      'redis-cluster-node',
      ...['--bind', '127.0.0.1', '--port', String(port), '--dir', dir, '--logfile', join(dir, 'redis.log')],
      ...['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
      ...['--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'],
    ],
    { stdio: 'ignore', env: { ...process.env, NODE_DIR: dir } },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      running.delete(child);
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (await redisAnswers(url, 200)) break;
    if (!running.has(child)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const client = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  client.on('error', () => {});
  const node: Node = { port, dir, child, exited, client };
  try {
    await client.connect();
  } catch (error) {
    const log = logTail(dir);
    await stopNode(node);
    throw new Error(`redis-server --cluster-enabled did not start on ${url}: ${String(error)}${log ? `; its log ends:\n${log}` : ''}`);
  }
  return node;
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

async function stopNode(node: Node): Promise<void> {
  node.client.disconnect();
  if (running.has(node.child)) {
    node.child.kill('SIGTERM');
    const killer = setTimeout(() => node.child.kill('SIGKILL'), 3_000);
    await node.exited;
    clearTimeout(killer);
  }
  rmSync(node.dir, { recursive: true, force: true });
}

async function addSlots(client: Redis, from: number, to: number): Promise<void> {
  try {
    await client.call('CLUSTER', 'ADDSLOTSRANGE', String(from), String(to));
  } catch (error) {
    // Redis 6 has no ADDSLOTSRANGE: every slot by name.
    if (!/unknown subcommand|syntax|wrong number/i.test(String(error))) throw error;
    const slots: string[] = [];
    for (let s = from; s <= to; s++) slots.push(String(s));
    await client.call('CLUSTER', 'ADDSLOTS', ...slots);
  }
}

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

export async function startRedisCluster(options: { masters?: number; readyTimeoutMs?: number } = {}): Promise<RedisClusterHandle> {
  const count = options.masters ?? 3;
  killOnExit();
  const nodes: Node[] = [];
  const stop = async () => {
    await Promise.all(nodes.splice(0).map((n) => stopNode(n)));
  };
  try {
    const taken = new Set<number>();
    // A port taken between the check and the server's bind (other suites run alongside) is retried on other ports.
    for (let attempt = 1; ; attempt++) {
      const ports: number[] = [];
      for (let i = 0; i < count; i++) ports.push(await clusterPort(taken));
      // Every start is awaited (a node still starting when another failed must be stopped too).
      const started = await Promise.allSettled(ports.map((p) => startNode(p)));
      for (const r of started) if (r.status === 'fulfilled') nodes.push(r.value);
      const failed = started.find((r) => r.status === 'rejected');
      if (!failed) break;
      await stop();
      if (attempt === 3) throw failed.reason;
    }

    // Distinct config epochs from the start: no epoch collision to resolve before the cluster settles.
    await Promise.all(nodes.map((n, i) => n.client.call('CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1))));
    const per = Math.ceil(SLOTS / count);
    await Promise.all(nodes.map((n, i) => addSlots(n.client, i * per, Math.min(SLOTS, (i + 1) * per) - 1)));
    const [first, ...others] = nodes as [Node, ...Node[]];
    for (const n of others) await first.client.call('CLUSTER', 'MEET', '127.0.0.1', String(n.port));

    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
    for (;;) {
      const infos = await Promise.all(nodes.map((n) => n.client.call('CLUSTER', 'INFO') as Promise<string>));
      const ok = infos.every(
        (i) =>
          infoField(i, 'cluster_state') === 'ok' &&
          infoField(i, 'cluster_known_nodes') === String(count) &&
          infoField(i, 'cluster_slots_ok') === String(SLOTS),
      );
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`the Redis Cluster did not form: ${infos.map((i) => infoField(i, 'cluster_state')).join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const urls = nodes.map((n) => `redis://127.0.0.1:${n.port}`);
    return {
      urls,
      ports: nodes.map((n) => n.port),
      node: (index) => {
        const n = nodes[index];
        if (!n) throw new Error(`no node ${index}`);
        return n.client;
      },
      async ownerOf(key) {
        const slot = Number(await first.client.call('CLUSTER', 'KEYSLOT', key));
        const ranges = (await first.client.call('CLUSTER', 'SLOTS')) as [number, number, [string, number, ...unknown[]], ...unknown[]][];
        const range = ranges.find(([from, to]) => slot >= from && slot <= to);
        const index = range ? nodes.findIndex((n) => n.port === range[2][1]) : -1;
        if (index < 0) throw new Error(`no master owns slot ${slot}`);
        return { index, slot };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface ClusterWithBotClient {
  readonly cluster: RedisClusterHandle;
  /** A prefix of its own whose slot is on a master other than the seed (urls[0]): its commands must be redirected. */
  readonly prefix: string;
  /**
   * A cluster client on the seed made as createBot makes the bot's (no offline queue, lazy, a command timeout), or with
   * the options given instead.
   */
  readonly redis: RedisClient;
}

/**
 * A three-master cluster (startRedisCluster), a prefix off the seed's slots and a bot-like client on it: started before
 * the file's tests, stopped after them. Call at the top of the file and read its fields inside the tests.
 *
 * `redis`: the client's options in place of the bot's own, e.g. `{ maxRetriesPerRequest: null }` as BullConnection makes
 * the bot's shared BullMQ client (not lazy: it is not waited for here).
 */
export function clusterWithBotClient(options: { redis?: RedisOptions } = {}): ClusterWithBotClient {
  let cluster: RedisClusterHandle | undefined;
  let prefix: string | undefined;
  let redis: RedisClient | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    let p = uniquePrefix();
    while ((await cluster.ownerOf(p)).index === 0) p = uniquePrefix();
    prefix = p;
    // As createBot makes the bot's client, unless the file says otherwise.
    redis = createRedisClient(
      { url: cluster.urls[0] as string, cluster: true },
      options.redis ?? { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, commandTimeout: REDIS_COMMAND_TIMEOUT_MS },
    );
    if (redis.status === 'wait') await redis.connect();
  }, 60_000);
  afterAll(async () => {
    redis?.disconnect();
    await cluster?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('clusterWithBotClient: not started (call it at the top of the file)');
    return value;
  };
  return {
    get cluster() {
      return started(cluster);
    },
    get prefix() {
      return started(prefix);
    },
    get redis() {
      return started(redis);
    },
  };
}
