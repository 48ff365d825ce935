import { Queue, QueueEvents } from 'bullmq';
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
 * A book on a prefix of its own for the describe it is called in; after it, what `track` was given is closed (last
 * given first), then the book, and the prefix's keys are deleted.
 */
function bookScene() {
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  const book = new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger);
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await book.close();
    redis.disconnect();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });
  const track = <T>(thing: T, close: (t: T) => Promise<unknown>): T => {
    closers.push(() => close(thing));
    return thing;
  };
  return { prefix, redis, book, track };
}

/** A chat schedule posting /status hourly in a Telegram group; `over` replaces any of it. */
const statusSchedule = (id: string, over: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  id,
  what: 'status',
  host: null,
  when: { every: 3_600_000 },
  channel: { platform: 'telegram', id: '-100' },
  mode: 'post',
  owner: 'alice',
  source: 'chat',
  createdAt: Date.now(),
  ...over,
});

/**
 * A schedule whose spec is in Redis but whose BullMQ job scheduler is not (an upsert cut off between its two writes,
 * a Redis evicting keys under maxmemory): nothing posts again, and the bot's periodic check saw the spec and called it
 * unchanged.
 */
describe('ScheduleBook.syncConfig with a job scheduler gone', () => {
  const { prefix, book, track } = bookScene();
  const queue = track(new Queue(scheduleQueueName('telegram'), { connection: { url: REDIS_URL }, prefix }), (q) => q.close());
  const spec = (id: string, source: ScheduleSpec['source'], createdAt: number) => statusSchedule(id, { source, createdAt });

  const schedulerIds = async () => (await queue.getJobSchedulers(0, -1, true)).map((s) => s.key).sort();

  it('puts a config schedule whose scheduler is gone back, and says so', async () => {
    await book.syncConfig([spec('cfg-board', 'config', 0)]);
    expect(await schedulerIds()).toEqual(['cfg-board']);
    await queue.removeJobScheduler('cfg-board');
    const { written } = await book.syncConfig([spec('cfg-board', 'config', 0)]);
    expect(written).toEqual(['cfg-board']);
    expect(await schedulerIds()).toEqual(['cfg-board']);
    expect((await book.list()).find((s) => s.id === 'cfg-board')?.next).toEqual(expect.any(Number));
  });

  it('puts a chat schedule whose scheduler is gone back too (one being made just now is left to its maker)', async () => {
    await book.create(spec('SOLD22', 'chat', Date.now() - 3_600_000));
    await book.create(spec('SNEW22', 'chat', Date.now()));
    await queue.removeJobScheduler('SOLD22');
    await queue.removeJobScheduler('SNEW22');
    const { written } = await book.syncConfig([spec('cfg-board', 'config', 0)]);
    expect(written).toEqual(['SOLD22']);
    expect(await schedulerIds()).toEqual(['SOLD22', 'cfg-board']);
    await book.remove('SOLD22');
    await book.remove('SNEW22');
    expect(await schedulerIds()).toEqual(['cfg-board']);
  });

  it('drops the job scheduler of a schedule whose spec is gone (removed while the check put it back)', async () => {
    // What a check that read the spec just before a removal deleted it leaves behind: a scheduler with no schedule.
    await queue.upsertJobScheduler('SORPH2', { every: 5_000 }, { name: 'tick', data: { id: 'SORPH2' } });
    const ticks: string[] = [];
    await book.startWorkers(['telegram'], async (s) => {
      ticks.push(s.id);
      return 'posted';
    });
    await expect.poll(schedulerIds, { timeout: 10_000 }).toEqual(['cfg-board']);
    expect(ticks).not.toContain('SORPH2');
  });
});

/**
 * `/schedule remove` cut off midway — its bot's BullMQ connection refused after the spec went, or the bot killed
 * there: the spec was gone, so nothing ever removed the schedule again, and an `edit` schedule's message key (written
 * without a TTL: the schedule keeps editing that message for as long as it lives) stayed in Redis for good.
 */
describe('ScheduleBook.remove cut off midway', () => {
  const { prefix, redis, book, track } = bookScene();
  // The same Redis for the spec, but BullMQ's connection refused: the removal's scheduler step fails.
  const cut = track(
    new ScheduleBook(redis, { host: '127.0.0.1', port: 1, maxRetriesPerRequest: 1, retryStrategy: () => null }, prefix, quietLogger),
    (b) => b.close(),
  );
  const events = track(new QueueEvents(scheduleQueueName('terminal'), { connection: { url: REDIS_URL }, prefix }), (e) => e.close());
  /** An edit schedule in terminal:ops, ticking every 300 ms: the tests wait for its next tick. */
  const editInOps = { when: { every: 300 }, channel: { platform: 'terminal', id: 'ops' }, mode: 'edit' } as const;

  it('leaves no key of the schedule for good, and its scheduler goes at its next tick', async () => {
    const spec = statusSchedule('SCUT01', editInOps);
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
    await book.create(statusSchedule(id, editInOps));
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
