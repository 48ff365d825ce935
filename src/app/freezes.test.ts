import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import { FreezeBook } from './freezes.ts';

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});
const config = Config.parse({
  hosts: Object.fromEntries(
    ['xen1', 'xen2', 'xen3'].map((h) => [h, { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` }]),
  ),
});
const audit = { requestId: 'r', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'c', command: 'evacuate' };

describe("a plan's freeze (FreezeBook.hold)", () => {
  it('keeps a freeze in force, replaces one that has ended, and sets one where none is', async () => {
    const book = new FreezeBook(redis, prefix, config, async () => {});
    const key = `${prefix}:freezes`;
    await redis.hset(
      key,
      'xen1',
      JSON.stringify({ by: 'bob', reason: 'kernel upgrade', since: Date.now(), until: Date.now() + 3_600_000 }),
    );
    await redis.hset(key, 'xen2', JSON.stringify({ by: 'carol', reason: 'old', since: 0, until: Date.now() - 1_000 }));
    expect(await book.hold(['xen1', 'xen2', 'xen3'], 'alice', 'evacuated', audit)).toEqual(['xen1']);
    const now = Object.fromEntries(Object.entries(await redis.hgetall(key)).map(([h, v]) => [h, (JSON.parse(v) as { by: string }).by]));
    expect(now).toEqual({ xen1: 'bob', xen2: 'alice', xen3: 'alice' });
  });
});
