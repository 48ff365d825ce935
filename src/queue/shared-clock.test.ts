import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { freePort } from '../../test/helpers/redis-server.ts';
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
      const before = await redisMs();
      const now = clock.now();
      expect(Number.isInteger(now)).toBe(true);
      const after = await redisMs();
      // Off by at most half the round trip of its reading (and TIME's ms here are whole).
      const precision = clock.precisionMs ?? Number.NaN;
      expect(precision).toBeGreaterThanOrEqual(0);
      expect(now).toBeGreaterThanOrEqual(before - precision - 1);
      expect(now).toBeLessThanOrEqual(after + precision + 1);
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

  it('reads again at once when the wall clock jumps against the monotonic one (the machine slept, or was stepped)', async () => {
    const mono = 5_000; // a suspended machine's monotonic clock stands still
    let wallShift = 0;
    const clock = new SharedClock(redis, `${prefix}:clock`, { monoNow: () => mono, wallNow: () => Date.now() + wallShift });
    await clock.start();
    try {
      const t0 = clock.now();
      await new Promise((r) => setTimeout(r, 30));
      // Without a jump, nothing is read before everyMs: the frozen monotonic clock keeps it where it was.
      expect(clock.now()).toBe(t0);
      wallShift = 60_000;
      await expect.poll(() => clock.now(), { timeout: 2_000 }).toBeGreaterThanOrEqual(t0 + 25);
    } finally {
      clock.stop();
    }
  });

  it('keeps its last reading while Redis does not answer, and says so once for a run of failures', async () => {
    const clock = new SharedClock(redis, `${prefix}:clock`);
    await clock.read();
    const port = await freePort();
    const gone = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    gone.on('error', () => {});
    const errors: unknown[] = [];
    const unreachable = new SharedClock(gone, `${prefix}:clock`, { onError: (e) => errors.push(e), wallNow: () => 0 });
    try {
      // start() resolves though the reading failed; the local clock (here: 0) stands in.
      await unreachable.start();
      expect(errors).toHaveLength(1);
      expect(unreachable.now()).toBe(0);
      await expect(unreachable.read()).rejects.toThrow();
      // The working clock is untouched by another's failure, and still Redis's.
      expect(Math.abs(clock.now() - (await redisMs()))).toBeLessThan(50);
    } finally {
      unreachable.stop();
      gone.disconnect();
    }
  });
});
