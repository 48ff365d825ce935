import { describe, expect, it } from 'vitest';
import { ensureRedis, freePort, RedisUnavailableError, redisAnswers } from './ensure-redis.ts';

describe('ensureRedis', () => {
  it('reports a REDIS_URL that does not answer, without its password, instead of starting another Redis', async () => {
    const port = await freePort();
    const err = await ensureRedis({ REDIS_URL: `redis://user:hunter2@127.0.0.1:${port}` }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(String(err)).toContain('does not answer');
    expect(String(err)).not.toContain('hunter2');
  });

  it('uses the default Redis when it answers', async () => {
    const url = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';
    const handle = await ensureRedis({}, { defaultUrl: url });
    expect(handle).toMatchObject({ url, private: false });
  });

  it('starts a private redis-server on a free port when nothing answers, and stops it', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const handle = await ensureRedis({}, { defaultUrl: closed });
    expect(handle.private).toBe(true);
    expect(handle.url).not.toBe(closed);
    expect(await redisAnswers(handle.url)).toBe(true);
    await handle.stop();
    expect(await redisAnswers(handle.url, 300)).toBe(false);
  });

  it('says how to get Redis when there is no redis-server to start', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}`;
    const err = await ensureRedis({}, { defaultUrl: closed, redisServer: '/nonexistent/redis-server' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(String(err)).toMatch(/apt-get install redis-server/);
    expect(String(err)).toMatch(/docker compose up -d redis/);
  });
});
