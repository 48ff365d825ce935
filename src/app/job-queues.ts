import {
  type BackendFactory,
  type ConnectionOptions,
  createIORedisClient,
  createRedisBackend,
  type IQueueBackend,
  type IRedisTransaction,
  Job,
  type JobJson,
  type JobsOptions,
  Queue,
  type QueueOptions,
  type RedisQueueBackend,
} from 'bullmq';
import type { ChainableCommander, Cluster } from 'ioredis';
import type { Logger } from '../core/log.ts';
import { withTimeout } from '../core/with-timeout.ts';
import type { JobData } from '../queue/jobs.ts';
import { hostQueueName } from '../queue/names.ts';
import { isMutating } from '../queue/ops.ts';
import { UNANNOUNCED_OPS, withoutAddEvents } from '../queue/quiet-events.ts';
import { duplicateRedisClient, pingHolderOf, REDIS_COMMAND_TIMEOUT_MS, type RedisClient } from '../queue/redis-connection.ts';
import { readyWithin } from '../queue/redis-ready.ts';
import { COMMAND_TIMED_OUT, replaceSilentConnection, SilentConnection } from '../queue/silent-connection.ts';
import { RedisUnavailableError } from './ensure-redis.ts';
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

/** What loads a script into Redis: one server, or one node of a Cluster. */
interface ScriptLoader {
  script(subcommand: 'LOAD', lua: string): Promise<unknown>;
}

/** A job to add: its data (which names its host and op) and its id. */
export interface NewJob {
  data: JobData;
  jobId: string;
}

/** The MULTI jobs are added in: commands written into it before them go to Redis with them, all or none. */
export type JobTransaction = ChainableCommander;

/** How long an add waits for its connection to come back before refusing (see add). */
const RECONNECT_GRACE_MS = 1_000;

/** The adding connection's timings, and the shared one's probe's (the bot's: BotTimings). */
export interface AdderTimings {
  /**
   * How long an add's MULTI may go unanswered (its connection's commandTimeout), and the shared connection's probe.
   * @defaultValue REDIS_COMMAND_TIMEOUT_MS
   */
  commandTimeoutMs?: number;
  /**
   * After adds have only timed out for this long, the adding connection is replaced; after the shared connection's
   * probes have, that one is (see SilentConnection). Without it, a silent one is only waited out.
   */
  silentReconnectMs?: number;
  /** Monotonic milliseconds, for silentReconnectMs. @defaultValue performance.now */
  monotonic?: () => number;
}

/** BullMQ's scripts a job's insert may run (addJobToTransaction picks one by the job's options). */
const ADD_SCRIPTS = /^add(Standard|Delayed|Prioritized|Parent)Job:/;

export class JobQueues {
  private readonly queues: Map<string, HostQueue>;
  /**
   * The connection the adding MULTI goes on: the shared one's twin with only BullMQ's add scripts defined. ioredis
   * copies every script of its client onto each MULTI it makes, and the shared client has all of BullMQ's (64 in
   * 6.7): building that MULTI was a twentieth of the bot's CPU per /list.
   */
  private adder: Promise<RedisClient> | null = null;
  /** The adding connection itself (adder is BullMQ's wrapper of it), once made. */
  private adderConnection: RedisClient | null = null;
  private readonly backend: RedisQueueBackend;
  /** Each host queue's backend (a sibling of the shared one): it writes a job's insert into a transaction. */
  private readonly siblings = new Map<string, RedisQueueBackend>();
  /** Queues of hosts taken out of the config since a job was queued there: read and withdrawn from, never added to. */
  private readonly outside = new Map<string, HostQueue>();
  private readonly sibling: BackendFactory;
  private readonly options: QueueOptions;
  /** How long an add waits for Redis to answer its MULTI: what the asker is told Redis was given. */
  readonly commandTimeoutMs: number;
  /**
   * The adding connection gone silent alone (a NAT forgetting just its flow): the bot's own connection answers, so
   * its periodic write never finds it; only the adds' own outcomes can.
   */
  private readonly silence: SilentConnection | null;
  /**
   * BullMQ's shared connection gone silent alone: it has no command timeout (the blocking connections BullMQ
   * duplicates from it would inherit one), so its commands (the schedules' Worker taking ticks, /schedule, the queue
   * depths of /metrics, reads of jobs) hang until TCP gives up; only a probe of its own (probeShared) finds it.
   */
  private readonly sharedSilence: SilentConnection | null;
  /** A probe of the shared connection awaits its answer: the ticks meanwhile send none to pile up behind it. */
  private probing = false;
  /** After close(): no probe, and no replacement (that disconnect is for good). */
  private closed = false;
  private readonly monotonic: () => number;

