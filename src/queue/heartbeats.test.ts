import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { type AgentBeat, Heartbeats, livenessOf } from './coordination.ts';

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const beat = (agentId: string, seenAt: number, stoppedAt?: number): AgentBeat => ({
  agentId,
  where: `${agentId}@dom0-mgmt`,
  seenAt,
  ...(stoppedAt === undefined ? {} : { stoppedAt }),
});

describe('heartbeats of several agents serving one host', () => {
  it('one stopping (a rolling restart) leaves the host alive while another serves it; the last to stop is said stopped', async () => {
    const beats = new Heartbeats(redis, prefix);
    await beats.beat(['xen1', 'xen2'], beat('a', 1_000));
    await beats.beat(['xen1'], beat('b', 2_000));
    await beats.beat(['xen1', 'xen2'], beat('a', 3_000, 3_000));
    const all = await beats.all();
    expect(all['xen1']).toEqual(beat('b', 2_000));
    expect(livenessOf(all['xen1'], 4_000, 10_000).alive).toBe(true);
    // xen2 had a alone: stopped, and said so.
    expect(all['xen2']).toEqual(beat('a', 3_000, 3_000));
    expect(livenessOf(all['xen2'], 4_000, 10_000).alive).toBe(false);
    await beats.beat(['xen1'], beat('b', 5_000, 5_000));
    expect((await beats.all())['xen1']).toEqual(beat('b', 5_000, 5_000));
  });

  it('reads a beat written whole by an older agent, and forgets an agent silent for a day', async () => {
    const beats = new Heartbeats(redis, prefix);
    await redis.hset(beats.key, 'xen3', JSON.stringify(beat('old', 1_000)));
    await beats.beat(['xen3'], beat('new', 2_000, 2_000));
    // The older agent has not stopped: it is the one readers go by.
    expect((await beats.all())['xen3']).toEqual(beat('old', 1_000));
    await beats.beat(['xen3'], beat('new', 1_000 + 24 * 3_600_000 + 1));
    const kept = JSON.parse((await redis.hget(beats.key, 'xen3')) ?? '{}') as { agents: Record<string, unknown> };
    expect(Object.keys(kept.agents)).toEqual(['new']);
  });

  it('an agent killed long ago (never stopped) does not hide that the last one serving the host stopped', async () => {
    const beats = new Heartbeats(redis, prefix, 10_000);
    await beats.beat(['xen4'], beat('killed', 1_000));
    await beats.beat(['xen4'], beat('a', 60_000));
    await beats.beat(['xen4'], beat('a', 61_000, 61_000));
    expect((await beats.all())['xen4']).toEqual(beat('a', 61_000, 61_000));
  });
});
