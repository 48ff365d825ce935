import { deliveryFailureKind } from '../adapters/delivery-failure.ts';
import type { ReplyTarget } from '../adapters/types.ts';
import type { Config } from '../config/schema.ts';
import { authorize } from '../core/authorize.ts';
import type { AnyCommand, HostOutcome, RenderContext } from '../core/define-command.ts';
import { describeFreeze, type Freeze } from '../core/freeze.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import { refusedRunsElsewhere, runsElsewhereReply } from '../core/moved-away.ts';
import { type AnyJobCommand, redactHosts, scopeResult } from '../core/pipeline.ts';
import { RecentIds } from '../core/recent-ids.ts';
import { type Reply, reply } from '../core/reply.ts';
import { withTimeout } from '../core/with-timeout.ts';
import {
  type DomainLocks,
  describeBusy,
  type Heartbeats,
  type Journal,
  type JournalEntry,
  livenessOf,
  lockHolderFor,
} from '../queue/coordination.ts';
import { decodeJobFailure, endsPlan, hostsOfJob, type JobFailure, type JobOp, JobProgress, jobDomain } from '../queue/jobs.ts';
import { hostQueueName } from '../queue/names.ts';
import { opSpec } from '../queue/ops.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import type { Clock } from '../queue/shared-clock.ts';
import type { AuditEntry } from './audit.ts';
import type { CommandOutcome } from './bot-metrics.ts';
import { lockTtlMs } from './dispatch.ts';
import type { FleetCache } from './fleet-cache.ts';
import { type JobEvent, JobEventReader } from './job-events.ts';
import type { JobQueues } from './job-queues.ts';
import {
  type FinalClaim,
  PENDING_TTL_SECONDS,
  type PendingJob,
  type PendingRequest,
  type PendingStore,
  type StoredOutcome,
} from './pending-store.ts';
import type { PostDesk } from './post-desk.ts';
import { isRedisDown, isRedisSilent, settleWithin } from './redis-wait.ts';

const PROGRESS_MIN_INTERVAL_MS = 750;
/**
 * How long a finalized request's late progress events are dropped. Most are dropped because the request is removed
 * (current() finds nothing); this covers one whose removal failed and that stays in Redis, whose result a late
 * "running" must not overwrite. Also how often the per-request memories below are pruned at rest.
 */
const FINALIZED_WINDOW_MS = 60_000;
/**
 * How often the requests this bot tracks are looked for in Redis: one that Redis lost (restarted without its data,
 * flushed, failed over to a replica that had not caught up) would otherwise wait for ever (see findLost).
 */
const LOST_CHECK_MS = 5_000;
/**
 * A final reply the platform did not take (a 429 past the adapter's waits, a 5xx on every try of an edit, the
 * platform unreachable) is tried again after this, doubling up to FINAL_RETRY_MAX_MS, for as long as the request is
 * kept: dropped, the chat would show "queued" (or nothing) for good, however the command went.
 */
const FINAL_RETRY_FIRST_MS = 5_000;
const FINAL_RETRY_MAX_MS = 300_000;
/** BullMQ's reason for a job whose agent died more often than maxStalledCount allows. */
const STALLED_LIMIT = /stalled more than allowable limit/;

export interface RelayDeps {
  config: Config;
  /** A connection of the relay's own for the one blocking read of every host queue's events. */
  eventsClient: () => RedisClient;
  /**
   * A command connection (not the events one) for CLIENT UNBLOCK: with it the blocking read names only the hosts with
   * jobs awaited (see JobEventReader); without it, every host's stream in every read.
   */
  unblockClient?: RedisClient;
  prefix: string;
  hostNames: readonly string[];
  queues: JobQueues;
  pending: PendingStore;
  locks: DomainLocks;
  heartbeats: Heartbeats;
  journal: Journal;
  /** Freezes in force (shown by /status). */
  frozen: (hosts: readonly string[]) => Promise<Freeze[]>;
  fleet: FleetCache;
  commands: ReadonlyMap<string, AnyCommand>;
  /** Platforms this bot has an adapter for: it claims only the replies it can deliver. */
  platforms: ReadonlySet<string>;
  /**
   * This bot: replies of process-local adapters (the terminal) are delivered only by the bot that took the request
   * (its `origin`) while that bot runs; one whose bot no longer runs (it restarted: a new instance) is adopted.
   */
  instance: string;
  /** The instances of the bots running on the prefix (BotPeers.live); absent: no request is ever adopted. */
  liveBots?: () => Promise<ReadonlySet<string>>;
  deliver: (target: ReplyTarget, r: Reply) => Promise<ReplyTarget>;
  /** Around the final reply: changes since a schedule's last post, charts, an edit schedule's message. */
  posts: Pick<PostDesk, 'prepare' | 'afterDelivery' | 'deliver' | 'deliverPost' | 'removed'>;
  audit: (entry: AuditEntry) => Promise<void>;
  /** Counts a queued request's end when its final reply goes out: ok when every host's job succeeded, else error. */
  onCommand?: (command: string, outcome: CommandOutcome) => void;
  /** Freezes hosts as a plan's consequence (`freezeAfter`: an evacuated host), audited as the request's; absent = never. */
  /** Resolves with the hosts that were frozen already (their freeze is kept). */
  freeze?: (hosts: string[], by: string, reason: string, audit: Omit<AuditEntry, 'event'>) => Promise<string[]>;
  /** The deployment's shared clock: a request's deadlines, agents' beats and samples are in it (shared-clock.ts). */
  clock: Clock;
  logger: Logger;
}

/**
 * From the agents' events to the chat: progress edits, plans advanced step by step, deadlines (a read's "no
 * answer", a mutation's withdrawal), the final reply exactly once, and recovery after a restart or a Redis outage.
 */
export class Relay {
  private events: JobEventReader | null = null;
  /**
   * The requests this bot tracks, as saved: an event of one of their jobs (one of 1,000 hosts' starts, completions,
   * stalls) then costs a write or two and no read of the whole request. At 1,000 hosts that request is half a
   * megabyte of JSON: read and parsed once per event, it made each /status allocate about a gigabyte (and left the
   * bot's heap and malloc arenas that much bigger). Linear, not quadratic, in time and in memory.
   */
  private readonly shapes = new Map<string, RequestShape>();
  /** The tracked requests' job ids (an event names a job; its request is known without a read). */
  private readonly jobRequests = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout[]>();
  /** When a progress edit was last made, by request (throttle); an entry older than the interval throttles nothing. */
  private readonly lastProgress = new Map<string, number>();
  /** The latest progress event that came within the throttle's interval, by request: shown when the interval ends. */
  private readonly trailingProgress = new Map<string, { jobId: string; data: unknown; timer: NodeJS.Timeout }>();
  private readonly chains = new Map<string, Promise<void>>();
  /** "queued" replies held back for bot.queuedReplyDelayMs: a reply that comes first takes their place. */
  private readonly held = new Map<string, NodeJS.Timeout>();
  /** Requests whose final reply this bot has claimed and is about to deliver (in the request's chain). */
  private readonly claiming = new Set<string>();
  /** Calls claiming a request's final reply under way (see claim). */
  private readonly claimCalls = new Map<string, number>();
  /**
   * Requests whose final reply this bot won the claim of, until it is marked sent: a delivery here holds the claim (or
   * sent the reply and could not say so), and nothing else here may deliver it.
   */
  private readonly delivering = new Set<string>();
  /**
   * Requests whose final claim this bot may hold with no delivery here under way: a claim call Redis did not answer
   * (it may have carried it out), or a delivery that failed before anything was sent. Recovered again by the lost
   * requests check, once Redis answers (see claimAgain); else "queued" would stand until the bot restarts.
   */
  private readonly unsure = new Set<string>();
  /**
   * Process-local requests (the terminal) whose bot no longer runs — it restarted, as a new instance — that this bot,
   * which has their platform, answers in its place (see adoptIfOrphan). Until their final reply is out here.
   */
  private readonly adopted = new Set<string>();
  /**
   * Process-local requests of another bot still running, seen here (recovered, or finished with no reply this bot may
   * give): adopted by the lost requests check if that bot goes before answering them. By request id, with their bot.
   */
  private readonly orphanWatch = new Map<string, { origin: string; deadline: number | null }>();
  /** Requests this bot finalized (at least the last minute): late progress events for them are dropped. */
  private readonly finalized = new RecentIds(FINALIZED_WINDOW_MS);
  /** Prunes `finalized` and `lastProgress` while nothing else does, so an idle bot holds neither. */
  private pruneTimer: NodeJS.Timeout | null = null;
  private lostTimer: NodeJS.Timeout | null = null;
  /** A look for lost requests under way: the next tick waits for it rather than pile up behind a slow delivery. */
  private lookingForLost = false;
  /** Event handlers running now: stop() lets them finish. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly waiters = new Map<string, { op: JobOp; done: (ok: boolean) => void }>();
  /** Waits before a final reply is tried again: stop() ends them (the reply is left to the next bot's recovery). */
  private readonly retryWaits = new Set<() => void>();
  private stopping = false;

  private readonly configured: ReadonlySet<string>;

  constructor(private readonly deps: RelayDeps) {
    this.configured = new Set(deps.hostNames);
  }

