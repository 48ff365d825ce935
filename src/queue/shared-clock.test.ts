import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { freePort } from '../../test/helpers/redis-server.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { readingOf, SharedClock } from './shared-clock.ts';

const prefix = uniquePrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(() => {
  redis.disconnect();
});

async function redisMs(): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

/**
 * A client through a proxy the test can partition, and a count of the clock readings sent through it (the TIME script
 * is the only script these tests send). `close` is for the test's finally.
 */
async function proxiedClient(options: RedisOptions) {
  const proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  const client = new Redis(proxy.url, options);
  client.on('error', () => {});
  const readings = proxy.countSent(/evalsha|\beval\b/i);
  const close = async () => {
    client.disconnect();
    await proxy.stop();
  };
  return { proxy, client, readings, close };
}

/** now() between two readings of Redis's TIME taken around it, give or take the clock's precision. */
async function expectRedisTime(clock: SharedClock): Promise<void> {
  const before = await redisMs();
  const now = clock.now();
  const after = await redisMs();
  const precision = clock.precisionMs ?? Number.NaN;
  expect(now).toBeGreaterThanOrEqual(before - precision - 1);
  expect(now).toBeLessThanOrEqual(after + precision + 1);
}

describe('readingOf', () => {
  it("places Redis's TIME in the middle of the round trip", () => {
    expect(readingOf(['1796540000', '123456'], 100, 104)).toEqual({ sharedMs: 1_796_540_000_123, monoMs: 102, rttMs: 4 });
  });
  it('refuses a reply that is not a time', () => {
    expect(() => readingOf(['x', '1'], 0, 1)).toThrow(/Redis TIME gave/);
  });
});

describe('SharedClock against Redis', () => {
  it("tells Redis's time on a machine whose wall clock is 30 s behind, and converts to and from that clock", async () => {
    const wallNow = () => Date.now() - 30_000;
    const clock = new SharedClock(redis, `${prefix}:clock`, { wallNow });
    // Before its first reading the local clock is all it has.
    expect(Math.abs(clock.now() - wallNow())).toBeLessThan(50);
    await clock.start();
    try {
      expect(Number.isInteger(clock.now())).toBe(true);
      expect(clock.precisionMs).toBeGreaterThanOrEqual(0);
      await expectRedisTime(clock);
      const shared = clock.now();
      expect(Math.abs(clock.toLocal(shared) - (shared - 30_000))).toBeLessThan(50);
      expect(Math.abs(clock.fromLocal(wallNow()) - clock.now())).toBeLessThan(50);
    } finally {
      clock.stop();
    }
  });

  it('runs on the monotonic clock between readings: a wall clock stepped meanwhile changes nothing', async () => {
    let mono = 1_000.25;
    let wallShift = 0;
    const clock = new SharedClock(redis, `${prefix}:clock`, { monoNow: () => mono, wallNow: () => Date.now() + wallShift });
    await clock.read();
    const t0 = clock.now();
    mono += 5_000;
    wallShift = -3_600_000; // NTP steps the machine's clock back an hour
    expect(clock.now()).toBe(t0 + 5_000);
  });

  it('keeps an exact reading over a later slow one, until that is 5 min old', async () => {
    // Each reading takes the next pair of monotonic times (sent, answered); the wall clock runs with the monotonic one.
    const times = [0, 1, 100, 150, 400_000, 400_050];
    let mono = 0;
    const clock = new SharedClock(redis, `${prefix}:clock`, {
      monoNow: () => {
        mono = times.shift() ?? mono;
        return mono;
      },
      wallNow: () => 1_000_000 + mono,
    });
    await clock.read();
    expect(clock.precisionMs).toBe(0.5);
    await clock.read(); // a 50 ms round trip, 100 ms later: the exact one stays
    expect(clock.precisionMs).toBe(0.5);
    await clock.read(); // the same, 400 s after the exact one: taken
    expect(clock.precisionMs).toBe(25);
  });

  it('takes a slower reading at once after a wall-clock jump (the one in use no longer fits this machine)', async () => {
    const times = [0, 1, 100, 150];
    let mono = 0;
    let wall = 1_000_000;
    const clock = new SharedClock(redis, `${prefix}:clock`, {
      monoNow: () => {
        mono = times.shift() ?? mono;
        return mono;
      },
      wallNow: () => wall + mono,
    });
    await clock.read();
    wall += 60_000;
    await clock.read();
    expect(clock.precisionMs).toBe(25);
  });

  it('reads again at once when the wall clock jumps against the monotonic one (a machine that slept), once', async () => {
    const { client, readings, close } = await proxiedClient({ maxRetriesPerRequest: 1 });
    // Neither clock moves by itself here: only what the test does to them.
    let wall = 1_000_000_000_000;
    const clock = new SharedClock(client, `${prefix}:clock`, { monoNow: () => 5_000, wallNow: () => wall });
    try {
      await clock.start();
      const atStart = readings();
      const t0 = clock.now();
      expect(clock.now()).toBe(t0);
      expect(readings()).toBe(atStart);
      wall += 60_000; // suspended for a minute: the monotonic clock stood still
      // Answered from the reading in use, and one new reading sent for, however often it is asked meanwhile.
      for (let i = 0; i < 10; i++) expect(clock.now()).toBe(t0);
      await expect.poll(readings).toBe(atStart + 1);
      // The new reading fits the wall clock again: no more readings for the same jump.
      for (let i = 0; i < 10; i++) clock.now();
      await new Promise((r) => setTimeout(r, 50));
      expect(readings()).toBe(atStart + 1);
    } finally {
      clock.stop();
      await close();
    }
  });

  it('goes on from its last reading while Redis does not answer, says so once per outage, and when it can read again', async () => {
    // No timeout of the client's own: a silent connection would hold a reading for ever but for the clock's.
    const { proxy, client, readings, close } = await proxiedClient({ maxRetriesPerRequest: 0 });
    const said: string[] = [];
    const clock = new SharedClock(client, `${prefix}:clock`, {
      everyMs: 50,
      readTimeoutMs: 300,
      onError: (e) => said.push(`error: ${String(e)}`),
      onRecovered: () => said.push('recovered'),
    });
    try {
      await clock.start();
      proxy.partition();
      await expect.poll(() => said, { timeout: 5_000 }).toEqual(['error: Error: Redis did not answer TIME within 300 ms']);
      // Still Redis's time, from the last reading (off by at most half its round trip).
      await expectRedisTime(clock);
      // It keeps trying (every second while failing) without saying it again: one try sent after another has failed.
      const failed = readings();
      await expect.poll(readings, { timeout: 5_000 }).toBeGreaterThanOrEqual(failed + 2);
      expect(said).toHaveLength(1);
      proxy.heal();
      await expect.poll(() => said, { timeout: 5_000 }).toEqual(['error: Error: Redis did not answer TIME within 300 ms', 'recovered']);
      await expectRedisTime(clock);
    } finally {
      clock.stop();
      await close();
    }
  });

  it('before any reading, with Redis away, the local clock stands in and start() still resolves', async () => {
    const port = await freePort();
    const gone = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    gone.on('error', () => {});
    const errors: unknown[] = [];
    const clock = new SharedClock(gone, `${prefix}:clock`, { onError: (e) => errors.push(e), wallNow: () => 0 });
    try {
      await clock.start();
      expect(errors).toHaveLength(1);
      expect(clock.now()).toBe(0);
      await expect(clock.read()).rejects.toThrow();
    } finally {
      clock.stop();
      gone.disconnect();
    }
  });
});
