import { type ConnectionOptions, Job, Queue } from 'bullmq';
import type { Logger } from '../core/log.ts';
import type { JobData } from '../queue/jobs.ts';
import { hostQueueName } from '../queue/names.ts';
import { isMutating } from '../queue/ops.ts';
import { settleWithin } from './redis-wait.ts';

/** The bot's producer side: one BullMQ queue per host, and the one way jobs are added. */
export class JobQueues {
  private readonly queues: Map<string, Queue>;

  constructor(hostNames: readonly string[], connection: ConnectionOptions, prefix: string, logger: Logger) {
    this.queues = new Map(hostNames.map((h) => [h, new Queue(hostQueueName(h), { connection, prefix })]));
    for (const q of this.queues.values()) q.on('error', (e) => logger.warn({ err: e.message }, 'queue error'));
  }

  get(host: string): Queue | undefined {
    return this.queues.get(host);
  }

  /** jobId derives from the request: a redelivered chat event (or a second bot) adds nothing. */
  async add(data: JobData, jobId: string): Promise<void> {
    const queue = this.queues.get(data.host);
    if (!queue) throw new Error(`no queue for host ${data.host}`);
    const mutating = isMutating(data.op);
    await queue.add(data.op, data, {
      jobId,
      // A mutation is never retried by BullMQ: after an unknown outcome the agent reads the state instead.
      attempts: mutating ? 1 : 2,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { age: 3600, count: 1000 },
      removeOnFail: { age: 86_400 },
    });
  }

  async job(host: string, jobId: string): Promise<Job | undefined> {
    const queue = this.queues.get(host);
    return queue ? Job.fromId(queue, jobId) : undefined;
  }

  async close(): Promise<void> {
    await settleWithin(
      2_000,
      [...this.queues.values()].map((q) => q.close()),
    );
  }
}
