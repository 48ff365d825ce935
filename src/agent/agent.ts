import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Job, UnrecoverableError, WaitingError, type Worker } from 'bullmq';
import type { Config } from '../config/schema.ts';
import { HostKeyError, OutcomeUnknownError, RemoteCommandError, TransportError, UserError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { probeCheck, type ReadinessCheck, workersCheck } from '../core/readiness.ts';
import { DomainLocks, FleetHosts, Heartbeats, Journal } from '../queue/coordination.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { IncomingMigrations } from '../queue/incoming-migrations.ts';
import { encodeJobFailure, JobData, type JobFailure, type JobProgress, type JobResult } from '../queue/jobs.ts';
import { hostQueueName } from '../queue/names.ts';
import { opSpec } from '../queue/ops.ts';
import { UNANNOUNCED_OPS } from '../queue/quiet-events.ts';
import {
  BullConnection,
  createRedisClient,
  describeRedis,
  duplicateRedisClient,
  pingHolderOf,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisTarget,
} from '../queue/redis-connection.ts';
import { waitForRedis } from '../queue/redis-ready.ts';
import { SampleStore } from '../queue/samples.ts';
import { deploymentClock } from '../queue/shared-clock.ts';
import { replaceSilentConnection } from '../queue/silent-connection.ts';
import { WokenWorker, WorkerWakeups, wakeupBackend } from '../queue/worker-wakeups.ts';
import { type HandlerContext, type JobOf, runHandler } from './handlers.ts';
import { HeartbeatLoop } from './heartbeat.ts';
import { incomingGate } from './incoming-hold.ts';
import { LocalHolds } from './local-holds.ts';
import { type DomainLockPolicy, HandBack, processJob } from './process.ts';
import { Sampler, type SamplerOptions } from './sampler.ts';
import type { RemoteRunner } from './ssh/types.ts';
import { type DriverOptions, detectToolstack, XenToolstack } from './toolstack/driver.ts';
import { timedOutAfter } from './toolstack/no-answer.ts';
import type { DomainSummary, Toolstack } from './toolstack/types.ts';

/** How long things take; production defaults, every one shortened by tests. */
export interface AgentTimings {
  /**
   * BullMQ job lock: renewed every half of it while a job runs; when the agent dies it lapses within this time and the
   * next stalled check hands the job to another agent. @defaultValue 5000
   */
  lockDurationMs: number;
  /** How often each worker looks for stalled jobs (the first check runs as the worker starts). @defaultValue 3000 */
  stalledIntervalMs: number;
  /** Stalls a job survives before BullMQ fails it ("job stalled more than allowable limit"). @defaultValue 3 */
  maxStalledCount: number;
  /** Heartbeat interval. @defaultValue config.agent.heartbeatMs */
  heartbeatMs: number;
  /** The per-domain lock while a mutation runs. @defaultValue { ttlMs: 30000, renewMs: 10000 } */
  domainLock: DomainLockPolicy;
  /** close(): how long active jobs may finish before they are handed back for another agent. @defaultValue 3000 */
  closeGraceMs: number;
  /** Driver timings (read-back, polling, resumed-job waits). */
  driver: DriverOptions;
  /**
   * How long one command of the agent's own Redis connection (journal, locks, heartbeats) may go unanswered: a
   * half-open connection would otherwise hold a job, and its reply, for ever. @defaultValue 10000
   */
  redisCommandTimeoutMs: number;
  /**
   * How long the heartbeats on that connection may all time out before it is replaced by a new one: a connection gone
   * silent while open would otherwise last until TCP gives up (some 15 minutes), the agent looking dead meanwhile.
   * Far longer than a Redis restart's or a busy Redis's silence, which are waited out. @defaultValue 60000
   */
  silentReconnectMs: number;
}

export const DEFAULT_TIMINGS: Omit<AgentTimings, 'heartbeatMs'> = {
  lockDurationMs: 5000,
  stalledIntervalMs: 3000,
  maxStalledCount: 3,
  domainLock: { ttlMs: 30_000, renewMs: 10_000 },
  closeGraceMs: 3000,
  driver: {},
  redisCommandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
  silentReconnectMs: 60_000,
};

export interface StartAgentOptions {
  config: Config;
  runner: RemoteRunner;
  /** Redis: a URL, or the config's `redis` section (with `cluster: true`, a Redis Cluster). */
  connection: RedisTarget;
  prefix: string;
  logger: Logger;
  /** Hosts served; default config.agent.hosts or every host. */
  hosts?: string[];
  timings?: Partial<AgentTimings>;
  /** Names this agent in heartbeats; random by default. */
  agentId?: string;
  /** Overrides for the sampler (config.sampling); tests shorten its backoff and waits. */
  sampler?: Partial<Omit<SamplerOptions, 'hosts'>>;
  /** Called as each job ends: its op, its outcome (`ok`, `handed-back` or the failure code) and how long it took. */
  onJobDone?: (op: string, outcome: string, seconds: number) => void;
  /** Aborted while it still waits for Redis, the start is given up (rejects with RedisWaitAborted); later, it has no effect. */
  signal?: AbortSignal;
}

export interface Agent {
  readonly agentId: string;
  workers: Worker[];
  /** For /readyz: Redis answers a PING, and every host's worker is running (not paused, not closing). */
  readiness(): Promise<ReadinessCheck[]>;
  /**
   * Stops fetching, lets active jobs finish for up to graceMs (default timings.closeGraceMs), then interrupts the
   * rest and hands them back to the queue at once (the journal makes the re-run safe: a mutation that may have been
   * sent is verified, never sent again). A job that does not let go within a second is left to BullMQ's stalled
   * check (its lock lapses). Writes the final heartbeat. Bounded: graceMs + about a second.
   */
  close(graceMs?: number): Promise<void>;
}

/** Reuses one driver per host; `toolstack: auto` is detected once and cached. */
class Toolstacks {
  private readonly cache = new Map<string, Promise<Toolstack>>();
  constructor(
    private readonly config: Config,
    private readonly runner: RemoteRunner,
    private readonly driver: DriverOptions,
  ) {}

  get(host: string): Promise<Toolstack> {
    let t = this.cache.get(host);
    if (!t) {
      const h = this.config.hosts[host];
      if (!h) return Promise.reject(new UserError('host.unknown', `unknown host ${host}`));
      t = (h.toolstack === 'auto' ? detectToolstack(this.runner, host) : Promise.resolve(h.toolstack)).then(
        (kind) =>
          new XenToolstack(
            kind,
            this.runner,
            { name: host, configDirs: h.configDirs, consoleLogDir: h.consoleLogDir, shutdownTimeoutSeconds: h.shutdownTimeoutSeconds },
            this.driver,
          ),
      );
      // A failed detection is retried on the next job rather than cached forever.
      t.catch(() => this.cache.delete(host));
      this.cache.set(host, t);
    }
    return t;
  }
}

/** Runs one job's handler: structured results only, never chat text (no journal, lock or deadline: see processJob). */
export function runJob(data: JobData, ctx: HandlerContext): Promise<JobResult> {
  return runHandler(data as JobOf<typeof data.op>, ctx);
}

/**
 * How an error travels back to the bot; UnrecoverableError where retrying cannot help. A read the host left
 * unanswered for the whole command timeout is not tried again either: a second wait as long would end after the bot's
 * read timeout, and the operator would be told the agent did not answer instead of why.
 */
export function toJobError(error: unknown, jobHost?: string): Error {
  const failure = describeFailure(error, jobHost);
  const retryable = failure.code === 'transport' && timedOutAfter(error) === null;
  return retryable ? new Error(encodeJobFailure(failure)) : new UnrecoverableError(encodeJobFailure(failure));
}

const USER_CODES = [
  'domain.notFound',
  'domain.protected',
  'domain.elsewhere',
  'locked',
  'withdrawn',
] as const satisfies readonly JobFailure['code'][];

export function describeFailure(error: unknown, jobHost?: string): JobFailure {
  // A connection that failed to another host than the job's (a migration's target, read by its source's job) says so.
  const other = error instanceof TransportError && jobHost !== undefined && error.host !== jobHost ? { host: error.host } : {};
  if (error instanceof HostKeyError) return { code: 'hostKey', message: error.message, ...other };
  if (error instanceof OutcomeUnknownError) return { code: 'outcomeUnknown', message: error.message };
  if (error instanceof TransportError) return { code: 'transport', message: error.message, ...other };
  if (error instanceof RemoteCommandError) return { code: 'remote', message: error.message };
  if (error instanceof UserError) {
    const code = (USER_CODES as readonly string[]).includes(error.code) ? (error.code as JobFailure['code']) : 'rejected';
    return { code, message: error.message };
  }
  // Redis calls in the job path (journal, lock) all come before anything is sent to a host.
  if (error instanceof Error && REDIS_DOWN.test(error.message))
    return { code: 'transport', message: 'the agent could not reach Redis before acting; nothing was sent' };
  return { code: 'internal', message: 'internal error in the agent (see its log)' };
}

/** ioredis' words for a lost connection, or one that did not answer (the agent's client has a command timeout). */
const REDIS_DOWN =
  /Connection is closed|Command timed out|ECONNREFUSED|max retries per request|Stream isn't writeable|enableOfflineQueue|CLUSTERDOWN|Failed to refresh slots cache/i;

/** How long interrupted jobs get to hand themselves back before close() stops waiting for them. */
const HAND_BACK_MS = 1000;

/**
 * One BullMQ worker per served host queue (all on one command connection and one blocking wait), a heartbeat for
 * them all, and the journal/locks in Redis.
 */
export async function startAgent(options: StartAgentOptions): Promise<Agent> {
  const { config, logger } = options;
  const a = config.agent;
  const timings: AgentTimings = {
    ...DEFAULT_TIMINGS,
    heartbeatMs: a.heartbeatMs,
    lockDurationMs: a.lockDurationMs,
    stalledIntervalMs: a.stalledIntervalMs,
    maxStalledCount: a.maxStalledCount,
    closeGraceMs: a.closeGraceMs,
    ...options.timings,
  };
  const hosts = options.hosts ?? config.agent.hosts ?? Object.keys(config.hosts);
  const agentId = options.agentId ?? randomUUID();
  // Every list a job reads tells the sampler who each guest is (see Sampler.heardList): it lists a host itself only when
  // none was heard before its first comparison.
  let heardList: ((host: string, running: readonly DomainSummary[]) => void) | null = null;
  const toolstacks = new Toolstacks(config, options.runner, {
    logger,
    ...timings.driver,
    onListed: (host, running) => heardList?.(host, running),
  });

  // Journal, locks and heartbeats: one client that gives up quickly (a beat must never pile up; a journal write that
  // fails means the command is not sent), on a connection that stops answering too.
  const redis = createRedisClient(options.connection, { maxRetriesPerRequest: 1, commandTimeout: timings.redisCommandTimeoutMs });
  const bull = new BullConnection(options.connection);
  let redisDown = false;
  redis.on('error', (error: Error) => {
    if (!redisDown) logger.warn({ err: error.message }, 'agent: Redis connection error');
    redisDown = true;
  });
  redis.on('ready', () => {
    redisDown = false;
  });
  // Before any Worker: one made while Redis is unreachable fails its first connect for good, and the agent would stay
  // up serving nothing, never ready and never restarted by its supervisor (systemd, compose) — as after a reboot
  // that starts it alongside Redis. Waiting says so at each attempt, as the bot does.
  try {
    await waitForRedis(redis, describeRedis(options.connection), logger, { signal: options.signal });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  // Times the bot compares (heartbeats, samples) or the bot set (a job's pickup deadline), and those another agent may
  // resume from (the journal), are on Redis's clock: this machine's may be off.
  const clock = deploymentClock(redis, options.prefix, logger);
  await clock.start();
  const now = () => clock.now();
  const journal = new Journal(redis, options.prefix);
  const locks = new DomainLocks(redis, options.prefix);
  // A plan's migration holds its target from its free-memory check to its read-back, renewed as a domain lock is.
  const incoming = incomingGate(new IncomingMigrations(redis, options.prefix), timings.domainLock, () => clock.now(), logger);
  const fleetEvents = new FleetEventLog(redis, options.prefix);
  // One for every host this agent serves: domain locks are by name, fleet-wide.
  const localHolds = new LocalHolds();
  const fleetHosts = new FleetHosts(redis, options.prefix);
  const sampling = config.sampling;
  // Changes the sampler sees shortly after a job are xenops' own: the marker outlives a few samples.
  const mutationMarkMs = Math.max(30_000, 3 * sampling.intervalSeconds * 1000);
  const heartbeat = new HeartbeatLoop({
    beats: new Heartbeats(redis, options.prefix, config.bot.agentStaleMs),
    hosts,
    agentId,
    where: `${process.pid}@${hostname()}`,
    intervalMs: timings.heartbeatMs,
    now,
    logger,
    silentConnection: { silentMs: timings.silentReconnectMs, replace: () => replaceSilentConnection(redis) },
  });

  // Once the close grace is over, nothing new is sent and every job goes back to the queue.
  let handingBack = false;
  const jobs = new ActiveJobs();

  // The sampler starts once the workers are ready; until then (or with sampling off) jobs ask the hosts directly.
  let sampler: Sampler | null = null;
  const sampleStore = new SampleStore(redis, options.prefix);

  // One blocking connection waits for every served queue's jobs (the Workers share it and the command connection).
  // Its blocking waits are watched by the wake-ups themselves: a command timeout would end every long one.
  const wakeups = new WorkerWakeups(duplicateRedisClient(redis, { maxRetriesPerRequest: null, commandTimeout: undefined }), redis, logger);
  // A read's start is not announced on the host's event stream (see quiet-events.ts); a mutation's is, and audited.
  const backend = wakeupBackend(wakeups, UNANNOUNCED_OPS);
  const workers = hosts.map((host) => {
    const worker = new WokenWorker(
      hostQueueName(host),
      async (job: Job, token?: string, signal?: AbortSignal) => {
        const parsed = JobData.safeParse(job.data);
        if (!parsed.success)
          throw new UnrecoverableError(
            encodeJobFailure({ code: 'rejected', message: `invalid job: ${parsed.error.issues[0]?.message ?? 'bad shape'}` }),
          );
        if (parsed.data.host !== host)
          throw new UnrecoverableError(encodeJobFailure({ code: 'rejected', message: `job for ${parsed.data.host} on ${host}'s queue` }));
        // Fields on each line rather than a child logger per job: a child's bindings cost ~10 KB of allocation each, which
        // at a thousand jobs a second was a fifth of the agent's garbage. One line per job, at its end.
        const fields = { jobId: job.id, op: parsed.data.op, host, person: parsed.data.meta.person };
        if (logger.isLevelEnabled('debug')) logger.debug({ ...fields, attemptsStarted: job.attemptsStarted }, 'job start');
        const controller = jobs.begin();
        const startedAt = performance.now();
        let outcome = 'ok';
        try {
          const result = await processJob(
            {
              id: job.id ?? '',
              attemptsStarted: job.attemptsStarted,
              data: parsed.data,
              onProgress: (p) => void job.updateProgress(p satisfies JobProgress).catch(() => {}),
              signal: signal ? AbortSignal.any([signal, controller.signal]) : controller.signal,
            },
            {
              handler: {
                config,
                toolstack: (h) => toolstacks.get(h),
                samples: { latest: (h) => sampler?.latest(h) ?? null, history: (h, since) => sampleStore.history(h, since) },
                now,
                fleetHosts: () => fleetHosts.read(),
                incoming,
              },
              now,
              toLocal: (ms) => clock.toLocal(ms),
              journal,
              locks,
              lockPolicy: timings.domainLock,
              // As often as BullMQ renews the job's lock, and stale once a killed agent's job would reach another
              // agent anyway: a live run's beat outlasts two lost beats, a dead one's does not delay its resumption.
              runBeat: { everyMs: timings.lockDurationMs / 2, staleMs: timings.lockDurationMs + timings.stalledIntervalMs },
              logger,
              handingBack: () => handingBack,
              markMutation: (domain) => fleetEvents.markMutation(domain, mutationMarkMs),
              localHolds,
            },
          );
          // A line per mutation; reads — hundreds a second under load, counted and timed in /metrics — at debug, so the
          // log says what changed the hosts rather than drown it (and ~10 µs of the agent's CPU per read less).
          const level = opSpec(parsed.data.op).mutates ? 'info' : 'debug';
          if (logger.isLevelEnabled(level))
            logger[level]({ ...fields, attemptsStarted: job.attemptsStarted, ms: Math.round(performance.now() - startedAt) }, 'job done');
          return result;
        } catch (error) {
          if (error instanceof HandBack || controller.signal.aborted) {
            // BullMQ's way to give an active job back (WaitingError: "moved to wait from active"); the next agent
            // finds the journal entry, if any, and verifies instead of sending again.
            logger.warn(fields, 'agent stopping: job handed back to the queue for another agent');
            await job
              .moveToWait(token)
              .catch((e: unknown) =>
                logger.warn({ ...fields, err: String(e) }, 'could not move the job back (its lock lapses and it stalls instead)'),
              );
            outcome = 'handed-back';
            throw new WaitingError();
          }
          outcome = describeFailure(error).code;
          const wrapped = toJobError(error, parsed.data.host);
          logger.warn({ ...fields, err: error instanceof Error ? error.message : String(error) }, 'job failed');
          throw wrapped;
        } finally {
          jobs.end(controller);
          options.onJobDone?.(parsed.data.op, outcome, (performance.now() - startedAt) / 1000);
        }
      },
      {
        connection: bull.forWorkers,
        prefix: options.prefix,
        concurrency: config.agent.concurrency,
        // Started below, once every Worker's connection is set up: see there.
        autorun: false,
        lockDuration: timings.lockDurationMs,
        stalledInterval: timings.stalledIntervalMs,
        maxStalledCount: timings.maxStalledCount,
      },
      backend,
    );
    // BullMQ's Worker loop keeps its last job in a local until the next one arrives: at 1,000 mostly idle hosts that
    // held ~10 MiB live (a domain list each, and through its uuids, sliced from it, the whole `xl list -v` output).
    // The outcome is in Redis once BullMQ says so; nothing reads the payload of that object again.
    worker.on('completed', releasePayload);
    worker.on('failed', (job) => {
      if (job) releasePayload(job);
    });
    worker.on('error', (error) => logger.warn({ host, err: error.message }, 'worker error'));
    worker.on('stalled', (jobId) => logger.warn({ host, jobId }, 'stalled job handed back to the queue (its agent died or stopped)'));
    return worker;
  });
  // BullMQ sets up each connection once (INFO for the server's version, its scripts): when that fails (a Redis ACL that
  // denies INFO), every later call fails at once with the same error, and a Worker already fetching jobs retries
  // without ever letting the event loop turn — no log line, no exit, SIGTERM unheard, the heap growing until V8 gave up.
  // So the Workers fetch only once it has worked; otherwise the start fails, and what it made is closed.
  try {
    await Promise.all(workers.map((w) => w.waitUntilReady()));
  } catch (error) {
    await Promise.all(workers.map((w) => w.close(true).catch(() => {})));
    await wakeups.close().catch(() => {});
    clock.stop();
    bull.close();
    redis.disconnect();
    throw error;
  }
  for (const [i, w] of workers.entries())
    void w.run().catch((error: unknown) => logger.error({ host: hosts[i], err: String(error) }, 'worker stopped fetching jobs'));
  wakeups.start();
  await heartbeat.start();
  if (sampling.enabled && hosts.length > 0) {
    sampler = new Sampler(
      {
        hosts,
        intervalSeconds: sampling.intervalSeconds,
        historyEverySeconds: sampling.historyEverySeconds,
        historyHours: sampling.historyHours,
        unreachableAfterFailures: sampling.unreachableAfterFailures,
        ...options.sampler,
      },
      {
        runner: options.runner,
        samples: sampleStore,
        events: fleetEvents,
        locks,
        list: async (host) => (await toolstacks.get(host)).list(),
        stamp: now,
        logger,
      },
    );
    heardList = (host, running) => sampler?.heardList(host, running);
    sampler.start();
  }
  logger.info({ agentId, hosts, sampling: sampler !== null }, 'agent ready');

  let closing: Promise<void> | null = null;
  return {
    agentId,
    workers,
    async readiness() {
      const ping = probeCheck('redis', async () => `PING ${await pingHolderOf(redis, options.prefix)}`, 1_000);
      const running = workers.map((w, i) => ({ host: hosts[i] ?? '?', running: closing === null && w.isRunning() && !w.isPaused() }));
      return [await ping, workersCheck(running)];
    },
    close(graceMs = timings.closeGraceMs) {
      closing ??= (async () => {
        // The streams stop alongside the drain (bounded); they must not outlive the Redis client below.
        const samplerClosed = sampler?.close();
        // Stop fetching and wait, up to the grace, for every job already fetched (one whose fetch was under way
        // included): that is what BullMQ's pause() waits for. Its close() would wait with no limit and cannot be forced
        // once started, so the bound is kept here.
        const drained = Promise.all(
          workers.map((w) => w.pause().catch((error: unknown) => logger.warn({ err: String(error) }, 'worker pause'))),
        );
        let settled = await within(drained, graceMs);
        if (!settled) {
          handingBack = true;
          logger.warn({ jobs: jobs.count }, 'agent stopping: handing the jobs still running back to the queue for another agent');
          jobs.abortAll();
          settled = await within(drained, HAND_BACK_MS);
        }
        handingBack = true;
        // A job that did not let go is left active: its lock lapses and a stalled check hands it on.
        if (!settled) logger.warn({ jobs: jobs.count }, 'agent stopping: jobs did not let go; leaving them to the stalled check');
        await Promise.all(
          workers.map((w) => w.close(!settled).catch((error: unknown) => logger.warn({ err: String(error) }, 'worker close'))),
        );
        await samplerClosed;
        await wakeups.close();
        await heartbeat.stop();
        clock.stop();
        bull.close();
        await redis.quit().catch(() => redis.disconnect());
      })();
      return closing;
    },
  };
}

/** The jobs this agent is running, so close() can interrupt them (each then hands itself back to the queue). */
class ActiveJobs {
  private readonly running = new Set<AbortController>();

  get count(): number {
    return this.running.size;
  }

  begin(): AbortController {
    const c = new AbortController();
    this.running.add(c);
    return c;
  }

  end(c: AbortController): void {
    this.running.delete(c);
  }

  abortAll(): void {
    for (const c of this.running) c.abort(new HandBack());
  }
}

/** Whether the promise settles within ms. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Drops what a finished job carried (its data and result) from the Job object BullMQ's Worker loop still holds. */
function releasePayload(job: Job): void {
  job.data = undefined;
  job.returnvalue = undefined;
}
