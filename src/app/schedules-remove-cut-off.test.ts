import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import type { ScheduleSpec } from '../core/schedule.ts';
import {
  ScheduleBook,
  scheduleBookKey,
  scheduleMessageKey,
  scheduleQueueName,
  scheduleSendingKey,
  scheduleSnapshotKey,
  scheduleTickKey,
} from './schedules.ts';

/**
 * `/schedule remove` cut off midway — its bot's BullMQ connection refused after the spec went, or the bot killed
 * there: the spec was gone, so nothing ever removed the schedule again, and an `edit` schedule's message key (written
 * without a TTL: the schedule keeps editing that message for as long as it lives) stayed in Redis for good.
 */
describe('ScheduleBook.remove cut off midway', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  const book = new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger);
  // The same Redis for the spec, but BullMQ's connection refused: the removal's scheduler step fails.
  const cut = new ScheduleBook(
    redis,
    { host: '127.0.0.1', port: 1, maxRetriesPerRequest: 1, retryStrategy: () => null },
    prefix,
    quietLogger,
  );
  const events = new QueueEvents(scheduleQueueName('terminal'), { connection: { url: REDIS_URL }, prefix });

  afterAll(async () => {
    await events.close();
    await cut.close();
    await book.close();
    redis.disconnect();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });

  it('leaves no key of the schedule for good, and its scheduler goes at its next tick', async () => {
    const spec: ScheduleSpec = {
      id: 'SCUT01',
      what: 'status',
      host: null,
      when: { every: 300 },
      channel: { platform: 'terminal', id: 'ops' },
      mode: 'edit',
      owner: 'alice',
      source: 'chat',
      createdAt: Date.now(),
    };
    const keys = [
      scheduleMessageKey(prefix, spec.id),
      scheduleSnapshotKey(prefix, spec.id),
      scheduleTickKey(prefix, spec.id),
      scheduleSendingKey(prefix, spec.id),
    ];
    await events.waitUntilReady();
    let posted!: () => void;
    const firstPost = new Promise<void>((resolve) => {
      posted = resolve;
    });
    let posts = 0;
    await book.startWorkers(['terminal'], async (s) => {
      // What an edit schedule's first post leaves (PostDesk.afterDelivery): its message, its snapshot, its tick.
      if (++posts === 1) {
        await redis.set(scheduleMessageKey(prefix, s.id), JSON.stringify({ platform: 'terminal', channelId: 'ops', state: {} }));
        await redis.set(scheduleSnapshotKey(prefix, s.id), '{}', 'EX', 400 * 86_400);
        await redis.set(scheduleTickKey(prefix, s.id), '1', 'EX', 400 * 86_400);
        posted();
      }
      return 'posted';
    });
    expect(await book.create(spec)).toBe(true);
    await firstPost;

    const droppedTick = new Promise<void>((resolve) => {
      events.on('completed', ({ returnvalue }) => {
        if (String(returnvalue) === 'removed') resolve();
      });
    });
    await expect(cut.remove(spec.id)).rejects.toThrow();
    // Cut off: either nothing of it was removed (it can be removed again), or its spec went with its keys.
    const specLeft = (await redis.hexists(scheduleBookKey(prefix), spec.id)) === 1;
    const lasting = [];
    for (const k of keys) if ((await redis.pttl(k)) === -1) lasting.push(k.slice(prefix.length + 1));
    if (!specLeft) expect(lasting, 'keys without a TTL of a schedule whose spec is gone').toEqual([]);
    else expect(await book.remove(spec.id)).toBe(true);

    // Its scheduler, left behind, is dropped at its next tick, and nothing of the schedule is left.
    await droppedTick;
    expect(await redis.exists(...keys)).toBe(0);
  });

  it('a spec gone without its keys (a removal by an older bot, cut off): its next tick drops them with its scheduler', async () => {
    const id = 'SCUT02';
    await book.create({
      id,
      what: 'status',
      host: null,
      when: { every: 300 },
      channel: { platform: 'terminal', id: 'ops' },
      mode: 'edit',
      owner: 'alice',
      source: 'chat',
      createdAt: Date.now(),
    });
    const dropped = new Promise<void>((resolve) => {
      events.on('completed', ({ jobId, returnvalue }) => {
        if (String(returnvalue) === 'removed' && jobId.includes(id)) resolve();
      });
    });
    // What the older removal's first write left: the spec gone; the message an edit schedule's post wrote kept.
    await redis.set(scheduleMessageKey(prefix, id), JSON.stringify({ platform: 'terminal', channelId: 'ops', state: {} }));
    await redis.hdel(scheduleBookKey(prefix), id);
    await dropped;
    expect(await redis.exists(scheduleMessageKey(prefix, id))).toBe(0);
  });
});