  /**
   * Resolves when a job (of no request: a fleet refresh) on `host` finishes: true when it completed, false on failure
   * or timeout.
   */
  awaitJob(jobId: string, timeoutMs: number, op: JobOp = 'domain.list', host?: string): Promise<boolean> {
    const queue = host === undefined ? null : hostQueueName(host);
    if (queue) this.events?.watch(queue);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(jobId);
        if (queue) this.events?.unwatch(queue);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      timer.unref();
      this.waiters.set(jobId, { op, done: finish });
    });
  }

  async start(): Promise<void> {
    const hostOf = new Map(this.deps.hostNames.map((h) => [hostQueueName(h), h]));
    this.events = new JobEventReader(
      this.deps.eventsClient(),
      this.deps.prefix,
      [...hostOf.keys()],
      (e) => {
        const host = hostOf.get(e.queue);
        if (host) this.onEvent(host, e);
      },
      this.deps.logger,
      undefined,
      this.deps.unblockClient ?? null,
    );
    await this.events.start();
    this.pruneTimer = setInterval(() => this.prune(), FINALIZED_WINDOW_MS);
    this.pruneTimer.unref();
    this.lostTimer = setInterval(() => this.guard('lost requests check', () => this.findLost()), LOST_CHECK_MS);
    this.lostTimer.unref();
    // Requests remembered before the reader existed (none today; cheap to keep true).
    for (const shape of this.shapes.values()) this.watchJobs(awaited(shape));
  }

  private onEvent(host: string, e: JobEvent): void {
    const { jobId } = e;
    const handlers: Record<string, () => Promise<void>> = {
      active: () => this.onActive(host, jobId),
      progress: () => this.onProgress(jobId, e.data),
      stalled: () => this.onStalled(jobId),
      completed: () => this.onCompleted(host, jobId, e.returnvalue ?? null),
      failed: () => this.onFailed(host, jobId, e.failedReason ?? ''),
    };
    const handler = handlers[e.event];
    if (handler) this.guard(e.event, handler);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.lostTimer) clearInterval(this.lostTimer);
    for (const list of this.timers.values()) for (const t of list) clearTimeout(t);
    this.timers.clear();
    for (const t of this.trailingProgress.values()) clearTimeout(t.timer);
    this.trailingProgress.clear();
    for (const t of this.held.values()) clearTimeout(t);
    this.held.clear();
    for (const wake of this.retryWaits) wake();
    // A delivery under way finishes, target stored included, before the connections close (bounded).
    await settleWithin(2_000, [this.events?.stop() ?? Promise.resolve(), ...this.inFlight, ...this.chains.values()]);
  }

  /**
   * A request the dispatcher just saved: arm its deadlines, and (`advance`) finish it now if every outcome is known
   * already. A job that completes before this is remembered is advanced by its event in full, so none is missed.
   */
  async track(p: PendingRequest, advance = true, unanswered = false): Promise<void> {
    this.remember(p, true, unanswered);
    this.arm(p);
    if (advance) await this.advance(p.requestId);
  }

  /** After a restart or a Redis outage: take in what finished meanwhile, then deliver or re-arm. */
  async recover(): Promise<void> {
    for (const p of await this.deps.pending.all()) {
      // One request that cannot be recovered (Redis failing again) does not hold up the others, nor fail the term of
      // the leader running this: it is left pending, and said.
      await this.recoverOne(p).catch((e: unknown) =>
        this.deps.logger.error({ err: redactSecrets(String(e)), requestId: p.requestId }, 'could not recover a request'),
      );
    }
  }

  private async recoverOne(p: PendingRequest): Promise<void> {
    // Its bot restarted (a terminal's request, the old instance's): this bot answers it, its progress and result.
    await this.adoptIfOrphan(p);
    const outcomes = await this.deps.pending.outcomes(p.requestId);
    // A plan's later steps are not queued yet: only the first one without an outcome can have run.
    const queued = p.mode === 'sequence' ? p.jobs.filter((j) => !outcomes[j.jobId]).slice(0, 1) : p.jobs;
    for (const j of queued) {
      if (outcomes[j.jobId]) continue;
      // State first, then the job: the agent may complete it right now (its completion waited for Redis too).
      let ended = await this.deps.queues.finished(j.host, j.jobId);
      if (ended?.state === 'unfinished' && !this.configured.has(j.host)) {
        // Its host was taken out of the config: this bot follows no events there. Not taken by an agent yet, it is
        // withdrawn (an agent that still serves the host would run it unfollowed); one that ended meanwhile is
        // answered below; one running is said to be unfollowed (or answered from the journal).
        if ((await this.removeUntaken(j)) === 'removed') {
          await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, this.withdrawnOutcome(j.host));
          continue;
        }
        ended = await this.deps.queues.finished(j.host, j.jobId);
        if (ended?.state === 'unfinished') {
          await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, unconfiguredOutcome(j, await this.deps.journal.get(j.jobId)));
          continue;
        }
      }
      if (!ended) {
        // BullMQ has no such job. The agents' journal says whether a mutation of it was sent (written before it is).
        const entry = await this.deps.journal.get(j.jobId);
        const index = p.jobs.indexOf(j);
        if (entry === null && (await this.deps.pending.withdrawing(j.jobId))) {
          // Withdrawn (removed before any agent took it) by a bot that died before saying so.
          await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, this.withdrawnOutcome(j.host));
        } else if (entry === null && p.mode === 'sequence' && index > 0 && !(await this.deps.pending.stepQueued(p.requestId, index))) {
          // A plan's later step, not withdrawn, nothing of it sent: it was never queued — its bot went between
          // recording the step before and queueing it, perhaps after claiming it. Not an outcome lost: the claim is
          // let go, and advance() below queues the step.
          await this.deps.pending.releaseStep(p.requestId, index);
        } else if (!this.configured.has(j.host)) {
          // Its host was taken out of the config since (and the bot restarted): its queue is not followed any more.
          await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, unconfiguredOutcome(j, entry));
        } else {
          // Finished so long ago that BullMQ dropped it (the bot was down for over an hour): the journal may know.
          await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, lostOutcome(entry));
        }
        continue;
      }
      if (ended.state === 'completed') {
        // A host taken out of the config stays out of the fleet view (names are not resolved to it).
        if (this.configured.has(j.host)) this.deps.fleet.applyResult(j.op, j.host, ended.returnvalue, domainOf(j));
        await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, { ok: true, result: ended.returnvalue });
      } else if (ended.state === 'failed') {
        const failure = failureOf(ended.failedReason);
        if (this.configured.has(j.host)) this.learnFromFailure(j.host, j, failure);
        await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, { ok: false, failure });
      }
    }
    this.remember(p, true);
    const shape = this.shapes.get(p.requestId);
    if (shape && p.mode === 'sequence')
      for (const [jobId, outcome] of Object.entries(await this.deps.pending.outcomes(p.requestId))) this.answered(shape, jobId, outcome);
    this.arm(p);
    if (p.pickupBy !== null && p.pickupBy <= this.deps.clock.now()) await this.withdraw(p.requestId);
    // A reply claimed by a bot that went before sending it is sent now (see claimFinal): at least once, never lost.
    await this.advance(p.requestId, p.deadline !== null && p.deadline <= this.deps.clock.now(), true);
  }

  private guard(what: string, fn: () => Promise<void>): void {
    if (this.stopping) return;
    const running = fn()
      .catch((e: unknown) => {
        // Events still in flight while stopping meet closed connections; the restarted bot recovers them.
        if (!this.stopping) this.deps.logger.error({ err: redactSecrets(String(e)), what }, 'relay handler failed');
      })
      .finally(() => this.inFlight.delete(running));
    this.inFlight.add(running);
  }

  private arm(p: PendingRequest): void {
    this.clearTimers(p.requestId);
    const now = this.deps.clock.now();
    if (p.deadline !== null) this.later(p.requestId, p.deadline - now, 'deadline', () => this.advance(p.requestId, true));
    if (p.pickupBy !== null) this.later(p.requestId, p.pickupBy - now, 'pickup deadline', () => this.withdraw(p.requestId));
  }

  private clearTimers(requestId: string): void {
    for (const t of this.timers.get(requestId) ?? []) clearTimeout(t);
    this.timers.delete(requestId);
  }

  /** Deliveries for one request run one after another, so a late progress edit never lands after the result. */
  private serial(requestId: string, fn: () => Promise<void>): Promise<void> {
    const next = (this.chains.get(requestId) ?? Promise.resolve()).then(fn, fn);
    this.chains.set(requestId, next);
    // The caller handles `next`'s failure; this bookkeeping branch must not become an unhandled rejection.
    next
      .finally(() => {
        if (this.chains.get(requestId) === next) this.chains.delete(requestId);
      })
      .catch(() => {});
    return next;
  }

  /** The result comes with the event (no second read of the job); the op from the waiter or the pending request. */
  private async onCompleted(host: string, jobId: string, value: unknown): Promise<void> {
    const waiter = this.waiters.get(jobId);
    if (waiter) {
      this.deps.fleet.applyResult(waiter.op, host, value);
      waiter.done(true);
    }
    const requestId = await this.requestOf(jobId);
    if (!requestId) return;
    const job = await this.jobOf(requestId, jobId);
    if (job && !waiter) this.deps.fleet.applyResult(job.op, host, value, domainOf(job));
    await this.recorded(requestId, jobId, { ok: true, result: value });
  }

  private async onFailed(host: string, jobId: string, failedReason: string): Promise<void> {
    this.waiters.get(jobId)?.done(false);
    const requestId = await this.requestOf(jobId);
    if (!requestId) return;
    const failure = failureOf(failedReason);
    if (failure.code === 'domain.notFound') this.learnFromFailure(host, await this.jobOf(requestId, jobId), failure);
    await this.recorded(requestId, jobId, { ok: false, failure });
  }

  /** A host that said it has no such domain is not sent the name again on the bot's stale word (see forget). */
  private learnFromFailure(host: string, job: PendingJob | undefined, failure: JobFailure): void {
    const domain = domainOf(job);
    if (failure.code === 'domain.notFound' && domain) this.deps.fleet.forget(host, domain);
  }

  /** One of a request's jobs: from memory when the request is tracked here, else from Redis. */
  private async jobOf(requestId: string, jobId: string): Promise<PendingJob | undefined> {
    const shape = this.shapes.get(requestId);
    return shape ? shape.jobs.get(jobId) : (await this.deps.pending.get(requestId))?.jobs.find((j) => j.jobId === jobId);
  }

  /** Records a job's outcome, and advances the request unless it is known to wait for more of its hosts. */
  private async recorded(requestId: string, jobId: string, outcome: StoredOutcome): Promise<void> {
    const shape = this.shapes.get(requestId);
    if (shape) this.answered(shape, jobId, outcome);
    if (shape && shape.request.mode !== 'sequence' && this.canDeliver(shape.request)) {
      // A tracked fan-out this bot delivers: the last outcome claims the final reply in the same round trip.
      const p = shape.request;
      const {
        result: { count, final },
        won,
      } = await this.claim(
        requestId,
        () => this.deps.pending.recordAndClaim(requestId, jobId, outcome, p.jobs.length, { ours: true }),
        (r) => (!r.final ? 'not' : r.final.ours ? 'ours' : 'won'),
      );
      if (count < p.jobs.length) return;
      if (!final || !won) {
        // Claimed already. By another bot, or the deadline: nothing of it is kept in memory. Or by this bot, for the
        // other job's event (recover() records outcomes too, so both events can find every outcome in): its delivery
        // waits in the request's chain for the "queued" reply, and needs the target that reply returns. Or to be
        // looked at again (unsure): it is recovered then.
        if (!this.claiming.has(requestId) && !this.unsure.has(requestId)) {
          this.forgetShape(requestId);
          this.clearTimers(requestId);
        }
        return;
      }
      this.claiming.add(requestId);
      await this.serial(requestId, () => this.finalizeNow({ ...p, target: final.target ?? p.target }, final.outcomes));
      return;
    }
    const { count } = await this.deps.pending.recordOutcomeCounted(requestId, jobId, outcome);
    if (shape && shape.request.mode !== 'sequence' && count < shape.request.jobs.length) return;
    await this.advance(requestId);
  }

  /**
   * `saved`: the request is in Redis (remembered before its transaction is sent, it is not yet); `unanswered`: or may
   * be — the transaction saving it was sent and Redis did not answer it.
   */
  private remember(p: PendingRequest, saved = false, unanswered = false): void {
    const before = this.shapes.get(p.requestId);
    const shape: RequestShape = {
      request: p,
      jobs: new Map(p.jobs.map((j) => [j.jobId, j])),
      // A request remembered again keeps what has answered: those hosts are not watched again.
      answered: new Set(before?.answered),
      steps: new Map(before?.steps),
      saved: saved || before?.saved === true,
      // Saved for sure (tracked after its transaction, or read back from Redis) it no longer is unanswered.
      unanswered: saved ? unanswered : before?.unanswered === true,
      // Its jobs' events may come before its unanswered transaction is given up on (track()).
      seenQueued: before?.seenQueued === true,
      ...(before?.delivered ? { delivered: before.delivered } : {}),
    };
    this.shapes.set(p.requestId, shape);
    for (const j of p.jobs) this.jobRequests.set(j.jobId, p.requestId);
    // Its hosts' events are read as they come until each job's outcome (a request remembered again: once).
    this.watchJobs(awaited(shape));
    if (before) this.unwatchJobs(before);
  }

  private forgetShape(requestId: string): void {
    this.dropHeld(requestId);
    const shape = this.shapes.get(requestId);
    if (!shape) return;
    this.shapes.delete(requestId);
    for (const jobId of shape.jobs.keys()) this.jobRequests.delete(jobId);
    this.unwatchJobs(shape);
  }

  private watchJobs(jobs: Iterable<PendingJob>): void {
    for (const j of jobs) this.events?.watch(hostQueueName(j.host));
  }

  /** The hosts of a request's jobs still awaited are watched no more. */
  private unwatchJobs(shape: RequestShape): void {
    for (const j of awaited(shape)) this.events?.unwatch(hostQueueName(j.host));
  }

  /**
   * A job's outcome came: its host's events are not needed for it any more. A fan-out's blocking read names fewer
   * streams as its hosts answer (every read of a /status over 1,000 hosts named them all until the last answered).
   */
  private answered(shape: RequestShape, jobId: string, outcome?: StoredOutcome): void {
    const j = shape.jobs.get(jobId);
    // A plan's outcomes are kept (a few steps): a plan Redis loses is still told step by step (see lostWithRedis).
    if (outcome && shape.request.mode === 'sequence') shape.steps.set(jobId, outcome);
    // An outcome of one of its jobs: it was queued.
    shape.seenQueued = true;
    if (!j || shape.answered.has(jobId)) return;
    shape.answered.add(jobId);
    this.events?.unwatch(hostQueueName(j.host));
  }

  /** The request a job belongs to: from memory when this bot tracks it, else from Redis (another bot's). */
  private async requestOf(jobId: string): Promise<string | null> {
    return this.jobRequests.get(jobId) ?? this.deps.pending.requestOf(jobId);
  }

  /**
   * A request the dispatcher saved and is about to queue: remembered now, since its first jobs' events may come
   * before the last of 1,000 jobs is queued (and track() is called). The returned function forgets it again, for a
   * request none of whose jobs could be queued.
   */
  expect(p: PendingRequest): () => void {
    this.remember(p);
    return () => this.forgetShape(p.requestId);
  }

  /**
   * Delivers a request's first message ("queued") in the request's delivery order, without holding up its jobs: a
   * chat platform's round trip (an edit of a Discord interaction, a Telegram message sent) used to come before the
   * jobs were queued. Every later delivery for the request — progress edits, the result — waits for it and goes to the
   * target it returned, so the result still edits that message however fast the jobs finish. A delivery that fails
   * is logged: the result then goes to the request's own target.
   *
   * `held`: the line waits bot.queuedReplyDelayMs first, and is not sent at all once another reply for the request
   * has come (or the request is over): a read answered within the delay is one message, not a message and an edit of
   * it — half the calls against Telegram's ~20 messages and ~20 edits a minute per group, and no "queued" flashing
   * before the answer. Discord shows "thinking…" meanwhile (the defer); Telegram and the terminal show nothing.
   */
  announce(p: PendingRequest, r: Reply, saved: Promise<boolean>, held = false): void {
    this.dropHeld(p.requestId);
    const delayMs = held ? this.deps.config.bot.queuedReplyDelayMs : 0;
    if (delayMs <= 0) {
      this.announceNow(p, r, saved, false);
      return;
    }
    const timer = setTimeout(() => {
      this.held.delete(p.requestId);
      this.announceNow(p, r, saved, true);
    }, delayMs);
    this.held.set(p.requestId, timer);
  }

  private announceNow(p: PendingRequest, r: Reply, saved: Promise<boolean>, late: boolean): void {
    const waitMs = this.deps.config.bot.queuedReplyWaitMs;
    // Past the wait the chain moves on (the result then goes to the target known so far); a late "queued" still
    // becomes the target of what follows it, or changes nothing once the request is finished.
    this.serial(p.requestId, () => {
      // Released after a delay: a reply already delivered or under way (a progress edit, the result) must not be
      // edited over by "queued".
      const shape = this.shapes.get(p.requestId);
      if (late && (!shape || shape.delivered !== undefined || this.finalized.has(p.requestId))) return Promise.resolve();
      return withTimeout(
        this.edit(p, r, saved),
        waitMs,
        `${p.target.platform} took more than ${Math.round(waitMs / 1000)} s to take the "queued" reply`,
      );
    }).catch((e: unknown) =>
      this.deps.logger.warn({ err: redactSecrets(String(e)), requestId: p.requestId }, 'the "queued" reply could not be delivered'),
    );
  }

  /** A held "queued" line is not sent: a reply for the request comes in its place, or none is due any more. */
  private dropHeld(requestId: string): void {
    const timer = this.held.get(requestId);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.held.delete(requestId);
  }

  /**
   * Resolves once the request's deliveries under way are over (the dispatcher's error reply comes after them), with
   * the target the last of them returned (where that reply goes), if any.
   */
  async settled(requestId: string): Promise<ReplyTarget | undefined> {
    this.dropHeld(requestId);
    await this.chains.get(requestId)?.catch(() => {});
    return this.shapes.get(requestId)?.delivered;
  }

  /**
   * A request as an event handler needs it: a tracked one from memory with its current target (a small read: the
   * target is the one part that changes, when a reply is edited), another bot's read whole. Null once it is finished.
   */
  private async current(requestId: string): Promise<PendingRequest | null> {
    const shape = this.shapes.get(requestId);
    if (!shape) return this.deps.pending.get(requestId);
    const target = await this.deps.pending.target(requestId);
    return target ? { ...shape.request, target } : null;
  }

  /**
   * Audits a job's start (a mutation's: the agent announces no read's, see withoutStartEvents), by the bot that tracks
   * its request only: every bot on the prefix reads every host's events (bot.ha's standby too), and each audited the
   * start of the others' jobs as well — twice in the trail. A request a bot takes over (recovery) is tracked from then
   * on.
   */
  private async onActive(host: string, jobId: string): Promise<void> {
    const requestId = this.jobRequests.get(jobId);
    const shape = requestId ? this.shapes.get(requestId) : undefined;
    if (!shape) return;
    // An agent took one of its jobs: it was queued.
    shape.seenQueued = true;
    const job = shape.jobs.get(jobId);
    // A read's start is left out by the bot too: an agent of the version before announces every job's.
    if (job && !opSpec(job.op).mutates) return;
    await this.deps.audit({ event: 'job.start', ...auditBase(shape.request), host, jobId, targets: job ? [job.data] : [] });
  }

  /**
   * Rotates `finalized`, and drops the progress throttle's entries too old to throttle anything: an entry is otherwise
   * removed only when this bot finalizes its request, so one for another bot's request, or for a request finalized
   * already, would stay for good.
   */
  private prune(): void {
    this.finalized.tick();
    const now = Date.now(); // this process's own throttle
    for (const [id, at] of this.lastProgress) if (now - at >= PROGRESS_MIN_INTERVAL_MS) this.lastProgress.delete(id);
  }

  private async onProgress(jobId: string, data: unknown): Promise<void> {
    const requestId = await this.requestOf(jobId);
    if (!requestId) return;
    const now = Date.now();
    const wait = (this.lastProgress.get(requestId) ?? 0) + PROGRESS_MIN_INTERVAL_MS - now;
    if (wait > 0) {
      // Shown when the interval ends, not dropped: a line said once ("xen2 stopped answering" during a migration) was
      // lost for good when it came right after another. Only the latest of those in one interval is shown.
      const waiting = this.trailingProgress.get(requestId);
      if (waiting) Object.assign(waiting, { jobId, data });
      else {
        const timer = setTimeout(() => {
          const latest = this.trailingProgress.get(requestId);
          this.trailingProgress.delete(requestId);
          if (latest) this.guard('progress', () => this.onProgress(latest.jobId, latest.data));
        }, wait);
        timer.unref();
        this.trailingProgress.set(requestId, { jobId, data, timer });
      }
      return;
    }
    this.dropTrailingProgress(requestId);
    this.lastProgress.set(requestId, now);
    const parsed = JobProgress.safeParse(data);
    if (!parsed.success) return;
    await this.serial(requestId, async () => {
      const p = await this.current(requestId);
      if (!p || this.finalized.has(requestId) || !this.canDeliver(p)) return;
      const command = this.deps.commands.get(p.command);
      // The agent names hosts the asker may not see ("checking xen1, vault for backup"): as its failures, redacted.
      const progress = p.visibleHosts
        ? { ...parsed.data, message: redactHosts(parsed.data.message, this.deps.hostNames, p.visibleHosts) }
        : parsed.data;
      const r =
        command && command.scope !== 'local' && command.renderProgress
          ? command.renderProgress(progress, p.args as never)
          : reply.progress(`/${p.command}`, progress.message, progress.percent);
      await this.edit(p, r);
    });
  }

  private dropTrailingProgress(requestId: string): void {
    const waiting = this.trailingProgress.get(requestId);
    if (waiting) clearTimeout(waiting.timer);
    this.trailingProgress.delete(requestId);
  }

  private async onStalled(jobId: string): Promise<void> {
    const requestId = await this.requestOf(jobId);
    if (!requestId) return;
    await this.serial(requestId, async () => {
      const p = await this.current(requestId);
      if (!p || this.finalized.has(requestId) || !this.canDeliver(p)) return;
      await this.edit(
        p,
        reply.progress(
          `/${p.command}`,
          'the agent running this stopped responding; the next agent to pick it up reads the state back before doing anything',
        ),
      );
    });
  }

  /** `saved`: the request is being saved meanwhile (the "queued" reply); its target is written once it is, if it is. */
  private async edit(p: PendingRequest, r: Reply, saved?: Promise<boolean>): Promise<void> {
    this.dropHeld(p.requestId);
    // Asked again at the last moment: a "queued" line or a progress edit that waited behind a read of Redis (10 s
    // when Redis is cut off) may come after this bot stopped leading — and a Discord edit goes through the
    // interaction's webhook, not the gateway, so it would still land, over the new leader's final answer.
    if (!this.canDeliver(p)) return;
    // Its final reply is claimed or out: on a platform that edits one message, this line would replace the result.
    // Every delivery runs in the request's chain, so one that comes after the final finds it here (the dispatcher's
    // "not known yet" for a MULTI Redis ran but never answered, once the job had finished meanwhile).
    if (this.finalized.has(p.requestId)) return;
    const next = await this.deps.deliver(p.target, r);
    const shape = this.shapes.get(p.requestId);
    if (shape) shape.delivered = next;
    // The target stored is the one this delivery went to (p's, read or saved before it): a platform that answers
    // with the same message (the terminal, a Telegram edit) changes nothing worth a write.
    if (JSON.stringify(next) === JSON.stringify(p.target)) return;
    // The request is saved on another connection: written before it is there, the target would be missed (SET XX)
    // and whatever read it later — a stall notice, another bot's result — would post anew instead of editing.
    if (saved && !(await saved)) return;
    await this.deps.pending.updateTarget(p.requestId, next);
  }

  private canDeliver(p: PendingRequest): boolean {
    return (
      this.deps.platforms.has(p.target.platform) &&
      (p.origin === undefined || p.origin === this.deps.instance || this.adopted.has(p.requestId))
    );
  }

  /**
   * A process-local request (the terminal's) is its bot's to answer: no other process prints to that terminal. Once
   * that bot no longer runs (restarted: the new process is another instance; stopped; killed, once its "still
   * running" lapses) nobody would — no reply, no audited outcome, its domain lock held —, so a bot with that platform
   * adopts it. Two such bots may both adopt it: the final reply's claim lets one answer. True when this bot may
   * deliver it now; a request of a bot still running is watched, and adopted if that bot goes first (adoptWatched).
   */
  private async adoptIfOrphan(p: PendingRequest): Promise<boolean> {
    if (this.canDeliver(p)) return true;
    const { origin, requestId } = p;
    if (origin === undefined || !this.deps.liveBots || !this.deps.platforms.has(p.target.platform)) return false;
    const live = await this.deps.liveBots().catch((e: unknown) => {
      this.deps.logger.warn({ err: redactSecrets(String(e)), requestId }, 'could not read which bots run: looked at again later');
      return null;
    });
    if (live === null || live.has(origin)) {
      this.orphanWatch.set(requestId, { origin, deadline: p.deadline });
      return false;
    }
    this.orphanWatch.delete(requestId);
    this.adopted.add(requestId);
    this.deps.logger.warn({ requestId, origin }, 'a terminal request whose bot no longer runs (it restarted?): this bot answers it');
    return true;
  }

  /**
   * The watched requests (see orphanWatch) whose bot no longer runs are adopted and answered; those finished
   * meanwhile are watched no more.
   */
  private async adoptWatched(): Promise<void> {
    if (this.orphanWatch.size === 0 || !this.deps.liveBots) return;
    const live = await this.deps.liveBots();
    const orphans = [...this.orphanWatch].filter(([, w]) => !live.has(w.origin));
    for (const [requestId, { deadline }] of orphans) {
      this.orphanWatch.delete(requestId);
      this.adopted.add(requestId);
      this.deps.logger.warn({ requestId }, 'the bot of a terminal request went before answering it: this bot answers it');
      // As a recovery: its outcomes may have come while nobody could answer; a claim its bot left is taken over.
      await this.advance(requestId, deadline !== null && deadline <= this.deps.clock.now(), true);
    }
    const waiting = [...this.orphanWatch.keys()];
    if (waiting.length === 0) return;
    const gone = await this.deps.pending.gone(waiting);
    for (const id of gone.keys()) this.orphanWatch.delete(id);
  }

  /** Withdraws a mutation no agent picked up in time: removed from its queue, so it never runs later. */
  private async withdraw(requestId: string): Promise<void> {
    const p = await this.deps.pending.get(requestId);
    if (!p || p.pickupBy === null) return;
    const outcomes = await this.deps.pending.outcomes(requestId);
    for (const j of p.jobs) {
      if (outcomes[j.jobId]) continue;
      const removed = await this.removeUntaken(j);
      if (removed === 'active') await this.noticeSilentAgent(p, j.host);
      else if (removed === 'removed') await this.deps.pending.recordOutcomeOnce(requestId, j.jobId, this.withdrawnOutcome(j.host));
    }
    await this.advance(requestId);
  }

  /**
   * Removes a job from its queue if no agent has taken it yet. `active`: an agent runs it; `kept`: it stays (it ended,
   * or was taken before it could be removed: its outcome comes as usual); `gone`: BullMQ does not have it.
   */
  private async removeUntaken(j: PendingJob): Promise<'removed' | 'active' | 'kept' | 'gone'> {
    const job = await this.deps.queues.job(j.host, j.jobId);
    if (!job) return 'gone';
    const state = await job.getState();
    if (state === 'active') return 'active';
    if (state !== 'waiting' && state !== 'delayed' && state !== 'prioritized') return 'kept';
    // Picked up once already (handed back by a stopping agent, or its agent died): it may have sent its command,
    // and its next agent verifies the state instead; withdrawing it now would say "nothing was done" untruly.
    if (job.attemptsStarted > 0) return 'kept';
    // Said before the job goes: a bot that dies between the two leaves a job gone and no outcome, which the next
    // one's recovery must not take for a step never queued (and queue, to run late).
    await this.deps.pending.markWithdrawing(j.jobId);
    try {
      await job.remove();
    } catch {
      // Left behind, the mark is harmless: recovery reads the journal first.
      await this.deps.pending.unmarkWithdrawing(j.jobId).catch(() => {});
      return 'kept'; // an agent took it meanwhile
    }
    return 'removed';
  }

  /** A job removed from its queue before any agent took it, and why: its pickup deadline, or its host left the config. */
  private withdrawnOutcome(host: string): StoredOutcome {
    const why = this.configured.has(host)
      ? `no agent picked it up within ${Math.round(this.deps.config.bot.pickupTimeoutMs / 1000)} s`
      : `${host} is no longer in this bot's config`;
    return { ok: false, failure: { code: 'withdrawn', message: `${why} — withdrawn: nothing was done, and it will not run later` } };
  }

  /** A running mutation whose agent went silent: say so, rather than let "queued" stand for ever. */
  private async noticeSilentAgent(p: PendingRequest, host: string): Promise<void> {
    const now = this.deps.clock.now();
    const beat = (await this.deps.heartbeats.all())[host];
    if (livenessOf(beat, now, this.deps.config.bot.agentStaleMs).alive || !this.canDeliver(p)) return;
    const seen = beat ? `last seen ${Math.round((now - beat.seenAt) / 1000)} s ago` : 'never seen';
    await this.serial(p.requestId, () =>
      this.edit(
        p,
        reply.progress(
          `/${p.command}`,
          `the agent running this on ${host} has gone silent (${seen}); the next agent to take it reads the state back before doing anything`,
        ),
      ),
    );
  }

  /** Queues a plan's next step, or delivers the final reply once every job answered (or the deadline passed). */
  private advance(requestId: string, deadlinePassed = false, takeOver = false): Promise<void> {
    return this.serial(requestId, () => this.advanceNow(requestId, deadlinePassed, takeOver));
  }

  private async advanceNow(requestId: string, deadlinePassed: boolean, takeOver: boolean): Promise<void> {
    const p = await this.deps.pending.get(requestId);
    if (!p) {
      // Finished (here or by another bot): nothing of it is kept in memory. Or lost with Redis's data: said.
      await this.settleGone(requestId);
      return;
    }
    const outcomes = await this.deps.pending.outcomes(requestId);
    if (p.mode === 'sequence') {
      // A failure, or a step that ran and missed the plan's point (a guest that moved but does not run there).
      const failed = p.jobs.some((j) => {
        const o = outcomes[j.jobId];
        return o !== undefined && endsPlan(o);
      });
      const next = p.jobs.findIndex((j) => !outcomes[j.jobId]);
      if (!failed && next >= 0) {
        // Step 0 was queued by the dispatcher; a later one is queued here once, then awaited like the first.
        if (next === 0 || (await this.queueStep(p, next)) !== 'refused') return;
      }
    } else if (p.jobs.some((j) => !outcomes[j.jobId]) && !deadlinePassed) return;
    await this.finalizeNow(p, undefined, takeOver);
  }

  /**
   * A request this bot tracks that Redis no longer has, and that nobody finished (a finished request keeps its final
   * claim for a day), was lost with Redis's data: its jobs went too, so no event, outcome or timer would ever answer
   * it, and "queued" would stand for ever. Each such request gets a final reply saying what is known — for a
   * mutation, that whether it took effect is unknown.
   */
  private async findLost(): Promise<void> {
    if (this.lookingForLost) return;
    this.lookingForLost = true;
    try {
      await this.claimAgain();
      await this.adoptWatched();
      await this.findLostNow();
    } finally {
      this.lookingForLost = false;
    }
  }

  /**
   * The requests whose final claim this bot may hold with nothing here delivering them (`unsure`) are recovered, as
   * after an outage: their claim, found to be this bot's own, is theirs to send. Again at the next check while Redis
   * still fails (a reconnect also recovers them: recover()).
   */
  private async claimAgain(): Promise<void> {
    await Promise.all(
      [...this.unsure].map(async (requestId) => {
        this.unsure.delete(requestId);
        if (this.delivering.has(requestId)) return;
        try {
          const p = await this.deps.pending.get(requestId);
          if (p) await this.recoverOne(p);
        } catch (error) {
          if (!this.delivering.has(requestId)) this.unsure.add(requestId);
          if (!isRedisDown(error) && !isRedisSilent(error))
            this.deps.logger.error({ err: redactSecrets(String(error)), requestId }, 'could not recover a request');
        }
      }),
    );
  }

  private async findLostNow(): Promise<void> {
    const ids = [...this.shapes.values()]
      .filter((s) => s.saved && !this.claiming.has(s.request.requestId) && !this.finalized.has(s.request.requestId))
      .map((s) => s.request.requestId);
    if (ids.length === 0) return;
    // Redis down: said where it matters (requests refused, the wait lines); the next look comes once it is back.
    const gone = await this.deps.pending.gone(ids).catch((error: unknown) => {
      if (isRedisDown(error) || isRedisSilent(error)) return null;
      throw error;
    });
    if (!gone) return;
    // Seen in Redis, a request whose saving went unanswered was saved after all: missing later, Redis lost it.
    for (const id of ids) if (!gone.has(id)) this.queuedForSure(id);
    await Promise.all([...gone.keys()].map((id) => this.serial(id, () => this.settleGone(id))));
  }

  private queuedForSure(requestId: string): void {
    const shape = this.shapes.get(requestId);
    if (shape) shape.seenQueued = true;
  }

  /** In the request's chain: the request is no longer in Redis. Forgotten if it was finished; answered if it was lost. */
  private async settleGone(requestId: string): Promise<void> {
    const shape = this.shapes.get(requestId);
    // Asked again in the chain: a delivery before this one in it may have finished the request.
    const state = shape?.saved && !this.finalized.has(requestId) ? (await this.deps.pending.gone([requestId])).get(requestId) : 'finished';
    if (!shape || state !== 'lost') {
      if (state !== undefined) {
        this.forgetShape(requestId);
        this.clearTimers(requestId);
      }
      return;
    }
    if (!this.canDeliver(shape.request)) {
      // Not this bot's to say now (a standby; another bot's platform or terminal): kept, and said once this bot can —
      // a standby that becomes the leader — or forgotten once another bot has said it (it is then "finished").
      this.deps.logger.debug({ requestId }, 'Redis lost a request whose reply this bot cannot deliver now');
      return;
    }
    // Claimed as any final reply is (another bot tracking it as well finds the claim, and only forgets it).
    const { won } = await this.claim(requestId, () => this.deps.pending.claimFinal(requestId, { ours: true }), verdictOf);
    if (!won) return;
    // Kept two days at most: an older one was not lost with Redis's data, it expired still unanswered. One whose
    // saving Redis never answered most likely never reached it: Redis lost nothing, and saying so would be untrue.
    const why: GoneWhy =
      shape.unanswered && !shape.seenQueued
        ? 'neverAnswered'
        : this.deps.clock.now() - shape.request.createdAt >= PENDING_TTL_SECONDS * 1000 - 2 * LOST_CHECK_MS
          ? 'expired'
          : 'lost';
    const logged = {
      expired: 'a request expired in Redis still unanswered (two days): its final reply says so',
      lost: 'Redis no longer has this request (it lost its data: a restart without it, a flush, a failover): its final reply says so',
      neverAnswered: 'Redis does not have a request whose saving it never answered (most likely never received): its final reply says so',
    }[why];
    if (why === 'neverAnswered') this.deps.logger.warn({ requestId, command: shape.request.command }, logged);
    else this.deps.logger.error({ requestId, command: shape.request.command }, logged);
    await this.finalizeNow(shape.request, lostWithRedis(shape, why));
  }

  /**
   * Queues step `index` of a plan, exactly once across bots; `refused` (its domain is busy, or its host is no longer in
   * the config) ends the plan.
   */
  private async queueStep(p: PendingRequest, index: number): Promise<'queued' | 'already' | 'refused'> {
    const j = p.jobs[index];
    if (!j) return 'refused';
    if (!(await this.deps.pending.claimStep(p.requestId, index))) return 'already';
    // Taken out of the config since the plan was made (and the bot restarted), as its host or as a migration's
    // target: the plan ends here. The agent may still serve it, and nobody would follow what it did there.
    const gone = hostsOfJob(j.data).filter((h) => !this.configured.has(h));
    if (gone.length > 0) {
      await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, {
        ok: false,
        failure: {
          code: 'rejected',
          message: `${gone.join(' and ')} ${gone.length > 1 ? 'are' : 'is'} no longer in this bot's config: not run`,
        },
      });
      return 'refused';
    }
    // Frozen since the plan was approved or began (someone's /freeze, a window opening): the plan stops here, as an
    // approved request about to run is refused (dispatch checks the first step).
    const frozen = opSpec(j.op).mutates ? await this.deps.frozen(hostsOfJob(j.data)) : [];
    if (frozen.length > 0) {
      await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, {
        ok: false,
        failure: {
          code: 'rejected',
          message: `Frozen: ${frozen.map((f) => describeFreeze(f, this.deps.config.oncall?.timezone)).join('; ')}; not run`,
        },
      });
      return 'refused';
    }
    const now = this.deps.clock.now();
    const holder = lockHolderFor(j.data, p.person, now);
    if (holder) {
      const lock = await this.deps.locks.acquire(holder, lockTtlMs(this.deps.config));
      if (!lock.ok) {
        await this.deps.pending.recordOutcomeOnce(p.requestId, j.jobId, {
          ok: false,
          failure: { code: 'locked', message: describeBusy(holder.domain, lock.holder) },
        });
        return 'refused';
      }
    }
    const data = j.data.meta.notAfter
      ? { ...j.data, meta: { ...j.data.meta, notAfter: now + this.deps.config.bot.pickupTimeoutMs } }
      : j.data;
    await this.deps.queues.add([{ data, jobId: j.jobId }]);
    // A step that ran leaves a job for a while, and a journal entry if it sent a mutation; this mark outlives both.
    await this.deps.pending
      .markStepQueued(p.requestId, index)
      .catch((e: unknown) =>
        this.deps.logger.warn({ err: redactSecrets(String(e)), requestId: p.requestId }, 'could not mark a step queued'),
      );
    if (data.meta.notAfter !== undefined) {
      // This step's own pickup deadline: the withdrawal timer is armed again for it.
      const next = { ...p, pickupBy: data.meta.notAfter };
      await this.deps.pending.save(next);
      this.arm(next);
    }
    // Counted as the card counts a plan ("2 steps"): its changes, not the read-back after them.
    const changes = p.jobs.filter((x) => opSpec(x.op).mutates);
    if (this.canDeliver(p))
      await this.edit(
        p,
        reply.progress(
          `/${p.command}`,
          opSpec(j.op).mutates ? `step ${changes.indexOf(j) + 1} of ${changes.length} queued on ${j.host}` : `reading ${j.host} back`,
        ),
      );
    return 'queued';
  }

  /**
   * `claimed`: the final reply is already claimed (recordAndClaim), with these outcomes. `takeOver`: a recovery's
   * (see PendingStore.claimFinal).
   */
  private async finalizeNow(given: PendingRequest, claimed?: Record<string, StoredOutcome>, takeOver = false): Promise<void> {
    const { requestId } = given;
    // The target of this bot's last delivery (see announce): the one a claim read may predate it.
    const latest = this.shapes.get(requestId)?.delivered;
    const p = latest ? { ...given, target: latest } : given;
    this.claiming.delete(requestId);
    this.forgetShape(requestId);
    if (!claimed) {
      // A bot without this platform's adapter leaves the reply to one that has it; a terminal's, to its own bot while
      // that runs.
      if (!(await this.adoptIfOrphan(p))) return;
      const { result: claim, won } = await this.claim(
        requestId,
        () => this.deps.pending.claimFinal(requestId, { takeOver, graceMs: this.claimGraceMs(), ours: true }),
        verdictOf,
      );
      if (!claim || (claim.kind === 'ours' && !won)) {
        // Another bot's to send (an adopted request's too: it adopted it as well); or looked at again (unsure).
        this.adopted.delete(requestId);
        return;
      }
      if (claim.kind === 'tooYoung') {
        // Another bot claimed it a moment ago and may be sending it (one handing over on SIGTERM finishes what it
        // sends): looked at again once the claim is older than the grace. A read past its deadline is answered then
        // with what came: that bot may have claimed it at the deadline, and a host silent then may never answer (nor
        // would its answer be delivered: the claim is not this bot's until taken over).
        this.later(requestId, claim.waitMs + 100, 'claim grace', () =>
          this.advance(requestId, p.deadline !== null && p.deadline <= this.deps.clock.now(), true),
        );
        return;
      }
      if (claim.kind === 'sentElsewhere') {
        // Sent by a bot that died before its bookkeeping: only that is left to do.
        this.deps.logger.warn({ requestId }, 'the final reply was sent by a bot that went before removing the request: removed now');
        this.adopted.delete(requestId);
        await this.finishBookkeeping(p);
        return;
      }
      if (claim.kind === 'takenOver')
        this.deps.logger.warn({ requestId }, 'the final reply was claimed by a bot that went before sending it: this bot sends it');
    }
    this.finalized.add(requestId);
    this.clearTimers(requestId);
    const sending = { started: false };
    try {
      await this.sendFinal(p, claimed, sending);
    } catch (error) {
      if (error instanceof FinalLeft) {
        this.deps.logger.warn({ requestId }, 'the final reply is left undelivered here, for a recovery to send');
        return;
      }
      // Nothing reached the platform (a read of Redis failed first): the claim is this bot's to send, later.
      if (!sending.started) {
        this.delivering.delete(requestId);
        this.unsure.add(requestId);
      }
      throw error;
    } finally {
      // Kept from the end of its delivery (retried for minutes, it may outlast the window): the deliveries waiting
      // behind it in the request's chain must still find it finalized (see edit).
      this.finalized.add(requestId);
      // Out, or left to a recovery here (unsure), which adopts it again if its bot still does not run.
      this.adopted.delete(requestId);
    }
  }

  /** The final reply of a request whose claim this bot holds; `sending.started` once the platform is asked. */
  private async sendFinal(
    p: PendingRequest,
    claimed: Record<string, StoredOutcome> | undefined,
    sending: { started: boolean },
  ): Promise<void> {
    const { requestId } = p;
    const outcomes = claimed ?? (await this.deps.pending.outcomes(requestId));
    const seconds = Math.round(this.deps.config.bot.readTimeoutMs / 1000);
    const ran = p.mode === 'sequence' ? p.jobs.filter((j) => outcomes[j.jobId]) : p.jobs;
    const command = this.deps.commands.get(p.command);
    // Agents and freezes are two more Redis reads: only for the commands that show them (/status).
    const health = command?.scope !== 'local' && command?.showsHostHealth === true;
    const beats = health ? await this.deps.heartbeats.all().catch(() => ({}) as Awaited<ReturnType<Heartbeats['all']>>) : {};
    const freezes = health ? await this.deps.frozen(p.jobs.map((j) => j.host)).catch(() => [] as Freeze[]) : [];
    const frozenOf = (host: string) => {
      const f = freezes.find((x) => x.host === host);
      return f ? describeFreeze(f, this.deps.config.oncall?.timezone) : null;
    };
    const now = this.deps.clock.now();
    const roles = p.domainScopedRoles;
    const permission = command && command.scope !== 'local' ? command.permission : null;
    const mayName =
      roles && permission
        ? (host: string, domain: string) =>
            authorize(this.deps.config, { id: p.person, displayName: p.person, roles }, permission, { host, domain }).allowed
        : null;
    const list: HostOutcome<JobOp>[] = ran.map((j) => {
      const o: StoredOutcome | undefined = outcomes[j.jobId];
      const beat = beats[j.host];
      const agent = !health
        ? null
        : beat
          ? { where: beat.where, seenAgoMs: now - beat.seenAt, alive: livenessOf(beat, now, this.deps.config.bot.agentStaleMs).alive }
          : null;
      const frozen = frozenOf(j.host);
      if (!o) {
        const failure = { code: 'noAnswer' as const, message: `no answer from ${j.host}'s agent within ${seconds} s` };
        return { host: j.host, agent, frozen, ok: false, failure };
      }
      if (o.ok)
        return {
          host: j.host,
          agent,
          frozen,
          ok: true,
          result: (mayName ? scopeResult(o.result, (d) => mayName(j.host, d)) : o.result) as never,
        };
      const message = p.visibleHosts ? redactHosts(o.failure.message, this.deps.hostNames, p.visibleHosts) : o.failure.message;
      return { host: j.host, agent, frozen, ok: false, failure: { ...o.failure, message } };
    });
    let final: Reply;
    let target = p.target;
    try {
      if (!command || command.scope === 'local') throw new Error(`no job command ${p.command}`);
      const prepared = await this.deps.posts.prepare(p, command, list, mayName);
      target = prepared.target;
      const froze = await this.freezeAfter(p, command, list);
      prepared.ctx.fleet = { view: this.deps.fleet, visible: p.visibleHosts ?? this.deps.hostNames };
      const moved = prepared.ctx.runsElsewhere;
      const [first] = p.jobs;
      // Its host said the guest is not there, and it runs elsewhere (runs-elsewhere.ts): that is the answer, whatever
      // the command — said once here rather than by each command's render. An approved request's refusal keeps its
      // own words (the approval it was bound to), with where the guest runs now added.
      const rendered = () => command.render(list as never, p.args as never, froze ? { ...prepared.ctx, froze } : prepared.ctx);
      final =
        moved && first
          ? first.data.meta.expect
            ? refusedRunsElsewhere(rendered(), command.name, moved, p.args['force'] === true)
            : runsElsewhereReply(command.name, opSpec(first.op).mutates, moved, p.args['force'] === true)
          : rendered();
    } catch (error) {
      this.deps.logger.error({ err: String(error), requestId }, 'render failed');
      final = reply.error('Something went wrong', 'the result could not be shown; it is in the audit log');
    }
    // Printed in a terminal that did not ask it (a new session of the restarted bot): said whose it is.
    if (this.adopted.has(requestId) && !p.schedule) final = { ...final, blocks: [reply.text(adoptedLine(p)), ...final.blocks] };
    // Which schedule posted it, and how to stop it: a top or digest post read like anyone's /top, and with several
    // schedules in a channel the id to remove was nowhere (a demo pass).
    if (p.schedule) final = { ...final, blocks: [...final.blocks, reply.text(scheduleLine(p.schedule.id))] };
    const dropRemoved = async (schedule: string) => {
      this.deps.logger.info({ requestId, schedule }, 'scheduled post dropped: its schedule was removed');
      await this.deps.pending.markSent(requestId).then(
        () => this.delivering.delete(requestId),
        () => {},
      );
      await this.finishBookkeeping(p);
    };
    // Removed while this tick ran (looked at last, after the reads and the rendering): "/schedule remove" answered
    // "no more posts". Its bookkeeping is all that is left.
    if (p.schedule && (await this.deps.posts.removed(p.schedule.id))) return dropRemoved(p.schedule.id);
    // A scheduled post (an edit schedule's stored message edited, a deleted one posted anew by the adapter) that does
    // not reach the platform is not recorded as shown: its snapshot would make the next post's "what changed" start
    // from a state nobody saw, and a crash between the two would never be said.
    // One overtaken by a later tick is not posted, nor recorded: what it saw is older than what the channel shows.
    let shown = true;
    let overtaken = false;
    sending.started = true;
    const delivered = p.schedule
      ? await this.deps.posts.deliverPost(target, final).then(
          (posted) => {
            if (posted === null) {
              shown = false;
              overtaken = true;
            }
            return posted ?? target;
          },
          (e: unknown) => {
            shown = false;
            this.deps.logger.error({ err: redactSecrets(String(e)), requestId }, 'scheduled post could not be delivered');
            return target;
          },
        )
      : await this.deliverFinal(p, target, final);
    // Not posted because the schedule went while this tick waited for an earlier one still being sent: not overtaken.
    if (overtaken && p.schedule && (await this.deps.posts.removed(p.schedule.id))) return dropRemoved(p.schedule.id);
    // Out: no recovery sends it again, whatever happens to the bookkeeping below. Sent at once, awaited before the
    // request is removed: the audit entry below does not wait a round trip for it. A request that holds no lock and
    // has no schedule to keep is removed in the same call (nothing below needs it in Redis).
    const quick = !p.schedule && !p.jobs.some((j) => lockHolderFor(j.data, p.person, 0));
    const marked = (quick ? this.deps.pending.markSentAndRemove(p) : this.deps.pending.markSent(requestId)).then(
      () => {
        this.delivering.delete(requestId);
        return true;
      },
      (e: unknown) => {
        this.deps.logger.warn({ err: redactSecrets(String(e)), requestId }, 'could not mark the reply sent');
        return false;
      },
    );
    // Not `ok` nor `error`: nothing reached the channel, and the hosts' outcomes are the later tick's to count.
    this.deps.onCommand?.(p.command, overtaken ? 'overtaken' : final.kind !== 'error' && list.every((o) => o.ok) ? 'ok' : 'error');
    if (command && shown)
      await this.deps.posts
        .afterDelivery(p, command, list, delivered)
        .catch((e: unknown) => this.deps.logger.warn({ err: String(e), requestId }, 'schedule bookkeeping failed'));
    await this.deps.audit({
      event: 'job.outcome',
      ...auditBase(p),
      args: JSON.stringify(p.args),
      detail: `${overtaken ? `posted nothing: a later tick of schedule ${p.schedule?.id} had posted already; ` : ''}${list
        .map((o) => `${o.host}: ${o.ok ? 'ok' : `${o.failure.code} ${o.failure.message}`}`)
        .join('; ')}`,
      durationMs: this.deps.clock.now() - p.createdAt,
      targets: p.jobs.map((j) => j.data),
    });
    const sentMarked = await marked;
    // Removed already, unless that call failed: then the removal is tried on its own, as for any other request.
    if (!(quick && sentMarked)) await this.finishBookkeeping(p);
    this.lastProgress.delete(requestId);
    this.dropTrailingProgress(requestId);
  }

  /**
   * The final reply of a request that is no scheduled post, tried until the platform takes it. Its claim stays this
   * bot's, unsent, meanwhile — renewed, so no other bot's recovery takes it over while this one still tries. Throws
   * (the request left pending, its claim unsent: the next bot's recovery sends it) when this bot stops, stops leading,
   * or no longer holds the claim; returns the target unchanged after a failure that may have posted the reply (sent
   * again, it could show twice).
   */
  private async deliverFinal(p: PendingRequest, target: ReplyTarget, final: Reply): Promise<ReplyTarget> {
    const { requestId } = p;
    for (let failures = 0; ; ) {
      let error: unknown;
      // One try can outlast the takeover grace (the adapter waiting out ten 429s): the claim is kept young meanwhile.
      const claim = this.keepClaim(requestId);
      try {
        const delivered = await this.deps.posts.deliver(target, final);
        if (failures > 0) this.deps.logger.warn({ requestId, failures }, 'the final reply was delivered after failing before');
        return delivered;
      } catch (e) {
        error = e;
      } finally {
        claim.stop();
      }
      failures++;
      const err = redactSecrets(String(error));
      // The adapter's word (see DeliveryFailure); an error it did not classify is tried again.
      const kind = deliveryFailureKind(error);
      if (kind === 'refused') {
        this.deps.logger.error({ err, requestId }, 'the platform refused the final reply: not tried again (it would be refused again)');
        return target;
      }
      if (kind === 'maybe-delivered') {
        this.deps.logger.error(
          { err, requestId },
          'the final reply failed after the platform may have taken it: not sent again, lest it show twice — it may be missing',
        );
        return target;
      }
      const delayMs = Math.min(FINAL_RETRY_FIRST_MS * 2 ** (failures - 1), FINAL_RETRY_MAX_MS);
      this.deps.logger.error(
        { err, requestId, failures, retryInMs: delayMs },
        'the final reply could not be delivered; trying again (the chat shows the request unanswered until then)',
      );
      if (!(await this.waitToRetry(p, delayMs))) {
        // Its claim stays this bot's, unsent: sent by a recovery (this bot's, once it leads again; the next bot's).
        this.delivering.delete(requestId);
        if (!this.stopping) this.unsure.add(requestId);
        throw new FinalLeft();
      }
    }
  }

  /**
   * Waits `ms` before a final reply is tried again, renewing this bot's claim of it. False when it is not to be tried
   * here any more: this bot stops or stops leading, or the claim or the request is gone.
   */
  private async waitToRetry(p: PendingRequest, ms: number): Promise<boolean> {
    const step = this.claimRenewMs();
    for (let left = ms; ; left -= step) {
      if (this.stopping || !this.canDeliver(p)) return false;
      const held = await this.deps.pending.renewClaim(p.requestId).catch(() => true);
      // Looked at again: a stop that came during the renewal had no wait to wake.
      if (!held || this.stopping || !this.canDeliver(p)) return false;
      if (left <= 0) return true;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.retryWaits.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(step, left));
        timer.unref();
        this.retryWaits.add(wake);
      });
    }
  }

  /** How often a claim of a final reply still being tried is renewed: well within the grace of a takeover. */
  private claimRenewMs(): number {
    return Math.max(1_000, Math.floor(this.claimGraceMs() / 3));
  }

  /**
   * Renews this bot's claim of a request's final reply while one try of it is under way, until `stop`. A claim found
   * gone (taken over: that bot sends it) is not tried here again: waitToRetry renews first, and finds it gone.
   */
  private keepClaim(requestId: string): { stop(): void } {
    const timer = setInterval(() => void this.deps.pending.renewClaim(requestId).catch(() => {}), this.claimRenewMs());
    timer.unref();
    return { stop: () => clearInterval(timer) };
  }

  /** After the final reply: the request's domain locks released and the request removed. */
  private async finishBookkeeping(p: PendingRequest): Promise<void> {
    for (const j of p.jobs) {
      const holder = lockHolderFor(j.data, p.person, 0);
      if (holder) await this.deps.locks.release(holder.domain, p.requestId).catch(() => {});
    }
    await this.deps.pending.remove(p);
  }

  /**
   * A call claiming a request's final reply, and whether the reply is this bot's to deliver now (`won`). `verdict`
   * reads the answer: 'ours' is a claim this bot already held unsent (PendingStore.claimFinal's `ours`) — this bot's
   * to deliver unless a delivery here holds it (`delivering`), or another claim call for the request is still out
   * (its answer may be the win that delivery comes from: looked at again, `unsure`). A call that fails may have been
   * carried out all the same: looked at again once Redis answers. Nothing awaits between an answer and its verdict,
   * so two answers are judged one after the other, each seeing what the other decided.
   */
  private async claim<T>(
    requestId: string,
    call: () => Promise<T>,
    verdict: (result: T) => 'won' | 'ours' | 'not',
  ): Promise<{ result: T; won: boolean }> {
    this.claimCalls.set(requestId, (this.claimCalls.get(requestId) ?? 0) + 1);
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (!this.delivering.has(requestId)) this.unsure.add(requestId);
      throw error;
    } finally {
      const left = (this.claimCalls.get(requestId) ?? 1) - 1;
      if (left > 0) this.claimCalls.set(requestId, left);
      else this.claimCalls.delete(requestId);
    }
    const v = verdict(result);
    if (v === 'won' || (v === 'ours' && !this.delivering.has(requestId) && !this.claimCalls.has(requestId))) {
      if (v === 'ours')
        this.deps.logger.warn(
          { requestId },
          "this bot's claim of the final reply went unanswered, or its delivery failed unsent: sent now",
        );
      this.delivering.add(requestId);
      this.unsure.delete(requestId);
      return { result, won: true };
    }
    if (v === 'ours' && !this.delivering.has(requestId)) this.unsure.add(requestId);
    return { result, won: false };
  }

  /**
   * How old another bot's claim of a final reply must be before a recovery takes it over: longer than a bot handing
   * over on SIGTERM takes to finish what it sends, and than a leader cut off from Redis keeps acting (its lease).
   */
  private claimGraceMs(): number {
    return 2 * this.deps.config.bot.ha.leaseMs + 2_000;
  }

  /** Runs `fn` for the request after `ms` (cleared with the request's other timers); `what` names it in a failure. */
  private later(requestId: string, ms: number, what: string, fn: () => Promise<void>): void {
    const t = setTimeout(() => this.guard(what, fn), Math.max(0, ms));
    t.unref();
    const list = this.timers.get(requestId) ?? [];
    list.push(t);
    this.timers.set(requestId, list);
  }

  /** A plan whose every step succeeded may freeze hosts (an evacuation, its source): once, by the bot that delivers the reply. */
  private async freezeAfter(p: PendingRequest, command: AnyJobCommand, list: HostOutcome<JobOp>[]): Promise<RenderContext['froze']> {
    if (p.mode !== 'sequence' || !command.freezeAfter || !this.deps.freeze) return undefined;
    // Every change succeeded, none ending the plan (a guest that moved but does not run there): a read step that
    // failed (a read-back) is said by the render, and freezes nonetheless.
    if (list.length !== p.jobs.length || !p.jobs.every((j, i) => !opSpec(j.op).mutates || (list[i] && !endsPlan(list[i]))))
      return undefined;
    const wanted = command.freezeAfter(
      p.args,
      p.jobs.map((j) => j.data),
    );
    if (!wanted || wanted.hosts.length === 0) return undefined;
    try {
      const kept = await this.deps.freeze(wanted.hosts, p.person, wanted.reason, auditBase(p));
      if (kept.length === 0) return wanted;
      const freezes = await this.deps.frozen(kept).catch(() => [] as Freeze[]);
      return { ...wanted, kept: freezes.map((f) => describeFreeze(f, this.deps.config.oncall?.timezone)) };
    } catch (error) {
      this.deps.logger.error({ err: redactSecrets(String(error)), requestId: p.requestId }, 'freezing after the plan failed');
      return { error: redactSecrets(error instanceof Error ? error.message : String(error)) };
    }
  }
}