  constructor(
    hostNames: readonly string[],
    private readonly connection: RedisClient,
    private readonly prefix: string,
    private readonly logger: Logger,
    timings: AdderTimings = {},
  ) {
    this.commandTimeoutMs = timings.commandTimeoutMs ?? REDIS_COMMAND_TIMEOUT_MS;
    this.silence = timings.silentReconnectMs === undefined ? null : new SilentConnection(timings.silentReconnectMs);
    this.sharedSilence = timings.silentReconnectMs === undefined ? null : new SilentConnection(timings.silentReconnectMs);
    this.monotonic = timings.monotonic ?? (() => performance.now());
    const options: QueueOptions = { connection: connection as ConnectionOptions, prefix };
    this.options = options;
    this.backend = createRedisBackend('host-queues', options);
    // The siblings do not relay the connection's errors: they are said once, here.
    this.backend.on('error', (e: Error) => logger.warn({ err: e.message }, 'queue error'));
    this.sibling = (name) => {
      const backend = this.backend.forQueue(name, prefix) as RedisQueueBackend;
      this.siblings.set(name, backend);
      return backend;
    };
    this.queues = new Map(hostNames.map((h) => [h, this.open(h)]));
  }

  /** `reading`: for a host no longer configured, opened without BullMQ's meta write (it would bring its key back). */
  private open(host: string, reading = false): HostQueue {
    const queue = new Queue(hostQueueName(host), reading ? { ...this.options, skipMetasUpdate: true } : this.options, this.sibling);
    queue.on('error', (e) => this.logger.warn({ err: e.message }, 'queue error'));
    return queue;
  }

  /** The queue a job of `host` is read from: its own, or, for a host no longer configured, one opened to read it. */
  private reading(host: string): HostQueue {
    const configured = this.queues.get(host);
    if (configured) return configured;
    let queue = this.outside.get(host);
    if (!queue) {
      queue = this.open(host, true);
      this.outside.set(host, queue);
    }
    return queue;
  }

  get(host: string): HostQueue | undefined {
    return this.queues.get(host);
  }

