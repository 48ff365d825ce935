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

/**
 * Every host queue's BullMQ event stream read through ONE blocking connection (`XREAD BLOCK … STREAMS k1 … kN`),
 * instead of a QueueEvents — and a connection — per host: the bot's Redis connections no longer grow with the
 * fleet. The events are BullMQ's own (written atomically by its scripts), parsed as QueueEvents parses them.
 *
 * Each stream is read from its last entry at start() (nothing older is replayed: recovery reads job states), then
 * from the last id seen, so nothing is skipped between reads or across a Redis outage (BullMQ trims each stream to
 * about 10,000 events). On a Cluster every key shares the prefix's hash slot, so one XREAD may name them all.
 */
export class JobEventReader {
  private readonly ids = new Map<string, string>();
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly queues: readonly string[],
    private readonly onEvent: (e: JobEvent) => void,
    private readonly logger: Logger,
    private readonly timing: { blockMs: number; watchdogGraceMs: number } = { blockMs: BLOCK_MS, watchdogGraceMs: WATCHDOG_GRACE_MS },
  ) {}

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
    this.running = true;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const keys = this.queues.map((q) => this.key(q));
    const byKey = new Map(this.queues.map((q) => [this.key(q), q]));
    while (this.running) {
      try {
        const ids = this.queues.map((q) => this.ids.get(q) ?? '0-0');
        const data = await this.read(keys, ids);
        if (data === 'stuck') {
          if (!this.running) return;
          // A half-open connection (a network blip no error reports), or a blocking command ioredis re-sent after a
          // reconnect that never answers (BullMQ #4479): without this, no event would ever arrive again.
          this.logger.warn('job events: the blocking read did not answer; reconnecting');
          this.client.disconnect(true);
          continue;
        }
        if (!data) continue;
        for (const [key, entries] of data) {
          const queue = byKey.get(key);
          if (!queue) continue;
          for (const [id, fields] of entries) {
            this.ids.set(queue, id);
            const event = parseEvent(queue, fields);
            if (event) this.onEvent(event);
          }
        }
      } catch (error) {
        if (!this.running) return;
        this.logger.debug({ err: String(error) }, 'job events: read failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /** One XREAD, watched (see watchBlocking). */
  private read(keys: readonly string[], ids: readonly string[]): Promise<[string, [string, string[]][]][] | null | 'stuck'> {
    const { blockMs, watchdogGraceMs } = this.timing;
    const read = this.client.xread('COUNT', 1000, 'BLOCK', blockMs, 'STREAMS', ...keys, ...ids) as Promise<
      [string, [string, string[]][]][] | null
    >;
    return watchBlocking(this.client, read, blockMs, watchdogGraceMs, () => this.running);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.client.disconnect();
    await this.loop?.catch(() => {});
  }
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
