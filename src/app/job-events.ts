import { Cluster } from 'ioredis';
import type { Logger } from '../core/log.ts';
import { watchBlocking } from '../queue/blocking-watchdog.ts';
import type { RedisClient } from '../queue/redis-connection.ts';

/** One event of a BullMQ queue's event stream, as QueueEvents would emit it. */
export interface JobEvent {
  /** The queue's name (not its key). */
  queue: string;
  event: string;
  jobId: string;
  /** `completed`: the job's return value, parsed. */
  returnvalue?: unknown;
  /** `failed`: BullMQ's reason. */
  failedReason?: string;
  /** `progress`: the progress value, parsed. */
  data?: unknown;
}

/** How long one XREAD blocks before it is sent again (also bounds how late stop() is noticed). */
const BLOCK_MS = 5_000;
/** An XREAD that has not answered this long after its own timeout is abandoned and the connection reset. */
const WATCHDOG_GRACE_MS = 2_000;
const RETRY_MS = 500;
/** How often every stream is read, watched or not (the events of jobs this bot does not wait for: another bot's). */
const SWEEP_MS = 1_000;
/** How long a stream stays in the blocking read after its last awaited job (a host asked again soon costs nothing). */
const LINGER_MS = 10_000;
/**
 * Lingering streams stay in the read only while it names at most this many: a stream named for nothing costs Redis
 * on every read (about 3 µs each), and a /status over 1,000 hosts read its finished hosts' streams ~80 times more.
 */
const LINGER_MAX = 64;

export interface JobEventTiming {
  blockMs: number;
  watchdogGraceMs: number;
  sweepMs?: number;
  lingerMs?: number;
  lingerMax?: number;
}

type XreadReply = [string, [string, string[]][]][] | null;

/**
 * Every host queue's BullMQ event stream read through ONE blocking connection (`XREAD BLOCK … STREAMS k1 … kN`),
 * instead of a QueueEvents — and a connection — per host: the bot's Redis connections no longer grow with the
 * fleet. The events are BullMQ's own (written atomically by its scripts), parsed as QueueEvents parses them.
 *
 * Each stream is read from its last entry at start() (nothing older is replayed: recovery reads job states), then
 * from the last id seen, so nothing is skipped between reads or across a Redis outage (BullMQ trims each stream to
 * about 10,000 events). On a Cluster every key shares the prefix's hash slot, so one XREAD may name them all.
 *
 * Given a command connection (`commands`, one server), the blocking read names only the streams of hosts with a job
 * this bot waits for (`watch`/`unwatch`, kept a while after: `lingerMs`), and every stream is read, without
 * blocking, once per `sweepMs`: an XREAD's cost in Redis and in the bot grows with the streams it names (4 ms of
 * Redis per call at 1,000 hosts, two or three calls per request). A stream watched while a read that does not name it
 * blocks is taken in at once: CLIENT UNBLOCK ends that read. Without `commands` (or on a Cluster, where CLIENT
 * UNBLOCK would have to reach the read's node) every read names every stream.
 */
