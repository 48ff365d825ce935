import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, monitorRedis, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { RedisScript } from './redis-script.ts';

const prefix = uniquePrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

describe('RedisScript', () => {
  it('runs by SHA-1, sending the script itself only when Redis does not know it (first use, SCRIPT FLUSH)', async () => {
    // A script of its own (a unique comment), so no other test has loaded it.
    const script = new RedisScript(`-- ${prefix}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);
    const key = `${prefix}:n`;
    const monitor = await monitorRedis();
    try {
      expect(await script.run(redis, [key], [2])).toBe(2);
      expect(await script.run(redis, [key], [3])).toBe(5);
      await redis.script('FLUSH');
      expect(await script.run(redis, [key], [4])).toBe(9);
      await monitor.settle();
    } finally {
      monitor.stop();
    }
    const calls = monitor.calls
      .filter((c) => c.source !== 'lua' && /^eval/i.test(c.args[0] ?? '') && c.args.includes(key))
      .map((c) => c.args[0]?.toLowerCase());
    expect(calls).toEqual(['evalsha', 'eval', 'evalsha', 'evalsha', 'eval']);
  });
});
