import {
  type BackendFactory,
  type ConnectionOptions,
  createRedisBackend,
  type IQueueBackend,
  Job,
  Queue,
  type QueueOptions,
  type RedisQueueBackend,
} from 'bullmq';
import type { Logger } from '../core/log.ts';
import type { JobData } from '../queue/jobs.ts';
import { hostQueueName } from '../queue/names.ts';
import { isMutating } from '../queue/ops.ts';
import { settleWithin } from './redis-wait.ts';

/**
 * The bot's producer side: one BullMQ queue per host, and the one way jobs are added.
 *
 * The host queues share one backend: each queue's is a sibling of it (`forQueue`, BullMQ's seam for one connection
 * serving many queues, as its FlowProducer uses it). A Queue with a backend of its own wraps the shared client in a
 * RedisConnection of its own, which sends INFO to check the server's version and puts three listeners on the
 * client: at 1,000 hosts, 1,000 INFO round trips at start-up (their replies, ~20 MB, left the process that much
 * bigger) and 3,000 listeners that every connection error ran through. Keys, scripts and options are unchanged.
 */
/** A host's queue: BullMQ's Queue, on a sibling of the shared backend. */
export type HostQueue = Queue<JobData, unknown, string, JobData, unknown, string, IQueueBackend>;

export class JobQueues {
  private readonly queues: Map<string, HostQueue>;
  private readonly backend: RedisQueueBackend;

  constructor(hostNames: readonly string[], connection: ConnectionOptions, prefix: string, logger: Logger) {
    const options: QueueOptions = { connection, prefix };
    this.backend = createRedisBackend('host-queues', options);
    // The siblings do not relay the connection's errors: they are said once, here.
    this.backend.on('error', (e: Error) => logger.warn({ err: e.message }, 'queue error'));
    const sibling: BackendFactory = (name) => this.backend.forQueue(name, prefix);
    this.queues = new Map(hostNames.map((h) => [h, new Queue(hostQueueName(h), options, sibling)]));
    for (const q of this.queues.values()) q.on('error', (e) => logger.warn({ err: e.message }, 'queue error'));
  }

  get(host: string): HostQueue | undefined {
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

  /**
   * Where a job ended, read in that order: its state first, then (completed or failed) the job itself. A job read
   * first and asked its state after may have finished in between: "completed", with the result it had when read —
   * none (a recovery after a Redis restart, racing the agent's completion, reported a migration as an internal
   * error that way). A finished job no longer changes, so reading it after its state is safe. Null when BullMQ no
   * longer has it.
   */
  async finished(
    host: string,
    jobId: string,
  ): Promise<{ state: 'completed'; returnvalue: unknown } | { state: 'failed'; failedReason: string } | { state: 'unfinished' } | null> {
    const queue = this.queues.get(host);
    if (!queue) return null;
    const state = await queue.getJobState(jobId);
    if (state === 'unknown') return null;
    if (state !== 'completed' && state !== 'failed') return { state: 'unfinished' };
    const job = await Job.fromId(queue, jobId);
    if (!job) return null;
    return state === 'completed' ? { state, returnvalue: job.returnvalue } : { state, failedReason: job.failedReason };
  }

  /** The queues' closes are no-ops on a shared backend: closing that one lets go of the shared client. */
  async close(): Promise<void> {
    await settleWithin(2_000, [...[...this.queues.values()].map((q) => q.close()), this.backend.close()]);
  }
}
