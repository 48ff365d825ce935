import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { type FleetEvent, FleetEventLog } from './fleet-events.ts';

const prefix = uniquePrefix();
let redis: Redis;
let reader: Redis;
let log: FleetEventLog;
let readLog: FleetEventLog;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  reader = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  log = new FleetEventLog(redis, prefix);
  readLog = new FleetEventLog(reader, prefix);
});
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
  reader.disconnect();
});

const started = (domain: string, at = Date.now()): FleetEvent => ({
  kind: 'domain.started',
  host: 'xen1',
  domain,
  uuid: null,
  byXenops: false,
  at,
});

describe('FleetEventLog (Redis)', () => {
  it('appends events and reads them through a group, blocking until one arrives', async () => {
    await readLog.ensureGroup('bots');
    await readLog.ensureGroup('bots'); // BUSYGROUP is fine
    expect(await readLog.read('bots', 'b1', { count: 10 })).toEqual([]);
    const waiting = readLog.read('bots', 'b1', { count: 10, blockMs: 5000 });
    const migrated: FleetEvent = { kind: 'domain.migrated', host: 'xen2', from: 'xen1', domain: 'web', uuid: 'u-1', byXenops: true, at: 5 };
    const id = await log.append(migrated);
    const got = await waiting;
    expect(got).toEqual([{ id, event: migrated }]);
    expect(await readLog.ack('bots', [id])).toBe(1);
  });

  it('hands a restarted consumer its own unacked entries first, then new ones', async () => {
    await log.ensureGroup('restart');
    const a = await log.append(started('a'));
    const b = await log.append(started('b'));
    const first = await readLog.read('restart', 'c1', { count: 10 });
    expect(first.map((e) => e.id)).toEqual([a, b]);
    await readLog.ack('restart', [a]);
    // A new instance (the bot restarted) sees b again; this one does not.
    const again = new FleetEventLog(reader, prefix);
    const c = await log.append(started('c'));
    expect((await again.read('restart', 'c1', { count: 10 })).map((e) => e.id)).toEqual([b]);
    expect((await again.read('restart', 'c1', { count: 10 })).map((e) => e.id)).toEqual([c]);
    expect(await again.read('restart', 'c1', { count: 10 })).toEqual([]);
  });

  it('acks and skips entries whose data does not parse', async () => {
    await log.ensureGroup('bad');
    await redis.xadd(log.key, '*', 'data', '{not json');
    await redis.xadd(log.key, '*', 'other', 'x');
    const good = await log.append(started('ok'));
    const got = await readLog.read('bad', 'c1', { count: 10 });
    expect(got.map((e) => e.id)).toEqual([good]);
    const pending = (await redis.xpending(log.key, 'bad')) as [number, ...unknown[]];
    expect(pending[0]).toBe(1);
  });

  it('lets another consumer claim what a dead one left unacked', async () => {
    await log.ensureGroup('claim');
    const id = await log.append(started('x'));
    await readLog.read('claim', 'dead', { count: 10 });
    expect(await readLog.claimStale('claim', 'alive', 60_000)).toEqual([]);
    await new Promise((r) => setTimeout(r, 30));
    const claimed = await readLog.claimStale('claim', 'alive', 20);
    expect(claimed.map((e) => e.id)).toEqual([id]);
    const detail = (await redis.xpending(log.key, 'claim', '-', '+', 10)) as [string, string, number, number][];
    expect(detail.map(([eid, owner]) => [eid, owner])).toEqual([[id, 'alive']]);
  });

  it('lists the events since a time, oldest first', async () => {
    const t = Date.now();
    await new Promise((r) => setTimeout(r, 5));
    const mark = Date.now();
    await log.append(started('late1', mark));
    await log.append({ kind: 'host.unreachable', host: 'xen2', reason: 'connect refused', at: mark });
    const events = await log.since(mark);
    expect(events.map((e) => e.kind)).toEqual(['domain.started', 'host.unreachable']);
    expect((await log.since(t)).length).toBeGreaterThanOrEqual(2);
    expect(await log.since(Date.now() + 60_000)).toEqual([]);
  });

  it('keeps the mutation, gone and arrived markers with their TTL', async () => {
    expect(await log.mutatedRecently('web')).toBe(false);
    await log.markMutation('web', 30_000);
    expect(await log.mutatedRecently('web')).toBe(true);
    expect(await redis.pttl(log.mutationKey('web'))).toBeGreaterThan(25_000);
    await log.markMutation('short', 20);
    await expect.poll(() => log.mutatedRecently('short'), { timeout: 2000, interval: 20 }).toBe(false);

    expect(await log.goneFrom(['uuid-1', 'web'])).toBeNull();
    await log.markGone(['web'], 'xen1', 60_000);
    expect(await log.goneFrom(['uuid-1', 'web'])).toBe('xen1');
    await log.markArrived(['uuid-1', 'web'], 'xen2', 60_000);
    expect(await log.arrivedAt(['uuid-1'])).toBe('xen2');
    const keys = await redis.keys(`*${prefix.slice(1, -1)}*`);
    expect(keys.every((k) => k.startsWith(`${prefix}:`))).toBe(true);
  });
});
