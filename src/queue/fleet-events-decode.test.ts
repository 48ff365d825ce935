import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { type FleetEvent, FleetEventLog } from './fleet-events.ts';

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

describe('events no alert can be made of', () => {
  it('are acked and skipped at the read: a time no Date holds, a domain event without its domain', async () => {
    const log = new FleetEventLog(redis, prefix);
    await log.ensureGroup('g');
    // 1e400 is valid JSON and parses as Infinity: every alert prints its time, and toISOString throws on it.
    await redis.xadd(log.key, '*', 'data', '{"kind":"host.unreachable","host":"xen1","reason":"x","at":1e400}');
    await redis.xadd(log.key, '*', 'data', `{"kind":"domain.crashed","host":"xen1","uuid":null,"byXenops":false,"at":${Date.now()}}`);
    const good: FleetEvent = { kind: 'host.reachable', host: 'xen1', at: Date.now() };
    const id = await log.append(good);
    expect(await log.read('g', 'c1', { count: 10 })).toEqual([{ id, event: good }]);
    expect(((await redis.xpending(log.key, 'g')) as [number])[0]).toBe(1);
  });
});
