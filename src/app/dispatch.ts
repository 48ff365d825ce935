import type { ReplyTarget } from '../adapters/types.ts';
import type { Config } from '../config/schema.ts';
import type { JobSpec } from '../core/define-command.ts';
import { describeFreeze, type Freeze } from '../core/freeze.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import { type Decision, domainScoped, redactHosts, visibleHosts } from '../core/pipeline.ts';
import { type Reply, reply } from '../core/reply.ts';
import type { ChatRequest } from '../core/request.ts';
import { ago, clockUtc } from '../core/time-text.ts';
import {
  type AgentBeat,
  type DomainLocks,
  describeBusy,
  type Heartbeats,
  type LockHolder,
  livenessOf,
  lockHolderFor,
} from '../queue/coordination.ts';
import { hostsOfJob, type JobData, type JobMeta, jobDomain } from '../queue/jobs.ts';
import { jobIdFor } from '../queue/names.ts';
import { isMutating } from '../queue/ops.ts';
import type { Clock } from '../queue/shared-clock.ts';
import type { JobQueues } from './job-queues.ts';
import type { PendingJob, PendingRequest, PendingStore } from './pending-store.ts';
import { isRedisSilent } from './redis-wait.ts';

type Enqueue = Extract<Decision, { kind: 'enqueue' }>;

export interface DispatchDeps {
  config: Config;
  queues: JobQueues;
  pending: PendingStore;
  locks: DomainLocks;
  heartbeats: Heartbeats;
  /** This bot, and the platforms whose replies only it can deliver (process-local adapters). */
  instance: string;
  localPlatforms: ReadonlySet<string>;
  /** Freezes in force on these hosts (a frozen host takes no mutating command). */
  frozen: (hosts: readonly string[]) => Promise<Freeze[]>;
  /** Hands a saved request to the relay: deadlines, and the outcomes already known (hosts with no agent). */
  /** Arms the request's deadlines; `advance`: some outcome is already known, so it may be finished at once. */
  /** `unanswered`: its transaction was sent and Redis did not answer it (it may not have the request). */
  track: (p: PendingRequest, advance: boolean, unanswered?: boolean) => Promise<void>;
  /**
   * Tells the relay of a saved request before its jobs are queued, so events of its first jobs find it in memory;
   * returns how to take that back when none of them could be queued.
   */
  expect: (p: PendingRequest) => () => void;
  /**
   * Delivers the request's "queued" message in its delivery order, not awaited (see Relay.announce); `saved` says
   * whether the request is in Redis, once that is known.
   */
  announce: (p: PendingRequest, r: Reply, saved: Promise<boolean>, held?: boolean) => void;
  /** Resolves once the request's deliveries under way are over, with the target the last of them returned. */
  settled: (requestId: string) => Promise<ReplyTarget | undefined>;
  /** The deployment's shared clock: deadlines, lock times and agents' beats are in it (shared-clock.ts). */
  clock: Clock;
  logger: Logger;
  /** Whether the bot last heard the guest running on the host (its fleet view). Absent: not kept (heardRunningThere). */
  heardRunning?: (host: string, domain: string) => boolean;
}