/** A final reply this bot stopped trying to deliver (see deliverFinal): left pending, its claim unsent. */
class FinalLeft extends Error {
  constructor() {
    super('the final reply was not delivered: left to a recovery');
  }
}

/** The first line of an adopted request's final reply (see Relay.adoptIfOrphan). */
/** The last line of a scheduled post. */
export function scheduleLine(id: string): string {
  return `Posted by schedule ${id}: /schedule remove ${id} stops it.`;
}

function adoptedLine(p: PendingRequest): string {
  return `Asked by ${p.person} (/${p.command}) of the bot before it restarted; this is what came of it.`;
}

/** What a claimFinal answer means for Relay.claim. */
function verdictOf(claim: FinalClaim): 'won' | 'ours' | 'not' {
  if (claim?.kind === 'claimed' || claim?.kind === 'takenOver') return 'won';
  return claim?.kind === 'ours' ? 'ours' : 'not';
}

function auditBase(p: PendingRequest) {
  return { requestId: p.requestId, person: p.person, platform: p.platform, userId: p.userId, channelId: p.channelId, command: p.command };
}

/**
 * A tracked request as it was saved, and its jobs by id. Of what is stored only its target (a reply edited) and a
 * plan's pickup deadline change while it runs; the target is read from Redis when used, the deadline is not used.
 */
