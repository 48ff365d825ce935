import { Redis } from 'ioredis';
import { afterAll, beforeEach } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';

/**
 * A Redis client and a key prefix of the test file's own, for stores tested straight on Redis: every key under the
 * prefix is deleted before each test, so none sees another's, and after the last, when the client disconnects.
 * Call it at the top of a test file.
 */
export function redisPrefix(): { redis: Redis; prefix: string } {
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  afterAll(async () => {
    await deleteKeysWithPrefix(REDIS_URL, prefix);
    redis.disconnect();
  });
  beforeEach(async () => {
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });
  return { redis, prefix };
}
