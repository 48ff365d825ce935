import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import type { HistoryPoint, HostSample } from '../core/samples.ts';
import { SampleStore } from './samples.ts';

const prefix = uniquePrefix();
let redis: Redis;
let store: SampleStore;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  store = new SampleStore(redis, prefix);
});
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

const sample = (host: string, at: number): HostSample => ({
  host,
  at,
  intervalSeconds: 5,
  domains: [
    {
      name: 'web',
      state: '--b---',
      cpuPercent: 3.5,
      cpuSeconds: 12,
      memoryKiB: 2048,
      maxMemoryKiB: null,
      vcpus: 2,
      netTxKiBps: 1.5,
      netRxKiBps: null,
      vbdRdPerSec: 0,
      vbdWrPerSec: 2,
    },
  ],
});
const point = (at: number): HistoryPoint => ({
  at,
  domains: {
    web: { cpuAvg: at, cpuMax: at, memoryKiB: 1, cpuSeconds: 2, netTxKiBps: null, netRxKiBps: 1, vbdRdPerSec: null, vbdWrPerSec: 0 },
  },
});

describe('SampleStore (Redis)', () => {
  it('keeps the latest sample per host, with its TTL, and reads several hosts in one MGET', async () => {
    await store.putLatest(sample('xen1', 1000), 15_000);
    await store.putLatest(sample('xen1', 2000), 15_000);
    await store.putLatest(sample('xen2', 1500), 15_000);
    const ttl = await redis.pttl(store.latestKey('xen1'));
    expect(ttl).toBeGreaterThan(10_000);
    expect(ttl).toBeLessThanOrEqual(15_000);
    const monitor = await redis.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args.some((a) => a.startsWith(prefix))) seen.push(String(args[0]).toLowerCase());
    });
    const got = await store.latest(['xen1', 'xen2', 'xen3']);
    // MONITOR's stream may trail the answer: read it up to a mark sent after.
    await redis.echo(`${prefix}:mark`);
    await expect.poll(() => seen.includes('echo'), { timeout: 5_000 }).toBe(true);
    monitor.disconnect();
    expect(got).toEqual({ xen1: sample('xen1', 2000), xen2: sample('xen2', 1500), xen3: null });
    expect(seen).toEqual(['mget', 'echo']);
  });

  it('lets the latest sample expire', async () => {
    await store.putLatest(sample('gone', 1), 30);
    await expect.poll(async () => (await store.latest(['gone']))['gone'], { timeout: 2000, interval: 20 }).toBeNull();
  });

  it('treats a value that does not parse as absent', async () => {
    await redis.set(store.latestKey('bad'), '{nope');
    expect(await store.latest(['bad'])).toEqual({ bad: null });
  });

  it('appends history, trims to maxLen, and reads it oldest first from a time on', async () => {
    for (let at = 1; at <= 6; at++) await store.pushHistory('xen1', point(at * 1000), 4);
    expect(await redis.llen(store.historyKey('xen1'))).toBe(4);
    expect((await store.history('xen1', 0)).map((p) => p.at)).toEqual([3000, 4000, 5000, 6000]);
    expect((await store.history('xen1', 4500)).map((p) => p.at)).toEqual([5000, 6000]);
    expect(await store.history('nohost', 0)).toEqual([]);
    expect((await store.history('xen1', 6000))[0]).toEqual(point(6000));
  });

  it('reads several histories pipelined', async () => {
    await store.pushHistory('xen2', point(7000), 10);
    await redis.rpush(store.historyKey('xen2'), 'not json');
    const got = await store.histories(['xen1', 'xen2', 'xen9'], 5500);
    expect(got).toEqual({ xen1: [point(6000)], xen2: [point(7000)], xen9: [] });
  });

  it('keeps every key under the hash-tagged prefix', async () => {
    const keys = await redis.keys(`*${prefix.slice(1, -1)}*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.every((k) => k.startsWith(`${prefix}:`))).toBe(true);
  });
});