  /**
   * Adds jobs, each to its host's queue, in ONE MULTI, after the commands `before` writes into it (the request they
   * belong to, as the dispatcher saves it): all of it is in Redis, or none of it. A request saved and its jobs added
   * in two steps could be left half done by a crash or a lost connection in between, and cost two round trips on
   * every request's critical path. A jobId derives from the request: a redelivered chat event (or a second bot)
   * adds nothing. While the connection is down this fails within RECONNECT_GRACE_MS (the bot's other Redis calls
   * fail at once) instead of waiting in the client's offline queue.
   */
  async add(jobs: readonly NewJob[], before?: (tx: JobTransaction) => void): Promise<void> {
    const entries = jobs.map(({ data, jobId }) => {
      const queue = this.queues.get(data.host);
      const backend = this.siblings.get(hostQueueName(data.host));
      if (!queue || !backend) throw new Error(`no queue for host ${data.host}`);
      // What Queue.add does before its script: the job as BullMQ stores it, its options checked.
      const job = new Job(queue, data.op, data, jobOptions(data, jobId), jobId);
      const json = job.asJSON();
      // Protected in BullMQ's types, called by its Job.create: the same checks (ids, option combinations).
      (job as unknown as { validateOptions(json: JobJson): void }).validateOptions(json);
      return { backend, json, jobId };
    });
    // Reconnecting after an outage, it may be a retry behind the bot's other connections: a command sent just as Redis
    // came back is not refused for that. Down, it is refused within that second — also while BullMQ's shared
    // connection, which the adding one is made from, has never been ready (its wait has no end of its own).
    const deadline = Date.now() + RECONNECT_GRACE_MS;
    // The message is one isRedisDown knows: the request is answered "Redis is unreachable".
    const client = await withTimeout(this.adderClient(), RECONNECT_GRACE_MS, 'timed out waiting for Redis');
    if (!(await readyWithin(client, Math.max(0, deadline - Date.now())))) throw new RedisUnavailableError('not connected');
    const send = async () => {
      // BullMQ's own transaction, as its client wrapper makes it (its scripts callable by name); the rest is ioredis's MULTI.
      const tx = client.multi() as unknown as JobTransaction & IRedisTransaction;
      before?.(tx);
      for (const e of entries) void e.backend.addJobToTransaction(tx, e.json, e.jobId);
      const sentAt = this.monotonic();
      const results = await tx.exec().then(
        (r) => {
          this.silence?.answered();
          return r;
        },
        (error: unknown) => {
          if (this.silence) this.judgeSilence(this.silence, error, sentAt, this.adderConnection, 'the adds on the adding connection');
          throw error;
        },
      );
      if (!results) throw new Error('the MULTI adding the jobs was discarded');
      return results;
    };
    let results = await send();
    if (results.some(([error]) => error?.message.startsWith('NOSCRIPT'))) {
      // Redis lost its scripts while the connection stayed (SCRIPT FLUSH, a failover): ioredis sends a failed EVALSHA
      // again as EVAL, but not inside a MULTI, where every add would fail from then on. No script of it ran: they
      // are loaded and the whole of it sent again (its SETs are idempotent, and a job id adds one job).
      const raw = client as unknown as ScriptLoader & { scriptsSet: Record<string, { lua: string }>; isCluster?: boolean };
      // On a Cluster a SCRIPT LOAD names no key: ioredis sends it to any node, seldom the one that owns the prefix's
      // slot and ran the EVALSHA. Every master loads them.
      const loaders: ScriptLoader[] = raw.isCluster === true ? (raw as unknown as Cluster).nodes('master') : [raw];
      await Promise.all(loaders.flatMap((node) => Object.values(raw.scriptsSet).map((script) => node.script('LOAD', script.lua))));
      results = await send();
    }
    for (const [error, result] of results) {
      // Failed as the transaction ran, after commands before it (and perhaps part of its own script) had done their
      // work: not a refusal of the whole (which Redis reports as EXECABORT), so never answered as one.
      if (error) throw new Error(`a command of the transaction adding the jobs failed as it ran: ${error.message}`, { cause: error });
      if (typeof result === 'number' && result < 0) throw new Error(`BullMQ refused a job (code ${result})`);
    }
  }

  /**
   * A command on `connection` (`what` it was, for the log) failed: after silentReconnectMs of nothing but timeouts
   * there, that connection alone is replaced. None after close(): that disconnect is for good, and replacing would
   * connect it again.
   */
  private judgeSilence(silence: SilentConnection, error: unknown, sentAt: number, connection: RedisClient | null, what: string): void {
    const silentFor = silence.failed(error, sentAt, this.monotonic());
    if (silentFor === null || this.closed || !connection) return;
    this.logger.warn(
      { silentMs: Math.round(silentFor) },
      `Redis answered none of ${what} for this long (each timed out); replacing that connection`,
    );
    replaceSilentConnection(connection);
  }

  /**
   * One PING (on a Cluster, a read routed to the prefix's master) on BullMQ's shared connection, given
   * commandTimeoutMs, its outcome judged as an add's is: after silentReconnectMs of nothing but timeouts, that
   * connection alone is replaced. The bot calls it periodically. None while it is not ready (down, it is not silent:
   * ioredis reconnects by itself, and a PING would only wait in its offline queue), nor after close(). Resolves once
   * judged; never rejects.
   */
  async probeShared(): Promise<void> {
    const silence = this.sharedSilence;
    if (!silence || this.probing || this.closed) return;
    if (this.connection.status !== 'ready') {
      silence.answered();
      return;
    }
    this.probing = true;
    const sentAt = this.monotonic();
    try {
      await withTimeout(pingHolderOf(this.connection, this.prefix), this.commandTimeoutMs, COMMAND_TIMED_OUT);
      silence.answered();
    } catch (error) {
      // Closed meanwhile (a Redis restart, its PING kept for the new connection): not silent while open.
      if (this.connection.status !== 'ready') {
        silence.answered();
        return;
      }
      this.judgeSilence(silence, error, sentAt, this.connection, "the probes on BullMQ's shared connection");
    } finally {
      this.probing = false;
    }
  }