interface RequestShape {
  request: PendingRequest;
  jobs: Map<string, PendingJob>;
  /** Jobs whose outcome came: their hosts' events are no longer watched for this request. */
  answered: Set<string>;
  /** The target this bot's last delivery for the request returned ("queued", a progress edit), once there is one. */
  delivered?: ReplyTarget;
  /** In Redis since (tracked after its transaction, or recovered from Redis): missing from it later, it was lost. */
  saved: boolean;
  /**
   * Its transaction was sent and Redis did not answer it (a connection gone silent): missing from Redis later, it most
   * likely never arrived — the request and its jobs are one MULTI, all or none — and Redis lost nothing.
   */
  unanswered: boolean;
  /** Redis was seen to have it (found there, or an event of its jobs came): not `unanswered` whatever its saving did. */
  seenQueued: boolean;
  /** A plan's outcomes as this bot learned them (a plan has a few steps; a fan-out's results are not kept). */
  steps: Map<string, StoredOutcome>;
}

/** Why Redis no longer has a request this bot tracks (see settleGone). */
type GoneWhy = 'lost' | 'expired' | 'neverAnswered';

/**
 * The outcomes of a request Redis lost (or kept until it expired, or most likely never received: `why`), from what
 * this bot knows: a plan's steps with the outcomes it saw, a job that had answered (its result went with Redis), one
 * that had not. A plan's steps after the first unanswered one were never queued, and are left out.
 */
