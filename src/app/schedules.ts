import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import type { Logger } from '../core/log.ts';
import type { Platform } from '../core/request.ts';
import type { ScheduleSpec } from '../core/schedule.ts';
import { type RedisClient, workerConnection } from '../queue/redis-connection.ts';
import { settleWithin } from './redis-wait.ts';

/** Longer than `create` takes between writing a chat schedule's spec and its scheduler: not "lost" before that. */
const CREATE_GRACE_MS = 60_000;

/** One schedules queue per platform: only a bot with that platform's adapter takes (and posts) its ticks. */
export function scheduleQueueName(platform: Platform): string {
  return `xenops-schedules-${platform}`;
}

/** The message an `edit` schedule keeps editing (the adapter's target), once it has posted. */
export function scheduleMessageKey(prefix: string, id: string): string {
  return `${prefix}:schedule-message:${id}`;
}

/** Where the schedules' specs are kept (one hash, by id). */
export function scheduleBookKey(prefix: string): string {
  return `${prefix}:schedules`;
}

/** What a schedule's last status post saw: the next one marks what changed since. */
export function scheduleSnapshotKey(prefix: string, id: string): string {
  return `${prefix}:schedule-snapshot:${id}`;
}

/** The due time (epoch ms) of the latest tick of a schedule whose post went out (or is going out). */
export function scheduleTickKey(prefix: string, id: string): string {
  return `${prefix}:schedule-tick:${id}`;
}

/**
 * The due time of the tick whose post is being sent now (set with the tick's claim, kept alive while its delivery
 * runs): a later tick waits for it, so an edit held up in the adapter never lands over a newer one.
 */
export function scheduleSendingKey(prefix: string, id: string): string {
  return `${prefix}:schedule-sending:${id}`;
}

/** A tick's request id: the schedule and its due time (see startWorkers). */
export function tickRequestId(id: string, at: string | number): string {
  return `sched-${id}-${at}`;
}

/**
 * The key of a schedule's posts as a due delivery (Reply.due, ReplyTarget.due): every tick's target carries it, so
 * an `every` schedule's add, which says its first post comes now, names the post it is waited for by.
 */
export function schedulePostKey(id: string): string {
  return `schedule-post-${id}`;
}

/** The schedule and due time a tick's request id names; null for any other request id. */
export function tickOfRequest(requestId: string): { id: string; at: number } | null {
  const m = /^sched-(.+)-(\d+)$/.exec(requestId);
  return m ? { id: m[1] as string, at: Number(m[2]) } : null;
}

export interface ScheduleRow extends ScheduleSpec {
  /** Epoch ms of the next run, from BullMQ's job scheduler; null when BullMQ has none (being re-created). */
  next: number | null;
}

/** What a tick asks of the bot: run the schedule's command into its channel, or skip it (the tick job's result). */
export type TickHandler = (spec: ScheduleSpec, tickId: string) => Promise<'posted' | 'skipped'>;

/**
 * Schedules as BullMQ job schedulers (`upsertJobScheduler`), so several bot replicas never post a tick twice (each
 * tick is one job, taken by one worker) and schedules outlive restarts. The spec itself is kept in a hash and read
 * at every tick: a schedule removed meanwhile posts nothing, and `/schedule list` shows owner and channel.
 */
export class ScheduleBook {
  private readonly queues = new Map<Platform, Queue>();
  private readonly workers: Worker[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly connection: ConnectionOptions,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  private get key(): string {
    return scheduleBookKey(this.prefix);
  }

  private queue(platform: Platform): Queue {
    let q = this.queues.get(platform);
    if (!q) {
      q = new Queue(scheduleQueueName(platform), { connection: this.connection, prefix: this.prefix });
      q.on('error', (e) => this.logger.warn({ err: e.message }, 'schedules queue error'));
      this.queues.set(platform, q);
    }
    return q;
  }

  /** Creates or replaces a schedule (same id = updated in place, its next run recomputed). */
  async upsert(spec: ScheduleSpec): Promise<void> {
    const previous = await this.get(spec.id);
    await this.redis.hset(this.key, spec.id, JSON.stringify(spec));
    // Moved to another platform: the old queue's scheduler must go, or both would fire.
    if (previous && previous.channel.platform !== spec.channel.platform)
      await this.queue(previous.channel.platform).removeJobScheduler(spec.id);
    await this.schedule(spec);
  }

  /** A new schedule: false when its id is taken (nothing written); one BullMQ cannot schedule is not kept. */
  async create(spec: ScheduleSpec): Promise<boolean> {
    if ((await this.redis.hsetnx(this.key, spec.id, JSON.stringify(spec))) === 0) return false;
    try {
      await this.schedule(spec);
    } catch (error) {
      await this.redis.hdel(this.key, spec.id);
      throw error;
    }
    return true;
  }

  private async schedule(spec: ScheduleSpec): Promise<void> {
    const repeat = 'every' in spec.when ? { every: spec.when.every } : { pattern: spec.when.cron, tz: spec.when.tz };
    await this.queue(spec.channel.platform).upsertJobScheduler(spec.id, repeat, {
      name: 'tick',
      data: { id: spec.id },
      // A tick that could not run is not worth replaying later: the next one comes anyway.
      opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 100 },
    });
  }

  async get(id: string): Promise<ScheduleSpec | null> {
    const raw = await this.redis.hget(this.key, id);
    return raw ? (JSON.parse(raw) as ScheduleSpec) : null;
  }

