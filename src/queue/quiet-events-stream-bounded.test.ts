import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { JobQueues } from '../app/job-queues.ts';
import type { JobData } from './jobs.ts';
import { hostQueueName } from './names.ts';
import { UNANNOUNCED_OPS } from './quiet-events.ts';
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

describe("a host's event stream under reads only", () => {
  it("stays bounded: BullMQ trims it on every job's end, now that a read's add (whose 'waiting' trimmed it too) writes nothing", async () => {
    const host = 'bounded1';
    const queueName = hostQueueName(host);
    const bull = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queues = new JobQueues([host], bull, prefix, quietLogger);
    const shared = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const wakeups = new WorkerWakeups(new Redis(REDIS_URL, { maxRetriesPerRequest: null }), shared, quietLogger);
    const total = 2_000;
    let done = 0;
    let allDone: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      allDone = resolve;
    });
    const worker = new WokenWorker(
      queueName,
      async () => [],
      { connection: shared, prefix, concurrency: 50, drainDelay: 600, stalledInterval: 60_000 },
      wakeupBackend(wakeups, UNANNOUNCED_OPS),
    );
    // Counted once each job's end (its moveToFinished, which writes its event) is in Redis.
    worker.on('completed', () => {
      if (++done === total) allDone();
    });
    try {
      await queues.get(host)?.waitUntilReady();
      await worker.waitUntilReady();
      // The stream's bound, lowered from BullMQ's 10,000 (once the queue and the Worker wrote theirs) so that a few
      // thousand reads go well past it.
      const max = 100;
      await redis.hset(`${prefix}:${queueName}:meta`, 'opts.maxLenEvents', max);
      wakeups.start();
      const meta = { requestId: 'b', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'terminal', command: 'list' };
      for (let i = 0; i < total; i += 200)
        await queues.add(
          Array.from({ length: 200 }, (_, k) => ({ data: { op: 'domain.list', host, meta } as JobData, jobId: `b-${i + k}` })),
        );
      await finished;
      const events = await redis.xrange(`${prefix}:${queueName}:events`, '-', '+');
      // Each read's end (and the queue's "drained" when it ran dry), none of its add or start; MAXLEN ~ trims whole
      // stream nodes (100 entries each), so up to a node and the last script's own entries above the bound.
      const kinds = new Set(events.map(([, f]) => f[1]));
      expect(kinds.has('completed')).toBe(true);
      expect([...kinds].filter((k) => k !== 'completed' && k !== 'drained')).toEqual([]);
      expect(events.length).toBeLessThanOrEqual(max + 100 + 2);
    } finally {
      await worker.close();
      await wakeups.close();
      await queues.close();
      shared.disconnect();
      bull.disconnect();
    }
  }, 60_000);
});
