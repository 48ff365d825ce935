import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import { type Heartbeats, livenessOf } from '../queue/coordination.ts';
import { decodeJobFailure, type JobOp, type JobResult } from '../queue/jobs.ts';
import { jobIdFor } from '../queue/names.ts';
import type { Clock } from '../queue/shared-clock.ts';
import { noAgentMessage } from './dispatch.ts';
import type { JobQueues } from './job-queues.ts';

export interface RefreshDeps {
  config: Config;
  queues: JobQueues;
  heartbeats: Heartbeats;
  /** Resolves when the job finished (the relay applies its result to the fleet cache, as `op`'s: default domain.list). */
  /** `host`: the job's host (its events are then read as they come, see JobEventReader.watch). */
  awaitJob: (jobId: string, timeoutMs: number, op?: JobOp, host?: string) => Promise<boolean>;
  /** The shared clock agents' beats are in (shared-clock.ts). */
  clock: Clock;
  logger: Logger;
}

/**
 * Asks hosts for their domain lists (lookups with a cold cache, and the periodic refresh). Hosts with no live
 * agent are not asked: they are reported, so a lookup can say "no agent serves xen1" instead of "no such domain".
 */
export class FleetRefresher {
  private counter = 0;

  constructor(
    private readonly deps: RefreshDeps,
    private readonly instance: string,
  ) {}

  async refresh(hosts: readonly string[], waitMs: number): Promise<{ unanswered: { host: string; message: string }[] }> {
    const { unanswered } = await this.ask('domain.list', hosts, waitMs);
    return { unanswered };
  }

  /**
   * Each host's capacity read now, for a plan that places guests (/evacuate, /rebalance --run): a host.status job
   * per host (xl info's total and free memory, xl list, the live CPU sample), its result read back from the queue.
   */
  async capacity(
    hosts: readonly string[],
    waitMs: number,
  ): Promise<{ read: Record<string, JobResult<'host.status'>>; unanswered: { host: string; message: string }[] }> {
    const { done, unanswered } = await this.ask('host.status', hosts, waitMs);
    const read: Record<string, JobResult<'host.status'>> = {};
    await Promise.all(
      done.map(async ({ host, jobId }) => {
        const job = await this.deps.queues.job(host, jobId);
        if (job?.returnvalue) read[host] = job.returnvalue as JobResult<'host.status'>;
        else unanswered.push({ host, message: `${host}'s answer could not be read back` });
      }),
    );
    return { read, unanswered };
  }

  private async ask(
    op: 'domain.list' | 'host.status',
    hosts: readonly string[],
    waitMs: number,
  ): Promise<{ done: { host: string; jobId: string }[]; unanswered: { host: string; message: string }[] }> {
    const now = this.deps.clock.now();
    const beats = await this.deps.heartbeats.all();
    const stamp = `${op === 'domain.list' ? 'fleet' : 'capacity'}-${this.instance}-${now}-${++this.counter}`;
    const done: { host: string; jobId: string }[] = [];
    const unanswered: { host: string; message: string }[] = [];
    const asked: { host: string; jobId: string; finished: Promise<boolean> }[] = [];
    for (const host of hosts) {
      if (!livenessOf(beats[host], now, this.deps.config.bot.agentStaleMs).alive) {
        unanswered.push({ host, message: noAgentMessage(host, beats[host], now) });
        continue;
      }
      const jobId = jobIdFor(stamp, host);
      // Awaited before the job exists: its completion cannot come first.
      asked.push({ host, jobId, finished: this.deps.awaitJob(jobId, waitMs, op, host) });
    }
    const meta = {
      requestId: stamp,
      person: 'xenops',
      platform: 'system',
      userId: 'xenops',
      channelId: 'system',
      command: op === 'domain.list' ? 'list' : 'status',
    };
    // Every host's job in one transaction (not one each: 1,000 at 1,000 hosts).
    if (asked.length > 0) await this.deps.queues.add(asked.map(({ host, jobId }) => ({ data: { op, host, meta }, jobId })));
    await Promise.all(
      asked.map(async ({ host, jobId, finished }) => {
        if (await finished) done.push({ host, jobId });
        else unanswered.push({ host, message: await this.whyNot(host, jobId, waitMs) });
      }),
    );
    return { done, unanswered };
  }

  /** A job that did not complete: its failure when it failed (the host unreachable…), else no answer in time. */
  private async whyNot(host: string, jobId: string, waitMs: number): Promise<string> {
    const job = await this.deps.queues.job(host, jobId).catch(() => undefined);
    if (job?.failedReason) return `${host}: ${decodeJobFailure(job.failedReason).message}`;
    return `${host} did not answer within ${Math.round(waitMs / 1000)} s`;
  }
}