  /** The adding connection, made on first use once BullMQ has defined its scripts on the shared client. */
  private adderClient(): Promise<RedisClient> {
    this.adder ??= (async () => {
      await this.backend.client;
      const shared = this.connection as unknown as { scriptsSet: Record<string, { lua: string; numberOfKeys: number | null }> };
      // Bounded: a Redis that answers nothing must not hold the request for ever (the dispatcher says what is known).
      const adder = duplicateRedisClient(this.connection, { lazyConnect: true, commandTimeout: this.commandTimeoutMs });
      this.adderConnection = adder;
      for (const [name, { lua: bullmq, numberOfKeys }] of Object.entries(shared.scriptsSet)) {
        if (!ADD_SCRIPTS.test(name)) continue;
        // A read's job is added unannounced (see quiet-events.ts): its own MULTI no longer wakes this bot's read.
        const lua = name.startsWith('addStandardJob:') ? withoutAddEvents(bullmq, UNANNOUNCED_OPS) : bullmq;
        adder.defineCommand(name, numberOfKeys === null ? { lua } : { lua, numberOfKeys });
      }
      // Down now: this add fails as not connected, and ioredis keeps trying for the next.
      await adder.connect().catch(() => {});
      // Through BullMQ's client wrapper: its transactions take BullMQ's scripts by name (addJobToTransaction).
      return createIORedisClient(adder);
    })();
    return this.adder;
  }

  /**
   * The bot found its own connection silent while open (see SilentConnection): the flows these ride on are most
   * likely gone the same way (a NAT or firewall forgets them all at once), and nothing of theirs would notice — the
   * adding one is used only by requests, each timing out after commandTimeoutMs, and BullMQ's shared one has
   * no command timeout at all, so its commands hang. Each is replaced as the bot's own is; one not silent only
   * reconnects.
   */
  replaceSilentConnections(): void {
    // Their own counts start again: the commands flushed here fail as timed out, and would count towards a second
    // replacement of connections just made.
    this.silence?.answered();
    this.sharedSilence?.answered();
    replaceSilentConnection(this.connection);
    if (this.adderConnection) replaceSilentConnection(this.adderConnection);
  }

  /** A job of any host, configured or not (one queued before its host was taken out of the config). */
  async job(host: string, jobId: string): Promise<Job | undefined> {
    return Job.fromId(this.reading(host), jobId);
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
    const queue = this.reading(host);
    const state = await queue.getJobState(jobId);
    if (state === 'unknown') return null;
    if (state !== 'completed' && state !== 'failed') return { state: 'unfinished' };
    const job = await Job.fromId(queue, jobId);
    if (!job) return null;
    return state === 'completed' ? { state, returnvalue: job.returnvalue } : { state, failedReason: job.failedReason };
  }

  /** The queues' closes are no-ops on a shared backend: closing that one lets go of the shared client. */
  async close(): Promise<void> {
    this.closed = true;
    const adder = this.adder;
    this.adder = null;
    this.adderConnection = null;
    await settleWithin(2_000, [
      ...[...this.queues.values(), ...this.outside.values()].map((q) => q.close()),
      this.backend.close(),
      ...(adder ? [adder.then((c) => c.disconnect())] : []),
    ]);
  }
}

/** A mutation is never retried by BullMQ: after an unknown outcome the agent reads the state instead. */
function jobOptions(data: JobData, jobId: string): JobsOptions {
  return {
    jobId,
    attempts: isMutating(data.op) ? 1 : 2,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 86_400 },
  };
}