export class JobEventReader {
  private readonly ids = new Map<string, string>();
  private readonly watched = new Map<string, number>();
  /** Streams no longer watched, and since when: they stay in the blocking read for lingerMs. */
  private readonly lingering = new Map<string, number>();
  /** The streams the blocking read in flight names (null: none in flight). */
  private reading: ReadonlySet<string> | null = null;
  /** A CLIENT UNBLOCK was sent for the read in flight: streams watched meanwhile are in the next read's names. */
  private unblocking = false;
  /** Ends the wait for a watched stream when nothing is watched. */
  private wake: (() => void) | null = null;
  /** The blocking connection's CLIENT ID (null: not known yet, or reconnecting). */
  private blockingId: number | null = null;
  private lastSweep = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly hotSet: boolean;
  private readonly sweepMs: number;
  private readonly lingerMs: number;
  private readonly lingerMax: number;
  /** Set on every (re)connect: the loop asks the connection's id before its next read (never behind a blocked one). */
  private needId = true;
  private readonly onReady = () => {
    this.needId = true;
    this.blockingId = null;
  };
  /** An id outlives its connection only to name someone else's after a Redis restart (ids start again from 1). */
  private readonly onClose = () => {
    this.blockingId = null;
  };

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly queues: readonly string[],
    private readonly onEvent: (e: JobEvent) => void,
    private readonly logger: Logger,
    private readonly timing: JobEventTiming = { blockMs: BLOCK_MS, watchdogGraceMs: WATCHDOG_GRACE_MS },
    private readonly commands: RedisClient | null = null,
  ) {
    this.hotSet = commands !== null && !isCluster(client) && !isCluster(commands);
    this.sweepMs = timing.sweepMs ?? SWEEP_MS;
    this.lingerMs = timing.lingerMs ?? LINGER_MS;
    this.lingerMax = timing.lingerMax ?? LINGER_MAX;
  }

  private key(queue: string): string {
    return `${this.prefix}:${queue}:events`;
  }

  /** Resolves once the reader knows where each stream ends (events after this are delivered). */
  async start(): Promise<void> {
    const pipeline = this.client.pipeline();
    for (const q of this.queues) pipeline.xrevrange(this.key(q), '+', '-', 'COUNT', 1);
    const last = (await pipeline.exec()) ?? [];
    this.queues.forEach((q, i) => {
      const [error, entries] = last[i] ?? [null, []];
      if (error) throw error;
      this.ids.set(q, (entries as [string, string[]][])[0]?.[0] ?? '0-0');
    });
    if (this.hotSet) this.client.on('ready', this.onReady).on('close', this.onClose);
    this.lastSweep = Date.now();
    this.running = true;
    this.loop = this.run();
  }

  /** A job of this queue is awaited: its events are read as they come (until unwatch and lingerMs after). */
  watch(queue: string): void {
    if (!this.ids.has(queue)) return;
    const n = this.watched.get(queue) ?? 0;
    this.watched.set(queue, n + 1);
    this.lingering.delete(queue);
    if (n === 0) this.takeIn(queue);
  }

  unwatch(queue: string): void {
    const n = this.watched.get(queue);
    if (n === undefined) return;
    if (n > 1) this.watched.set(queue, n - 1);
    else {
      this.watched.delete(queue);
      this.lingering.set(queue, Date.now());
    }
  }

  /**
   * The streams the next blocking read names: the watched ones, and the lingering ones while that makes at most
   * lingerMax (all streams without the hot set). A stream left out is still read by the sweep.
   */
  hot(now = Date.now()): string[] {
    if (!this.hotSet) return [...this.queues];
    for (const [q, since] of this.lingering) if (now - since >= this.lingerMs) this.lingering.delete(q);
    const names = [...this.watched.keys()];
    if (names.length + this.lingering.size <= this.lingerMax) names.push(...this.lingering.keys());
    return names;
  }

  /** A newly watched stream joins the blocking read now, not when it next times out. */
  private takeIn(queue: string): void {
    if (!this.hotSet || !this.running) return;
    if (this.reading === null) {
      // Waiting for a watched stream, or between reads (the next read will name it).
      this.wake?.();
      return;
    }
    if (this.reading.has(queue) || this.blockingId === null || this.unblocking) return;
    // The read returns at once with no events; the loop reads again, naming the stream (and any watched meanwhile:
    // a fan-out's or a burst's watches cost one UNBLOCK, not one each).
    this.unblocking = true;
    this.commands?.client('UNBLOCK', this.blockingId).catch(() => {});
  }

  /** Asks the blocking connection's id; false when the connection did not answer (half-open: it is reset). */
  private async learnClientId(): Promise<boolean> {
    this.needId = false;
    this.blockingId = null;
    try {
      // Watched like a read: on a half-open connection it would never answer, and no event would come again.
      const id = await watchBlocking(
        this.client,
        this.client.client('ID') as Promise<number>,
        0,
        this.timing.watchdogGraceMs,
        () => this.running,
      );
      if (id === 'stuck') return false;
      this.blockingId = Number(id);
    } catch {
      // Reconnecting: asked again after 'ready'. Until then a newly watched stream waits for the read's timeout.
      this.needId = true;
    }
    return true;
  }

  private async run(): Promise<void> {
    const byKey = new Map(this.queues.map((q) => [this.key(q), q]));
    while (this.running) {
      try {
        // First, so a stream watched while the id is asked is in this read's names.
        if (this.hotSet && this.needId && !(await this.learnClientId())) {
          if (!this.running) return;
          this.logger.warn('job events: the connection did not answer; reconnecting');
          this.needId = true;
          this.client.disconnect(true);
          continue;
        }
        const now = Date.now();
        const sweep = this.hotSet && now - this.lastSweep >= this.sweepMs;
        const names = sweep ? [...this.queues] : this.hot(now);
        if (names.length === 0) {
          // stop() may have come while the id was asked: it found no wait to end.
          if (!this.running) return;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.max(1, this.lastSweep + this.sweepMs - now));
            this.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.wake = null;
          continue;
        }
        if (sweep) this.lastSweep = now;
        // A sweep does not block; a hot read blocks until the next sweep is due at the latest.
        const blockMs = sweep
          ? null
          : this.hotSet
            ? Math.max(1, Math.min(this.timing.blockMs, this.lastSweep + this.sweepMs - now))
            : this.timing.blockMs;
        this.reading = sweep ? null : new Set(names);
        this.unblocking = false;
        const data = await this.read(
          names.map((q) => this.key(q)),
          names.map((q) => this.ids.get(q) ?? '0-0'),
          blockMs,
        ).finally(() => {
          this.reading = null;
        });
        if (data === 'stuck') {
          if (!this.running) return;
          // A half-open connection (a network blip no error reports), or a blocking command ioredis re-sent after a
          // reconnect that never answers (BullMQ #4479): without this, no event would ever arrive again.
          this.logger.warn('job events: the blocking read did not answer; reconnecting');
          this.client.disconnect(true);
          continue;
        }
        if (!data) continue;
        // A read naming many streams costs Redis ~3 µs per stream whatever it returns: while a fan-out's events keep
        // coming, the next read waits a moment to take more of them in one go (1 ms per 250 streams, 4 at most).
        // Not on a Cluster, where every read names every stream: one request's events would wait too.
        const gather = this.hotSet && names.length > this.lingerMax ? Math.min(4, Math.ceil(names.length / 250)) : 0;
        const gathered = gather > 0 ? new Promise((r) => setTimeout(r, gather)) : null;
        for (const [key, entries] of data) {
          const queue = byKey.get(key);
          if (!queue) continue;
          for (const [id, fields] of entries) {
            this.ids.set(queue, id);
            const event = parseEvent(queue, fields);
            if (event) this.onEvent(event);
          }
        }
        if (gathered !== null) await gathered;
      } catch (error) {
        if (!this.running) return;
        this.logger.debug({ err: String(error) }, 'job events: read failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /** One XREAD (blocking for blockMs, or not at all when null), watched (see watchBlocking). */
  private read(keys: readonly string[], ids: readonly string[], blockMs: number | null): Promise<XreadReply | 'stuck'> {
    const { watchdogGraceMs } = this.timing;
    const read = (
      blockMs === null
        ? this.client.xread('COUNT', 1000, 'STREAMS', ...keys, ...ids)
        : this.client.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', ...keys, ...ids)
    ) as Promise<XreadReply>;
    return watchBlocking(this.client, read, blockMs ?? 0, watchdogGraceMs, () => this.running);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.client.off('ready', this.onReady).off('close', this.onClose);
    this.wake?.();
    this.client.disconnect();
    await this.loop?.catch(() => {});
  }
}

function isCluster(client: RedisClient): boolean {
  return client instanceof Cluster;
}

/** A stream entry's fields as QueueEvents reads them (progress data and return values are JSON). */
export function parseEvent(queue: string, fields: readonly string[]): JobEvent | null {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  const { event, jobId } = f;
  if (!event || !jobId) return null;
  const out: JobEvent = { queue, event, jobId };
  try {
    if (event === 'completed' && f['returnvalue'] !== undefined) out.returnvalue = JSON.parse(f['returnvalue']);
    if (event === 'progress' && f['data'] !== undefined) out.data = JSON.parse(f['data']);
  } catch {
    return out;
  }
  if (f['failedReason'] !== undefined) out.failedReason = f['failedReason'];
  return out;
}
