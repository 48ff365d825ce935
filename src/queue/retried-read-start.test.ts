import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { WokenWorker, WorkerWakeups, wakeupBackend } from './worker-wakeups.ts';

const prefix = uniquePrefix();
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

describe('a read handed out as another job is put back for a retry', () => {
  it('is not announced either: a read that failed once (a transport error: retried after a backoff) hands the next read out unannounced', async () => {
    const name = 'retried-read';
    const shared = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const wakeups = new WorkerWakeups(new Redis(REDIS_URL, { maxRetriesPerRequest: null }), shared, quietLogger);
    // On a connection of its own: on the Workers' one it would define BullMQ's scripts first, unwrapped.
    const adder = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection: adder, prefix });
    // As JobQueues adds a read: two attempts, the second after a backoff (BullMQ's moveToDelayed, which fetches the
    // Worker's next job as moveToFinished does).
    const retried = { attempts: 2, backoff: { type: 'fixed', delay: 60_000 } };
    await queue.add('read', {}, { jobId: 'r1', ...retried });
    await queue.add('read', {}, { jobId: 'r2', ...retried });
    const worker = new WokenWorker(
      name,
      async (job) => {
        if (job.id === 'r1') throw new Error('transport: the host did not answer');
        return job.name;
      },
      { connection: shared, prefix, concurrency: 1, drainDelay: 600, stalledInterval: 60_000 },
      wakeupBackend(wakeups, ['read']),
    );
    try {
      const done = new Promise<void>((resolve) => worker.on('completed', (job) => job.id === 'r2' && resolve()));
      await worker.waitUntilReady();
      wakeups.start();
      await done;
      expect(await queue.getJobState('r1')).toBe('delayed');
      const events = (await redis.xrange(`${prefix}:${name}:events`, '-', '+')).map(([, f]) => `${f[1]}:${f[3]}`);
      expect(events.filter((e) => e.startsWith('active:'))).toEqual([]);
      expect(events.filter((e) => e.startsWith('completed:'))).toEqual(['completed:r2']);
    } finally {
      await worker.close();
      await wakeups.close();
      await queue.close();
      shared.disconnect();
      adder.disconnect();
    }
  }, 20_000);
});
