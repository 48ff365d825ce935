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
  /**
   * Each host's list job not known to have ended: a refresh that wants that host's list waits for it instead of
   * queueing another. Two misses at once, or a miss during the periodic refresh, would otherwise ask every host of
   * the fleet twice, and a host that hangs would be sent a list per refresh until they hold all of its agent's slots.
   */
  private readonly listing = new Map<string, { jobId: string; finished: Promise<boolean> }>();

  constructor(
    private readonly deps: RefreshDeps,
    private readonly instance: string,
  ) {}

  /**
   * `until.found(host)`, asked as each host answers: once true, the hosts still to answer are waited for only
   * `until.graceMs` more (their lists still reach the cache when they come), and `unanswered` names only those that
   * failed by then.
   */
  async refresh(
    hosts: readonly string[],
    waitMs: number,
    until?: { found: (host: string) => boolean; graceMs: number },
  ): Promise<{ unanswered: { host: string; message: string }[] }> {
    const { unanswered } = await this.ask('domain.list', hosts, waitMs, until);
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
    until?: { found: (host: string) => boolean; graceMs: number },
  ): Promise<{ done: { host: string; jobId: string }[]; unanswered: { host: string; message: string }[] }> {
    const now = this.deps.clock.now();
    const beats = await this.deps.heartbeats.all();
    const stamp = `${op === 'domain.list' ? 'fleet' : 'capacity'}-${this.instance}-${now}-${++this.counter}`;
    const done: { host: string; jobId: string }[] = [];
    const unanswered: { host: string; message: string }[] = [];
    const asked: { host: string; jobId: string; finished: Promise<boolean> }[] = [];
    const added: { host: string; jobId: string }[] = [];
    let settleAdd: (ok: boolean) => void = () => {};
    const adding = new Promise<boolean>((resolve) => {
      settleAdd = resolve;
    });
    for (const host of hosts) {
      if (!livenessOf(beats[host], now, this.deps.config.bot.agentStaleMs).alive) {
        unanswered.push({ host, message: noAgentMessage(host, beats[host], now) });
        continue;
      }
      const outstanding = op === 'domain.list' ? this.listing.get(host) : undefined;
      if (outstanding) {
        asked.push({ host, jobId: outstanding.jobId, finished: within(outstanding.finished, waitMs) });
        continue;
      }
      const jobId = jobIdFor(stamp, host);
      added.push({ host, jobId });
      if (op !== 'domain.list') {
        // Awaited before the job exists: its completion cannot come first.
        asked.push({ host, jobId, finished: this.deps.awaitJob(jobId, waitMs, op, host) });
        continue;
      }
      // Shared by the refreshes that come while it runs, each waiting as long as it may: it is followed for as long as
      // any of them could wait (the periodic refresh's readTimeoutMs), so a host slow to answer is asked once meanwhile.
      const awaited = this.deps.awaitJob(jobId, Math.max(waitMs, this.deps.config.bot.readTimeoutMs), op, host);
      const finished = adding.then((ok) => ok && awaited);
      const entry = { jobId, finished };
      this.listing.set(host, entry);
      void finished.then(() => {
        if (this.listing.get(host) === entry) this.listing.delete(host);
      });
      asked.push({ host, jobId, finished: within(finished, waitMs) });
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
    try {
      if (added.length > 0) await this.deps.queues.add(added.map(({ host, jobId }) => ({ data: { op, host, meta }, jobId })));
      settleAdd(true);
    } catch (error) {
      // No job: the refreshes that joined these hosts stop waiting for one.
      settleAdd(false);
      throw error;
    }
    let grace: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      let left = asked.length;
      if (left === 0) resolve();
      const answered = async (host: string, jobId: string, ok: boolean) => {
        try {
          if (ok) done.push({ host, jobId });
          else unanswered.push({ host, message: await this.whyNot(host, jobId, waitMs) });
          if (ok && until && grace === undefined && left > 1 && until.found(host)) grace = setTimeout(resolve, until.graceMs);
        } finally {
          // Counted whatever happened above: a refresh that never resolves would hold its command for good.
          if (--left === 0) resolve();
        }
      };
      for (const { host, jobId, finished } of asked)
        finished.then(
          (ok) => answered(host, jobId, ok),
          () => answered(host, jobId, false),
        );
    });
    clearTimeout(grace);
    return { done: [...done], unanswered: [...unanswered] };
  }

  /** A job that did not complete: its failure when it failed (the host unreachable…), else no answer in time. */
  private async whyNot(host: string, jobId: string, waitMs: number): Promise<string> {
    const job = await this.deps.queues.job(host, jobId).catch(() => undefined);
    if (job?.failedReason) return `${host}: ${decodeJobFailure(job.failedReason).message}`;
    return `${host} did not answer within ${Math.round(waitMs / 1000)} s`;
  }
}

/** `finished`, or false once `ms` passed: one caller's wait on a job others may wait for longer. */
function within(finished: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  return Promise.race([finished, timeout]).finally(() => clearTimeout(timer));
}
