import { Cluster, type Redis } from 'ioredis';
import { createRedisClient, type RedisTarget } from '../queue/redis-connection.ts';

/**
 * Deletes every key under a prefix (a demo run's or a test run's), with SCAN so a big Redis is not blocked. On a
 * Cluster every master is scanned (the prefix's keys are all on the one that owns its hash slot).
 */
export async function deleteKeysWithPrefix(target: RedisTarget, prefix: string): Promise<void> {
  const client = createRedisClient(target, { maxRetriesPerRequest: 1 });
  try {
    const servers: Redis[] = client instanceof Cluster ? await masters(client) : [client];
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await server.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    client.disconnect();
  }
}

async function masters(cluster: Cluster): Promise<Redis[]> {
  if (cluster.status !== 'ready') {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the Redis Cluster was not ready within 10 s')), 10_000);
      cluster.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  return cluster.nodes('master');
}