function lostWithRedis(shape: RequestShape, why: GoneWhy): Record<string, StoredOutcome> {
  const p = shape.request;
  const running = p.jobs.findIndex((j) => !shape.answered.has(j.jobId));
  const jobs = p.mode === 'sequence' && running >= 0 ? p.jobs.slice(0, running + 1) : p.jobs;
  const expired = why === 'expired';
  const unanswered = {
    expired: 'it was still unanswered after two days, when xenops stops keeping a request',
    lost: 'Redis lost its data while this ran, and the job with it',
    // Only a timeout is known: Redis did not answer the queueing, and has no trace of it now.
    neverAnswered: 'Redis did not answer when this was queued, and has no trace of it: most likely it was never queued',
  }[why];
  const outcomes: Record<string, StoredOutcome> = {};
  for (const j of jobs)
    outcomes[j.jobId] =
      shape.steps.get(j.jobId) ??
      (shape.answered.has(j.jobId)
        ? notKnown(
            j,
            'it finished, but Redis lost its data and the result with it — check with /list',
            noAnswer('it answered, but Redis lost its data and the answer with it; ask again'),
          )
        : notKnown(
            j,
            // Lost with Redis's data, a command under way on the host goes on: a retry now would be a second change.
            `${unanswered}: whether it took effect is unknown${expired ? '' : ', and the agent may still be running it'} — check with /list before retrying`,
            noAnswer(`${unanswered}; ask again`),
          ));
  return outcomes;
}

