import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import type { ScheduleSpec } from '../core/schedule.ts';
import { ScheduleBook, scheduleQueueName } from './schedules.ts';

/**
 * A schedule whose spec is in Redis but whose BullMQ job scheduler is not (an upsert cut off between its two writes,
 * a Redis evicting keys under maxmemory): nothing posts again, and the bot's periodic check saw the spec and called it
 * unchanged.
 */
describe('ScheduleBook.syncConfig with a job scheduler gone', () => {
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  const book = new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger);
  const queue = new Queue(scheduleQueueName('telegram'), { connection: { url: REDIS_URL }, prefix });
  const spec = (id: string, source: ScheduleSpec['source'], createdAt: number): ScheduleSpec => ({
    id,
    what: 'status',
    host: null,
    when: { every: 3_600_000 },
    channel: { platform: 'telegram', id: '-100' },
    mode: 'post',
    owner: 'alice',
    source,
    createdAt,
  });

  afterAll(async () => {
    await queue.close();
    await book.close();
    redis.disconnect();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });

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