/** Why a request was refused after the pure pipeline, by the state of the world (agents, locks). */
export class Refusal extends Error {
  constructor(
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Queueing failed after the "queued" line was announced: `cause` is why, and the answer goes to `target` — the
 * message that line made, so it is edited into the error instead of staying "queued" beside a second message.
 */
export class QueueingFailed extends Error {
  override readonly name = 'QueueingFailed';
  constructor(
    override readonly cause: unknown,
    readonly target: ReplyTarget,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }

  /** What went wrong and where to answer: for a QueueingFailed its cause and the "queued" line, else as given. */
  static unwrap(failure: unknown, target: ReplyTarget): [error: unknown, at: ReplyTarget] {
    return failure instanceof QueueingFailed ? [failure.cause, failure.target] : [failure, target];
  }
}

/** The job id of a request's job: one per host for fan-outs, one per step for plans. */
export function jobIdOf(requestId: string, host: string, mode: 'parallel' | 'sequence', index: number): string {
  return mode === 'parallel' ? jobIdFor(requestId, host) : jobIdFor(`${requestId}-s${index}`, host);
}

/**
 * Carries out an `enqueue` decision: refuses mutations for hosts no live agent serves and domains another request
 * holds, takes the domains' locks, answers "queued", saves the pending request and adds the jobs.
 */
/** How old a heartbeat view a read may use. */
const BEATS_CACHE_MS = 1_000;

export class Dispatcher {
  private cachedBeats: { at: number; beats: Promise<Awaited<ReturnType<Heartbeats['all']>>> } | null = null;
  /** How many hosts the config has: a request saves its asker's hosts only when they are fewer. */
  private readonly hostCount: number;

  constructor(private readonly deps: DispatchDeps) {
    this.hostCount = Object.keys(deps.config.hosts).length;
  }

  /**
   * Agents' heartbeats: read fresh for a mutation (it is refused at once when no agent is alive); a read may use a
   * view up to a second old when that view has a live agent for each of its hosts. A view saying "no agent" is never
   * reused: an agent that has just started must not be reported missing.
   */
  private async heartbeats(fresh: boolean, now: number, hosts: readonly string[]): Promise<Awaited<ReturnType<Heartbeats['all']>>> {
    if (!fresh && this.cachedBeats && now - this.cachedBeats.at < BEATS_CACHE_MS) {
      const cached = await this.cachedBeats.beats.catch(() => null);
      if (cached && hosts.every((h) => livenessOf(cached[h], now, this.deps.config.bot.agentStaleMs).alive)) return cached;
    }
    const beats = this.deps.heartbeats.all();
    this.cachedBeats = { at: now, beats };
    beats.catch(() => {
      if (this.cachedBeats?.beats === beats) this.cachedBeats = null;
    });
    return beats;
  }

  /**
   * `extraMeta`: more for each job's meta (an approved request binds the state it was requested in). Resolves
   * 'unanswered' when Redis did not answer the queueing in time: followed as queued, but whether it was is not known.
   */
  async enqueue(
    req: ChatRequest,
    target: ReplyTarget,
    d: Enqueue,
    extraMeta: (job: JobSpec) => Partial<JobMeta> = () => ({}),
  ): Promise<'queued' | 'unanswered'> {
    const { config } = this.deps;
    const now = this.deps.clock.now();
    const hosts = [...new Set(d.jobs.map((j) => j.host))];
    const beats = await this.heartbeats(d.mutating, now, hosts);
    const alive = (host: string) => livenessOf(beats[host], now, config.bot.agentStaleMs).alive;
    if (d.mutating) {
      const touched = [...new Set(d.jobs.flatMap(hostsOfJob))];
      const frozen = await this.deps.frozen(touched);
      if (frozen.length > 0) throw new Refusal('Frozen', frozen.map((f) => describeFreeze(f, config.oncall?.timezone)).join('; '));
      const silent = hosts.filter((h) => !alive(h));
      if (silent.length > 0) throw new Refusal('No agent', silent.map((h) => noAgentMessage(h, beats[h], now)).join('; '));
    }
    const meta = {
      requestId: req.id,
      person: d.evaluated.person.id,
      platform: req.platform,
      userId: req.actor.userId,
      channelId: req.channel.id,
      command: d.command.name,
    };
    const pickupBy = d.mutating ? now + config.bot.pickupTimeoutMs : null;
    const jobs: PendingJob[] = d.jobs.map((spec, i) => {
      const data = { ...spec, meta: { ...meta, ...extraMeta(spec), ...(pickupBy === null ? {} : { notAfter: pickupBy }) } } as JobData;
      return { jobId: jobIdOf(req.id, spec.host, d.mode, i), host: spec.host, op: spec.op, data };
    });
    // A plan locks each step's domain when that step is queued (the relay does it for later steps).
    const held = await this.lockAll(req, d, d.mode === 'sequence' ? jobs.slice(0, 1) : jobs, now);
    let queued = false;
    // The request as saved, once its MULTI is sent (see the silent case below).
    let sent: PendingRequest | null = null;
    let unexpect = () => {};
    let settleSaved: (ok: boolean) => void = () => {};
    const saved = new Promise<boolean>((resolve) => {
      settleSaved = resolve;
    });
    try {
      const visible = visibleHosts(config, d.evaluated);
      const p: PendingRequest = {
        requestId: req.id,
        command: d.command.name,
        args: d.evaluated.args,
        person: d.evaluated.person.id,
        platform: req.platform,
        userId: req.actor.userId,
        channelId: req.channel.id,
        target,
        // Kept only when some host is hidden from the asker (failure messages naming it are redacted): a list of every
        // host in every request saved — 1,000 names at 1,000 hosts, written with each /list — redacts nothing.
        ...(visible.length < this.hostCount ? { visibleHosts: visible } : {}),
        ...(domainScoped(config, d.evaluated, visible) ? { domainScopedRoles: [...d.evaluated.person.roles] } : {}),
        ...(this.deps.localPlatforms.has(target.platform) ? { origin: this.deps.instance } : {}),
        ...(heardRunningThere(jobs, this.deps.heardRunning) ? { heardRunningThere: true as const } : {}),
        ...(req.schedule ? { schedule: req.schedule } : {}),
        mode: d.mode,
        jobs,
        ...(d.summary ? { summary: d.summary } : {}),
        deadline: d.mutating ? null : now + config.bot.readTimeoutMs,
        pickupBy,
        createdAt: req.receivedAt ? this.deps.clock.fromLocal(req.receivedAt) : now,
      };
      const first = d.mode === 'sequence' ? jobs.slice(0, 1) : jobs;
      // Reads for a host with no live agent are answered "no agent" at once instead of waiting out the deadline.
      const unserved = first.filter((j) => !d.mutating && !alive(j.host));
      // Before the jobs exist: events of the first ones must find the request in memory.
      unexpect = this.deps.expect(p);
      // The "queued" reply goes out while the jobs are queued, not after (a chat platform's round trip each); the
      // relay delivers everything later for this request after it, to the target it returned. A scheduled post is
      // the final message alone: no "queued" line before each tick.
      // A plan's steps as its card counts them: its changes, not the read-back after them.
      const steps = jobs.filter((j) => isMutating(j.op)).length;
      const where = d.mode === 'sequence' ? `${steps} step${steps === 1 ? '' : 's'}` : hosts.join(', ');
      if (!req.schedule) this.deps.announce(p, reply.progress(`/${d.command.name}`, `queued on ${where}`), saved, true);
      // The request, the outcomes already known and every host's job, in one transaction: all in Redis or none, in
      // one round trip (/status over 1,000 hosts is not 1,000 round trips in a row either).
      sent = p;
      await this.deps.queues.add(
        first.filter((j) => !unserved.includes(j)).map((j) => ({ data: j.data, jobId: j.jobId })),
        (tx) => {
          this.deps.pending.writeSave(tx, p);
          for (const j of unserved)
            this.deps.pending.writeOutcome(tx, req.id, j.jobId, {
              ok: false,
              failure: { code: 'noAgent', message: noAgentMessage(j.host, beats[j.host], now) },
            });
        },
      );
      queued = true;
      settleSaved(true);
      // With every job queued and no outcome known yet there is nothing to finish now: only the deadlines to arm.
      await this.deps.track(p, unserved.length > 0);
      return 'queued';
    } catch (error) {
      if (queued) {
        // The deadlines are armed before anything can fail; finishing at once (outcomes known) failed, and the read
        // deadline does it. The jobs are queued: an error reply now would say otherwise.
        this.deps.logger.warn({ err: redactSecrets(String(error)), requestId: req.id }, 'could not finish a request at once');
        return 'queued';
      }
      if (sent && isRedisSilent(error)) {
        // Sent and not answered: Redis may carry the MULTI out when it answers again. Nothing is undone (forgotten, the
        // request's jobs would run unfollowed; unlocked, its domain would not be held): it is followed as queued, and
        // the asker is told what is known. Its result comes as any other's if it was queued.
        settleSaved(true);
        await this.deps.track(sent, false, true);
        this.deps.announce(
          sent,
          reply.progress(`/${d.command.name}`, silentAdd(sent, this.deps.queues.commandTimeoutMs)),
          Promise.resolve(true),
        );
        this.deps.logger.warn({ requestId: req.id }, 'Redis did not answer the request being queued: followed as if queued');
        return 'unanswered';
      }
      // The caller answers with an error: after the "queued" line, never before it, and in its place.
      settleSaved(false);
      const announced = await this.deps.settled(req.id);
      for (const h of held) await this.deps.locks.release(h.domain, req.id).catch(() => {});
      // Nothing was queued: nothing may answer later either. A MULTI is not rolled back when one of its commands fails
      // as it runs, so the request may have been saved all the same: it goes, or a restarted relay would report it.
      unexpect();
      await this.deps.pending.forget(req.id).catch(() => {});
      throw announced ? new QueueingFailed(error, announced) : error;
    }
  }

  /** Takes every domain lock the jobs need, all or none. */
  private async lockAll(req: ChatRequest, d: Enqueue, jobs: PendingJob[], now: number): Promise<LockHolder[]> {
    const held: LockHolder[] = [];
    for (const j of jobs) {
      const holder = lockHolderFor(j.data, d.evaluated.person.id, now);
      if (!holder || held.some((h) => h.domain === holder.domain)) continue;
      const r = await this.deps.locks.acquire(holder, lockTtlMs(this.deps.config));
      if (!r.ok) {
        for (const h of held) await this.deps.locks.release(h.domain, req.id).catch(() => {});
        throw new Refusal(
          'Busy',
          redactHosts(
            describeBusy(holder.domain, r.holder),
            Object.keys(this.deps.config.hosts),
            visibleHosts(this.deps.config, d.evaluated),
          ),
        );
      }
      held.push(holder);
    }
    return held;
  }
}

/** What a request whose MULTI Redis has not answered within `waitedMs` (the adding connection's timeout) may still become. */
function silentAdd(p: PendingRequest, waitedMs: number): string {
  const when =
    p.pickupBy === null
      ? 'its answer comes here if it was'
      : `if it was, it runs only if an agent takes it by ${clockUtc(p.pickupBy)}, and the result comes here`;
  return `Redis has not answered for ${Math.round(waitedMs / 1000)} s: whether this was queued is not known yet — ${when}`;
}

/** While queued, a lock lives until the pickup deadline has passed; the agent renews it once it runs the job. */
export function lockTtlMs(config: Config): number {
  return config.bot.pickupTimeoutMs + 30_000;
}

export function noAgentMessage(host: string, beat: AgentBeat | undefined, now: number): string {
  if (!beat) return `no agent serves ${host} — none has ever been seen`;
  if (beat.stoppedAt !== undefined) return `no agent serves ${host} — the last one stopped ${ago(now - beat.stoppedAt)}`;
  return `no agent serves ${host} — last seen ${ago(now - beat.seenAt)}`;
}

/** A single job on a guest that the bot last heard running on the job's host (see PendingRequest.heardRunningThere). */
function heardRunningThere(jobs: readonly PendingJob[], heard: DispatchDeps['heardRunning']): boolean {
  const [job] = jobs;
  if (!heard || jobs.length !== 1 || !job) return false;
  const domain = jobDomain(job.data);
  return domain !== undefined && heard(job.host, domain);
}