/** A request's jobs whose outcome has not come yet. */
function awaited(shape: RequestShape): PendingJob[] {
  return [...shape.jobs.values()].filter((j) => !shape.answered.has(j.jobId));
}

/** The outcome of a job BullMQ no longer has, from the agents' journal where it kept one (mutations only). */
function lostOutcome(entry: JournalEntry | null): StoredOutcome {
  if (entry?.step === 'done') return { ok: true, result: entry.result };
  if (entry?.step === 'issuing')
    return {
      ok: false,
      failure: {
        code: 'outcomeUnknown',
        message: 'its result expired while the bot was down; the agent had sent the command — check with /list before retrying',
      },
    };
  return noAnswer('its result expired while the bot was down; check with /list');
}

/** A queued job on a host no longer in the bot's config: its queue is not followed, so only the journal can tell. */
function unconfiguredOutcome(j: PendingJob, entry: JournalEntry | null): StoredOutcome {
  const gone = `${j.host} is no longer in this bot's config`;
  if (entry?.step === 'done') return { ok: true, result: entry.result };
  return notKnown(j, `${gone}, so what became of it is not followed — check on the host before retrying`, {
    ok: false,
    failure: { code: 'rejected', message: `${gone}: not answered` },
  });
}

/** A job whose outcome is not known: for a mutation, whether it took effect is unknown; a read gets `ifRead`. */
function notKnown(j: PendingJob, ifMutation: string, ifRead: StoredOutcome): StoredOutcome {
  return opSpec(j.op).mutates ? { ok: false, failure: { code: 'outcomeUnknown', message: ifMutation } } : ifRead;
}

function noAnswer(message: string): StoredOutcome {
  return { ok: false, failure: { code: 'noAnswer', message } };
}

function domainOf(job: PendingJob | undefined): string | undefined {
  return job && jobDomain(job.data);
}

/** A failed job's reason as the user should read it. */
export function failureOf(failedReason: string | undefined): JobFailure {
  if (failedReason && STALLED_LIMIT.test(failedReason))
    return {
      code: 'outcomeUnknown',
      message: 'the agents running it kept dying, so it was given up; whether it took effect is unknown — check with /list before retrying',
    };
  return decodeJobFailure(failedReason);
}
