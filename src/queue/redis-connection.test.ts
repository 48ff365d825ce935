import { createServer } from 'node:net';
import { Cluster, Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { REDIS_URL } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import {
  BullConnection,
  connectForOneRun,
  createRedisClient,
  describeRedis,
  duplicateRedisClient,
  isClusterTarget,
  redisUrls,
  workerConnection,
} from './redis-connection.ts';

const CLUSTER = { url: 'rediss://app:s%40cret@10.0.0.1:7000', cluster: true, nodes: ['redis://10.0.0.2:7001'] };

describe('Redis targets', () => {
  it('a URL or a section without cluster: true is one server; the seeds of a cluster are url, then nodes', () => {
    expect(isClusterTarget('redis://h:1')).toBe(false);
    expect(isClusterTarget({ url: 'redis://h:1', cluster: false })).toBe(false);
    expect(isClusterTarget(CLUSTER)).toBe(true);
    expect(redisUrls({ url: 'redis://h:1', cluster: false, nodes: [] })).toEqual(['redis://h:1']);
    expect(redisUrls(CLUSTER)).toEqual([CLUSTER.url, 'redis://10.0.0.2:7001']);
    expect(describeRedis('redis://h:1')).toBe('redis://h:1');
    expect(describeRedis(CLUSTER)).toBe(`the Redis Cluster at ${CLUSTER.url}, redis://10.0.0.2:7001`);
  });

  it('the config: cluster is off by default, and seed nodes need it', () => {
    const hosts = { xen1: { address: 'x', privateKeyPath: '/k', hostKey: `SHA256:${'A'.repeat(43)}` } };
    expect(Config.parse({ hosts }).redis).toEqual({ url: 'redis://127.0.0.1:6379', prefix: '{xenops}', cluster: false, nodes: [] });
    const bad = Config.safeParse({ hosts, redis: { nodes: ['redis://10.0.0.2:6379'] } });
    expect(bad.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['redis.nodes', 'seed nodes are for a Redis Cluster: set cluster: true'],
    ]);
  });
});

describe('createRedisClient', () => {
  it('one server: new Redis(url, options), exactly', () => {
    const c = createRedisClient('redis://127.0.0.1:1/3', { lazyConnect: true, maxRetriesPerRequest: 1 });
    expect(c).toBeInstanceOf(Redis);
    expect((c as Redis).options).toMatchObject({ host: '127.0.0.1', port: 1, db: 3, lazyConnect: true, maxRetriesPerRequest: 1 });
    c.disconnect();
  });

  it('every client made or duplicated here has an error listener (without one, ioredis prints each failed attempt raw)', () => {
    // The raw lines themselves are asserted absent on the real processes' stderr (test/faults/crashes.test.ts).
    const c = createRedisClient('redis://127.0.0.1:1', { lazyConnect: true });
    const dup = duplicateRedisClient(c, { lazyConnect: true });
    const cluster = createRedisClient(CLUSTER, { lazyConnect: true });
    const clients = [c, dup, cluster, duplicateRedisClient(cluster, { lazyConnect: true })];
    expect(clients.map((x) => x.listenerCount('error'))).toEqual([1, 1, 1, 1]);
    for (const x of clients) x.disconnect();
  });

  it('a cluster: the seeds, cluster-level options for the cluster, the rest (and the seed URL’s credentials, TLS) per node', () => {
    const retry = () => null;
    const c = createRedisClient(CLUSTER, { lazyConnect: true, enableOfflineQueue: false, retryStrategy: retry, maxRetriesPerRequest: 1 });
    expect(c).toBeInstanceOf(Cluster);
    const cluster = c as Cluster;
    expect(cluster.options).toMatchObject({ lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: retry });
    expect(cluster.options.redisOptions).toEqual({ username: 'app', password: 's@cret', tls: {}, maxRetriesPerRequest: 1 });
    expect(cluster.status).toBe('wait');

    const dup = duplicateRedisClient(cluster, { lazyConnect: true, maxRetriesPerRequest: 2 }) as Cluster;
    expect(dup).toBeInstanceOf(Cluster);
    expect(dup.options.redisOptions).toEqual({ username: 'app', password: 's@cret', tls: {}, maxRetriesPerRequest: 2 });
    dup.disconnect();
    cluster.disconnect();
  });
});

describe('connectForOneRun', () => {
  it('gives a connected client, answering at once', async () => {
    const redis = await connectForOneRun(REDIS_URL);
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('a Redis that is not there fails at once with the reason (not ioredis\u2019s "Connection is closed")', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    await expect(connectForOneRun(`redis://127.0.0.1:${port}`)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('BullConnection', () => {
  it('one server: one client shared by every Queue and Worker, connecting at once (BullMQ gives up for good on a lazy one that is refused), maxRetriesPerRequest null', async () => {
    const bull = new BullConnection('redis://h:1');
    const shared = bull.options;
    expect(shared).toBeInstanceOf(Redis);
    expect(bull.options).toBe(shared);
    expect(bull.forWorkers).toBe(shared);
    expect((shared as Redis).status).toBe('connecting');
    expect((shared as Redis).listenerCount('error')).toBe(1);
    expect((shared as Redis).options.maxRetriesPerRequest).toBeNull();
    expect(workerConnection({ url: 'redis://h:1' })).toEqual({ url: 'redis://h:1', maxRetriesPerRequest: null });
    const ended = new Promise((resolve) => (shared as Redis).once('end', resolve));
    bull.close();
    await ended;
    expect((shared as Redis).status).toBe('end');
  });

  it('a cluster: one Cluster for all of them, connecting at once, with maxRetriesPerRequest null on its nodes', () => {
    const bull = new BullConnection(CLUSTER);
    const shared = bull.options;
    expect(shared).toBeInstanceOf(Cluster);
    expect(bull.options).toBe(shared);
    expect(bull.forWorkers).toBe(shared);
    expect((shared as Cluster).status).toBe('connecting');
    expect((shared as Cluster).listenerCount('error')).toBe(1);
    expect((shared as Cluster).options.redisOptions?.maxRetriesPerRequest).toBeNull();
    bull.close();
    // Its seeds do not resolve: it ends once its connecting gives up; the close has begun.
    expect(['disconnecting', 'end']).toContain((shared as Cluster).status);
  });
});
