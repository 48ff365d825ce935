import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Heartbeats } from '../queue/coordination.ts';
import { hostQueueName } from '../queue/names.ts';
import { BotPeers } from './bot-peers.ts';
import { hostsLeftBehind, pruneHostsLeftBehind } from './hosts-left-behind.ts';

/**
 * A host taken out of the config kept its BullMQ queue keys (no TTL) and its heartbeat field in Redis for good, and
 * nothing said so. Now they are found — unless a running bot or a live agent still serves the host — and pruned on
 * request, a queue with a job still waiting never.
 */
const prefix = uniquePrefix();
let redis: Redis;
const queues: Queue[] = [];

async function keysOf(host: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:${hostQueueName(host)}:*`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys);
  } while (cursor !== '0');
  return out;
}

/** A host's queue with a job that ran (what a host served for a while leaves), or one still waiting. */
async function queueWithJob(host: string, state: 'completed' | 'waiting'): Promise<Queue> {
  const queue = new Queue(hostQueueName(host), { connection: { url: REDIS_URL }, prefix });
  queues.push(queue);
  if (state === 'waiting') {
    await queue.add('job', { host }, { jobId: `w-${host}`, removeOnComplete: 100, removeOnFail: 100 });
    return queue;
  }
  const events = new QueueEvents(hostQueueName(host), { connection: { url: REDIS_URL }, prefix });
  await events.waitUntilReady();
  const worker = new Worker(hostQueueName(host), async () => 'ok', { connection: { url: REDIS_URL }, prefix });
  const job = await queue.add('job', { host }, { jobId: `c-${host}`, removeOnComplete: 100, removeOnFail: 100 });
  await job.waitUntilFinished(events, 10_000);
  await worker.close();
  await events.close();
  return queue;
}

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  for (const q of queues) await q.close();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

describe('hosts left behind in Redis', () => {
  it('finds the hosts nobody serves any more, and prunes those with no job waiting', async () => {
    const now = Number((await redis.time())[0]) * 1000;
    await queueWithJob('xen1', 'completed'); // in the config
    await queueWithJob('xen6', 'completed'); // a running bot serves it
    await queueWithJob('xen7', 'completed'); // an agent still beats for it
    await queueWithJob('xen8', 'waiting'); // gone from every config, a job still waiting
    await queueWithJob('xen9', 'completed'); // gone from every config, its agent long gone
    const beats = new Heartbeats(redis, prefix);
    await beats.beat(['xen7'], { agentId: 'a7', where: '1@a7', seenAt: now });
    await beats.beat(['xen9'], { agentId: 'a9', where: '1@a9', seenAt: now - 3_600_000 });
    const peers = new BotPeers(redis, prefix, 'other-bot', ['xen1', 'xen6'], 15_000);
    await peers.join();
    const before = await keysOf('xen9');
    expect(before.length).toBeGreaterThan(3);
    // The queue's own keys never expire: left as they are, they stay for good.
    expect(await redis.pttl(`${prefix}:${hostQueueName('xen9')}:meta`)).toBe(-1);

    const left = await hostsLeftBehind(redis, prefix, ['xen1'], 10_000);
    expect(left.map(({ host, unfinished, heartbeat }) => ({ host, unfinished, heartbeat }))).toEqual([
      { host: 'xen8', unfinished: 1, heartbeat: false },
      { host: 'xen9', unfinished: 0, heartbeat: true },
    ]);
    expect(left.find((h) => h.host === 'xen9')?.keys).toBe(before.length);

    expect(await pruneHostsLeftBehind(redis, prefix, ['xen1'], 10_000)).toEqual(['xen9']);
    expect(await keysOf('xen9')).toEqual([]);
    expect(await redis.hexists(`${prefix}:agents`, 'xen9')).toBe(0);
    // The queue with a job waiting is kept, its job with it; so are those of the hosts still served.
    expect(await queues[3]?.getJob('w-xen8')).toBeTruthy();
    for (const host of ['xen1', 'xen6', 'xen7']) expect((await keysOf(host)).length, host).toBeGreaterThan(3);
    expect(await redis.hexists(`${prefix}:agents`, 'xen7')).toBe(1);
    // Nothing left behind to prune any more but the host with its job.
    expect((await hostsLeftBehind(redis, prefix, ['xen1'], 10_000)).map((h) => h.host)).toEqual(['xen8']);
    await peers.leave();
  });
});
