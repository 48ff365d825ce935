import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type PrivateRedis, startPrivateRedis } from '../../test/helpers/redis-server.ts';
import { createLogger } from '../core/log.ts';
import { createRedisClient } from './redis-connection.ts';
import { RedisWaitAborted, readyWithin, waitForRedis } from './redis-ready.ts';

describe('readyWithin', () => {
  let redis: PrivateRedis | null = null;
  const clients: Redis[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    await redis?.stop();
    redis = null;
  });
  const client = (url: string, options: { lazyConnect?: boolean } = {}) => {
    const c = new Redis(url, { ...options, maxRetriesPerRequest: null });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  it('true for a connected client; false at once for one not trying to connect', async () => {
    redis = await startPrivateRedis();
    const up = client(redis.url);
    await new Promise((resolve) => up.once('ready', resolve));
    expect(await readyWithin(up, 60_000)).toBe(true);
    // A wait of a minute would time the test out: it does not wait.
    expect(await readyWithin(client(redis.url, { lazyConnect: true }), 60_000)).toBe(false);
  });

  it('waits for a client reconnecting after an outage: true once Redis is back, false when the time runs out', async () => {
    redis = await startPrivateRedis();
    const c = client(redis.url);
    await new Promise((resolve) => c.once('ready', resolve));
    const lost = new Promise((resolve) => c.once('reconnecting', resolve));
    await redis.kill('SIGKILL');
    await lost;
    expect(await readyWithin(c, 200)).toBe(false);
    // A burst of requests as Redis comes back: one listener between them (11 would have Node warn, raw, on stderr).
    const back = Array.from({ length: 20 }, () => readyWithin(c, 60_000));
    expect(c.listenerCount('ready')).toBe(1);
    await redis.restart();
    expect(await Promise.all(back)).toEqual(Array(20).fill(true));
    expect(c.listenerCount('ready')).toBe(0);
  });
});

describe('waitForRedis', () => {
  it('logs where it waits without the password, also one in the URL query (ioredis reads it there)', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    // Port 1: nothing listens; the password is the one ioredis would send with AUTH.
    const url = 'redis://127.0.0.1:1/0?password=Qu3ryS3cretPw';
    const redis = createRedisClient(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    expect((redis.options as { password?: string }).password).toBe('Qu3ryS3cretPw');
    const abort = new AbortController();
    const waiting = waitForRedis(redis, url, createLogger('info', sink), { signal: abort.signal });
    redis.connect().catch(() => {});
    await expect.poll(() => lines.length, { timeout: 5_000 }).toBeGreaterThan(0);
    abort.abort();
    await expect(waiting).rejects.toBeInstanceOf(RedisWaitAborted);
    redis.disconnect();
    expect(lines.join('')).toContain('waiting for Redis at redis://127.0.0.1:1/0?password=[redacted]');
    expect(lines.join('')).not.toContain('Qu3ryS3cretPw');
  });
});