  async remove(id: string): Promise<boolean> {
    const spec = await this.get(id);
    if (!spec) return false;
    // The spec and its keys in one transaction, then the scheduler: a removal cut off after it leaves a scheduler
    // without its spec, dropped (with any key a tick in flight wrote) at its next tick. Cut off between the spec and
    // its keys, as it once was, it left an edit schedule's message key (no TTL) for good: nothing removed it again.
    await this.redis
      .multi()
      .hdel(this.key, id)
      .del(...this.keysOf(id))
      .exec();
    await this.queue(spec.channel.platform).removeJobScheduler(id);
    return true;
  }

  /** A schedule's keys besides its spec and scheduler (one slot: the prefix is hash-tagged). */
  private keysOf(id: string): string[] {
    return [
      scheduleMessageKey(this.prefix, id),
      scheduleSnapshotKey(this.prefix, id),
      scheduleTickKey(this.prefix, id),
      scheduleSendingKey(this.prefix, id),
    ];
  }

  async list(): Promise<ScheduleRow[]> {
    const all = Object.values(await this.redis.hgetall(this.key)).map((raw) => JSON.parse(raw) as ScheduleSpec);
    const next = new Map<string, number>();
    for (const platform of new Set(all.map((s) => s.channel.platform))) {
      for (const s of await this.queue(platform).getJobSchedulers(0, -1, true)) {
        if (s.key && typeof s.next === 'number') next.set(s.key, s.next);
      }
    }
    return all
      .map((s) => ({ ...s, next: next.get(s.id) ?? null }))
      .sort((a, b) => (a.next ?? Number.MAX_SAFE_INTEGER) - (b.next ?? Number.MAX_SAFE_INTEGER) || a.id.localeCompare(b.id));
  }

  /**
   * Makes Redis match the config's schedules: each one upserted, and those that came from the config but are no
   * longer in it removed. A schedule whose spec is kept but whose BullMQ scheduler is gone (an upsert cut off between
   * its two writes, a Redis evicting keys) would never post again: it is scheduled again, a chat one too once it is
   * older than a create takes. Every replica may run it: upserts are idempotent.
   */
  async syncConfig(specs: readonly ScheduleSpec[], now: number = Date.now()): Promise<{ removed: string[]; written: string[] }> {
    const wanted = new Set(specs.map((s) => s.id));
    const removed: string[] = [];
    const written: string[] = [];
    const rows = await this.list();
    const unscheduled = new Set(rows.filter((s) => s.next === null).map((s) => s.id));
    for (const s of rows) {
      if (s.source === 'config' && !wanted.has(s.id)) {
        await this.remove(s.id);
        removed.push(s.id);
      } else if (s.source === 'chat' && unscheduled.has(s.id) && s.createdAt < now - CREATE_GRACE_MS) {
        // Read again: one removed since the list is not brought back.
        const current = await this.get(s.id);
        if (!current) continue;
        await this.schedule(current);
        written.push(s.id);
      }
    }
    for (const s of specs) {
      const current = await this.get(s.id);
      // Unchanged and scheduled: leave the scheduler (and its next run) as it is.
      if (current && sameSchedule(current, s) && !unscheduled.has(s.id)) continue;
      await this.upsert(s);
      written.push(s.id);
    }
    return { removed, written };
  }

  /** Takes the ticks of the given platforms' schedules (one worker per platform, in every replica). */
  async startWorkers(platforms: Iterable<Platform>, onTick: TickHandler): Promise<void> {
    for (const platform of platforms) {
      const worker = new Worker(
        scheduleQueueName(platform),
        async (job: Job<{ id: string }>) => {
          const spec = await this.get(job.data.id);
          // Removed since this tick was scheduled. Its scheduler goes too: one left behind (a removal cut off, or put
          // back by a check that read the spec just before it went) would tick for nothing forever; and so do its keys
          // (a removal by an older bot, cut off before them, left the message key of an edit schedule, with no TTL).
          if (!spec) {
            await this.queue(platform).removeJobScheduler(job.data.id);
            await this.redis.del(...this.keysOf(job.data.id));
            return 'removed';
          }
          // The job id names the scheduler and the tick's time: the same tick re-run is the same request.
          return onTick(spec, tickRequestId(spec.id, tickTimeOf(job)));
        },
        { connection: workerConnection(this.connection), prefix: this.prefix, concurrency: 4 },
      );
      worker.on('error', (e) => this.logger.warn({ err: e.message }, 'schedules worker error'));
      worker.on('failed', (job, e) => this.logger.warn({ id: job?.data.id, err: e.message }, 'schedule tick failed'));
      this.workers.push(worker);
    }
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
  }

  /** Bounded: after a Redis restart a BullMQ Worker's close() can wait forever for its blocking connection. */
  async close(): Promise<void> {
    await settleWithin(2_000, [...this.workers.map((w) => w.close()), ...[...this.queues.values()].map((q) => q.close())]);
  }
}

function tickTimeOf(job: Job): string {
  // BullMQ names scheduler jobs `repeat:<scheduler id>:<millis>`.
  const last = String(job.id ?? '')
    .split(':')
    .at(-1);
  return last && /^\d+$/.test(last) ? last : String(job.timestamp);
}

function sameSchedule(a: ScheduleSpec, b: ScheduleSpec): boolean {
  const strip = ({ createdAt: _c, ...rest }: ScheduleSpec) => rest;
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
