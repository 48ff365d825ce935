import { UserError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import {
  type DomainLocks,
  describeBusy,
  describeJob,
  type Journal,
  type JournalEntry,
  type JournalState,
  type LockHolder,
} from '../queue/coordination.ts';
import { type JobData, type JobResult, jobDomain } from '../queue/jobs.ts';
import { opSpec } from '../queue/ops.ts';
import { type HandlerContext, type JobOf, runHandler } from './handlers.ts';
import type { LocalHolds } from './local-holds.ts';
import type { DomainSummary, IssueStep } from './toolstack/types.ts';

/**
 * The agent is stopping and gives this job back to the queue for another agent (BullMQ's moveToWait + WaitingError):
 * thrown before a job starts or before it sends its mutation, and the abort reason of a job interrupted when the
 * close grace ran out. Safe either way: what may have been sent is in the journal, so the next agent verifies it.
 */
/** How long after its pickup deadline a job that never sent anything may still be taken again. */
const RESUME_GRACE_MS = 60_000;

export class HandBack extends Error {
  override readonly name = 'HandBack';
  constructor() {
    super('the agent is stopping; the job goes back to the queue for another agent');
  }
}

/** Thrown where this run would send its command and finds the journal entry of another run of the same job. */
class AnotherRun extends Error {
  override readonly name = 'AnotherRun';
}

/**
 * How long a run waits for another run of its job to record its end: a migration may take many minutes, the rest at
 * most a shutdown's timeout. That run may also have failed after sending (its failure is not journaled): the state
 * is then read back, so a wait this long is paid only where the other run may still be at work.
 */
const OTHER_RUN_WAIT_MS = { 'domain.migrate': 15 * 60_000, other: 3 * 60_000 } as const;
const OTHER_RUN_POLL_MS = 250;

/**
 * Two runs of one job (BullMQ redelivered it as stalled while its first run went on: its lock lapsed in a Redis
 * blip), in this agent or another: the one that wrote the journal entry sends the command; this one, which holds the
 * job now, answers with what that one recorded — its result once done. The job's outcome is then what happened on
 * the host, not "this run sent nothing". An entry that stays unfinished past the wait, or whose run stopped beating
 * (it died or failed), is resumed: the state is read back.
 */
async function otherRunsEnd(run: JobRun, deps: ProcessDeps, log: () => Logger, here: RunsHere): Promise<JournalEntry> {
  log().warn('another run of this job is sending its command: waiting for what it records');
  const until = Date.now() + (run.data.op === 'domain.migrate' ? OTHER_RUN_WAIT_MS['domain.migrate'] : OTHER_RUN_WAIT_MS.other);
  // A run in this agent is known to have ended (whatever it recorded is there by then); one elsewhere by its beat
  // stopping — or, written by an agent older than beats, only by the wait.
  const tracked = here.others();
  let beatSeen = false;
  for (;;) {
    const ended = tracked && !here.others();
    // The beat before the entry: a run records `done` before it ends its beat, so a beat gone means the entry read
    // next is that run's last word.
    const beating = !tracked && (await deps.journal.beating(run.id));
    const entry = await deps.journal.get(run.id);
    if (!entry) throw new Error(`job ${run.id}: the journal entry of its other run is gone`);
    if (entry.step === 'done' || ended || Date.now() >= until) return entry;
    if (beating) beatSeen = true;
    else if (beatSeen) return entry;
    if (run.signal?.aborted) throw run.signal.reason;
    await new Promise((resolve) => setTimeout(resolve, OTHER_RUN_POLL_MS));
  }
}

export interface DomainLockPolicy {
  /** TTL of the lock in Redis; renewed well before it runs out. @defaultValue 30000 */
  ttlMs: number;
  /** How often a running job renews its lock. @defaultValue 10000 */
  renewMs: number;
}

export interface ProcessDeps {
  handler: Omit<HandlerContext, 'op' | 'resume'>;
  journal: Journal;
  locks: DomainLocks;
  lockPolicy: DomainLockPolicy;
  logger: Logger;
  /** True once the agent is handing its jobs back: a job that has not started, or not sent its mutation, goes back. */
  handingBack(): boolean;
  /** The shared clock (src/queue/shared-clock.ts): the bot's pickup deadline and the journal's times are in it. */
  now?: () => number;
  /** A shared-clock time on this machine's wall clock, for the driver (which waits and compares locally). */
  toLocal?: (sharedMs: number) => number;
  /**
   * Called (errors ignored) when a mutating job that may have touched the host ends, however it ends, before its
   * lock is released: the sampler then attributes the changes it sees to xenops (FleetEventLog.markMutation).
   */
  markMutation?: (domain: string) => Promise<void>;
  /** The domains this process is changing (see LocalHolds): absent, only the Redis lock keeps requests apart. */
  localHolds?: LocalHolds;
  /**
   * The beat a run keeps in Redis from its journal entry until it ends, so that an agent handed the same job (BullMQ's
   * stalled check, after this one's job lock lapsed) waits for it rather than take its entry for a dead agent's.
   * `staleMs` must outlast two beats and stay within the time a killed agent's job takes to reach another agent
   * (agent.ts: lockDurationMs / 2 and lockDurationMs + stalledIntervalMs); absent, no beat is kept.
   */
  runBeat?: { everyMs: number; staleMs: number };
}

/** One pickup of one job, as BullMQ hands it over. */
export interface JobRun {
  id: string;
  /** BullMQ's attemptsStarted after this pickup (1 on the first; a stalled job handed on comes back with 2…). */
  attemptsStarted: number;
  data: JobData;
  onProgress: HandlerContext['op']['onProgress'];
  signal?: AbortSignal;
}

/**
 * The runs of each job under way in an agent, by job id (an agent has one Journal). BullMQ's stalled check hands a job
 * whose lock lapsed (a Redis blip) to a Worker again — often of the very agent still running it — and that second
 * run then finds the first one's `issuing` entry: not left by a dead agent, so it must wait for what that run
 * records rather than read a half-done change back, and must not let the domain go while that run still changes it.
 */
const underWay = new WeakMap<Journal, Map<string, number>>();

interface RunsHere {
  /** Whether another run of this job is under way in this agent. */
  others(): boolean;
}

/**
 * Runs one job with what makes a mutation safe across agent deaths:
 * - a journal entry (by job id) written right before the mutating command is sent, and its result after: a job
 *   that finds `done` returns the stored result without touching the host; one that finds `issuing` verifies
 *   the state instead of sending the command again (`resumed: true`) — or, while a run of the job is still under way
 *   in this agent, waits for what that run records;
 * - the deadline (`meta.notAfter`): a job first picked up after it fails at once ('withdrawn'), touching nothing;
 * - the domain lock (ops with `locks: 'domain'`): adopted from the bot (same request id), renewed while the job
 *   runs, released at the end; held by another request → 'locked', touching nothing.
 */
export async function processJob(run: JobRun, deps: ProcessDeps): Promise<JobResult> {
  const counts = underWay.get(deps.journal) ?? new Map<string, number>();
  underWay.set(deps.journal, counts);
  counts.set(run.id, (counts.get(run.id) ?? 0) + 1);
  try {
    return await processRun(run, deps, { others: () => (counts.get(run.id) ?? 0) > 1 });
  } finally {
    const left = (counts.get(run.id) ?? 1) - 1;
    if (left > 0) counts.set(run.id, left);
    else counts.delete(run.id);
  }
}

async function processRun(run: JobRun, deps: ProcessDeps, here: RunsHere): Promise<JobResult> {
  const { data } = run;
  const spec = opSpec(data.op);
  const now = deps.now ?? Date.now;
  const domain = jobDomain(data);
  // Made on first use: most jobs log nothing here, and a child logger's bindings are costly to build.
  let child: Logger | null = null;
  const log = () => (child ??= deps.logger.child({ jobId: run.id, op: data.op, host: data.host }));

  const found = spec.mutates ? await deps.journal.get(run.id) : null;
  if (found?.step === 'done') {
    log().info('job already done (journal): returning its stored result');
    if (spec.locks === 'domain' && domain) await releaseQuietly(deps, domain, data.meta.requestId, log);
    return found.result as JobResult;
  }
  const notAfter = data.meta.notAfter;
  // A job picked up in time but handed back (or orphaned by a dead agent) before it sent anything may still run
  // when taken again soon; taken again much later it is withdrawn too: nobody expects it to run by then.
  const deadline = notAfter === undefined ? undefined : run.attemptsStarted <= 1 ? notAfter : notAfter + RESUME_GRACE_MS;
  // Another run here took the job in time: the deadline is that pickup's, and it may be about to send.
  if (!found && deadline !== undefined && now() > deadline && !here.others()) {
    if (spec.locks === 'domain' && domain) await releaseQuietly(deps, domain, data.meta.requestId, log);
    const what = `/${data.meta.command}${domain ? ` ${domain}` : ''} on ${data.host}`;
    throw new UserError(
      'withdrawn',
      `${what} was not picked up by ${clock(deadline)} UTC: withdrawn — nothing was done, and it will not run later`,
    );
  }

  // Stopping: a job that has not started goes back to the queue untouched (its lock stays for whoever takes it).
  if (deps.handingBack()) throw new HandBack();

  const lock = spec.locks === 'domain' && domain ? await adoptLock(data, domain, deps, found !== null, log) : null;
  let handedOn = false;
  let beat: Beat | null = null;
  try {
    let entry: JournalEntry | null = found;
    const op: HandlerContext['op'] = {
      ...(run.onProgress ? { onProgress: run.onProgress } : {}),
      ...(run.signal ? { signal: run.signal } : {}),
    };
    if (spec.mutates && !found) {
      // Its entry, once there, is the other run's word: this one answers with what that run records.
      op.refuseIfSentElsewhere = async () => {
        if (await deps.journal.get(run.id)) throw new AnotherRun();
      };
      op.beforeIssue = async (step: IssueStep) => {
        if (deps.handingBack()) throw new HandBack();
        // An approved request runs only on the state it was approved in.
        const changed = data.meta.expect ? stateChangeError(data.meta.expect, step.before, domain ?? '', data.host) : null;
        if (changed) throw changed;
        entry = {
          jobId: run.id,
          requestId: data.meta.requestId,
          op: data.op,
          host: data.host,
          domain: domain ?? '',
          ...('target' in data ? { target: data.target } : {}),
          before: journalState(step.before),
          step: 'issuing',
          issuedAt: now(),
          resumes: 0,
        };
        // If this write fails, nothing is sent: the command is only ever sent with its entry in place.
        let fresh: boolean;
        try {
          fresh = await deps.journal.putIfAbsent(entry, deps.runBeat?.staleMs);
        } catch {
          throw new UserError('queue.unavailable', 'the agent could not record the operation in Redis before sending it; nothing was sent');
        }
        // Another run of this job (ours lost its BullMQ lock) got there first: it sends, this one must not.
        if (!fresh) throw new AnotherRun();
        if (deps.runBeat) beat = keepBeating(run.id, deps, deps.runBeat, log);
      };
    }
    const resumeFrom = async (issued: JournalEntry): Promise<JobResult> => {
      const resumed: JournalEntry = { ...issued, resumes: issued.resumes + 1 };
      entry = resumed;
      log().warn(
        { resumes: resumed.resumes, issuedAt: resumed.issuedAt },
        'resuming a job whose command may have been sent: reading the state back',
      );
      await deps.journal.put(resumed);
      // Another agent, on another machine, may have issued it: its time comes to this one's clock for the driver.
      const resume = { ...resumed, issuedAt: deps.toLocal ? deps.toLocal(resumed.issuedAt) : resumed.issuedAt };
      return runHandler(data as JobOf<typeof data.op>, { ...deps.handler, op, resume });
    };
    let result: JobResult;
    let ranElsewhere = false;
    if (found && found.step === 'issuing' && (here.others() || (await deps.journal.beating(run.id)))) {
      // Not a dead agent's entry: a run of this job, here or in another agent, is sending its command now.
      const other = await otherRunsEnd(run, deps, log, here);
      if (other.step === 'done') return other.result as JobResult;
      result = await resumeFrom(other);
    } else if (found) result = await resumeFrom(found);
    else {
      try {
        result = await runHandler(data as JobOf<typeof data.op>, { ...deps.handler, op });
      } catch (error) {
        if (!(error instanceof AnotherRun)) throw error;
        // Its entry is the other run's: this one writes nothing of its own over it.
        entry = null;
        ranElsewhere = true;
        const other = await otherRunsEnd(run, deps, log, here);
        if (other.step === 'done') return other.result as JobResult;
        result = await resumeFrom(other);
      }
    }
    const written = entry as JournalEntry | null;
    // An approved change that sent nothing because there was nothing to do (the guest stopped, or left the host,
    // meanwhile) ran on a state other than the one approved: said as that refusal, not as "nothing to do".
    if (!found && !written && !ranElsewhere && data.meta.expect && data.op !== 'domain.migrate') {
      const changed = stateChangeError(data.meta.expect, resultDomain(result), domain ?? '', data.host);
      if (changed) throw changed;
    }
    if (written) {
      // A completion lost to a Redis outage is then reported from here, never redone.
      await deps.journal.put({ ...written, step: 'done', result }).catch((error: unknown) => {
        log().warn({ err: errorText(error) }, 'could not record the job as done in the journal');
      });
    }
    return result;
  } catch (error) {
    handedOn = error instanceof HandBack || run.signal?.reason instanceof HandBack;
    throw error;
  } finally {
    // After `done` is written (see otherRunsEnd), and before the lock goes.
    await (beat as Beat | null)?.end();
    if (spec.mutates && domain && deps.markMutation) await deps.markMutation(domain).catch(() => {});
    // A job handed on keeps its lock until the TTL: the agent that takes it next adopts it again. Another run of the
    // job still under way here holds the same lock and local hold, and lets them go when it ends.
    if (lock) await lock.stop(!handedOn && !(run.signal?.reason instanceof HandBack) && !here.others(), here.others());
  }
}

/**
 * The refusal of an approved job whose domain is not in the state its approval was given for, or null when it is. One
 * that was running and no longer runs on the host is not found there, as a lookup's miss (missedOn): gone, or only a
 * stopped copy left, as a migration leaves its config file. Its code has the bot say where it runs now, if elsewhere.
 */
function stateChangeError(
  expect: NonNullable<JobData['meta']['expect']>,
  now: DomainSummary | null,
  domain: string,
  host: string,
): UserError | null {
  const changed = stateChange(expect, now, domain, host);
  if (changed === null) return null;
  const gone = expect.up && (now === null || now.status === 'defined');
  return new UserError(gone ? 'domain.notFound' : 'state.changed', changed);
}

/** Why the domain is not in the state its approval was given for, or null when it is. */
export function stateChange(
  expect: NonNullable<JobData['meta']['expect']>,
  now: DomainSummary | null,
  domain: string,
  host = 'its host',
): string | null {
  const up = now !== null && now.status !== 'defined';
  const done = 'nothing was done — ask again if it is still needed';
  const tail = `since approval ${expect.approvalId} was asked for: ${done}`;
  // Not on the host at all: moved, destroyed or renamed — "is not any more" read as "it is down" (a demo pass: it ran
  // on the other host the whole time).
  if (expect.up && now === null)
    return `${domain} is no longer on ${host} (it was running there when approval ${expect.approvalId} was asked for): ${done}`;
  if (expect.up !== up) return `${domain} ${expect.up ? 'was running and is not any more' : 'was not running and is now'} ${tail}`;
  // The UUID first: another guest under the name has a new domid too, and a restart keeps the UUID.
  if (expect.uuid && now?.uuid && expect.uuid.toLowerCase() !== now.uuid.toLowerCase())
    return `${domain} is another guest now (UUID ${now.uuid}) ${tail}`;
  if (up && expect.id !== null && now?.id !== expect.id) return `${domain} was restarted (id ${expect.id} → ${now?.id}) ${tail}`;
  return null;
}

/** The domain as a result read it back (null: not on the host at all). */
function resultDomain(result: JobResult): DomainSummary | null {
  const d = (result as { domain?: unknown }).domain;
  return d && typeof d === 'object' ? (d as DomainSummary) : null;
}

function journalState(d: DomainSummary | null): JournalState {
  return d ? { status: d.status, id: d.id, uuid: d.uuid } : { status: 'absent', id: null, uuid: null };
}

interface Beat {
  /** Stops beating and takes the beat away, once any beat still on its way has landed (it would outlive the end). */
  end(): Promise<void>;
}

function keepBeating(jobId: string, deps: ProcessDeps, policy: NonNullable<ProcessDeps['runBeat']>, log: () => Logger): Beat {
  let inFlight: Promise<void> = Promise.resolve();
  let failing = false;
  const timer = setInterval(() => {
    inFlight = deps.journal.beat(jobId, policy.staleMs).then(
      () => {
        failing = false;
      },
      (error: unknown) => {
        if (!failing) log().warn({ err: errorText(error) }, "could not renew the job's beat in the journal");
        failing = true;
      },
    );
  }, policy.everyMs);
  timer.unref();
  return {
    async end() {
      clearInterval(timer);
      await inFlight;
      // Left in place, it goes stale on its own: a run waiting for it resumes then.
      await deps.journal.endBeat(jobId).catch(() => {});
    },
  };
}

interface HeldLock {
  /**
   * Stops renewing; releases the lock unless told to keep it (the job is handed on), and drops the local hold
   * unless told to leave it (to another run of the job, still under way here).
   */
  stop(release: boolean, leaveHold?: boolean): Promise<void>;
}

async function adoptLock(data: JobData, domain: string, deps: ProcessDeps, resuming: boolean, log: () => Logger): Promise<HeldLock | null> {
  const { locks, lockPolicy } = deps;
  const requestId = data.meta.requestId;
  const now = deps.now ?? Date.now;
  // The bot took the lock when it queued the job; keep its `since`.
  const current = await locks.holder(domain);
  const holder: LockHolder = {
    requestId,
    person: data.meta.person,
    command: data.meta.command,
    host: data.host,
    domain,
    reason: describeJob(data),
    since: current?.requestId === requestId && Number.isFinite(current.since) ? current.since : now(),
  };
  // Changing it here already for another request (whose Redis lock went with Redis's data): refused, as busy.
  const local = deps.localHolds?.take(holder) ?? null;
  if (local && !resuming) throw new UserError('locked', describeBusy(domain, local), { holder: local });
  const got = await locks.acquire(holder, lockPolicy.ttlMs).catch((error: unknown) => {
    deps.localHolds?.drop(domain, requestId);
    throw error;
  });
  if (!got.ok) {
    deps.localHolds?.drop(domain, requestId);
    // A resumed job only reads the state back: it goes on without the lock rather than leave its outcome untold.
    if (resuming) {
      log().warn({ holder: got.holder }, 'resuming without the domain lock (another request holds it); only reading state');
      return null;
    }
    throw new UserError('locked', describeBusy(domain, got.holder), { holder: got.holder });
  }
  let stopped = false;
  const timer = setInterval(() => {
    void (async () => {
      try {
        if (stopped) return;
        if (await locks.renew(domain, requestId, lockPolicy.ttlMs)) return;
        // The job ended while the renewal was out: its release went after it and found nothing to let go, and
        // taking the lock back now would hold the domain for a finished request until the TTL.
        if (stopped) return;
        // Expired (a Redis blip longer than the TTL): take it back unless another request got it meanwhile.
        const again = await locks.acquire(holder, lockPolicy.ttlMs);
        if (!again.ok) log().warn({ holder: again.holder }, 'lost the domain lock to another request while the job ran');
      } catch (error) {
        log().warn({ err: errorText(error) }, 'could not renew the domain lock');
      }
    })();
  }, lockPolicy.renewMs);
  timer.unref();
  return {
    async stop(release, leaveHold = false) {
      stopped = true;
      clearInterval(timer);
      if (!leaveHold) deps.localHolds?.drop(domain, requestId);
      if (release) await releaseQuietly(deps, domain, requestId, log);
    },
  };
}

async function releaseQuietly(deps: ProcessDeps, domain: string, requestId: string, log: () => Logger): Promise<void> {
  try {
    await deps.locks.release(domain, requestId);
  } catch (error) {
    log().warn({ err: errorText(error) }, 'could not release the domain lock (it expires on its own)');
  }
}

function clock(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(11, 19);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
