import type { ReplyTarget } from '../adapters/types.ts';
import type { Config } from '../config/schema.ts';
import { diffSnapshots, type FleetSnapshot } from '../core/changes.ts';
import { type AnyCommand, type HostOutcome, type RenderContext, type RenderedChart, renderContext } from '../core/define-command.ts';
import type { Logger } from '../core/log.ts';
import type { RunsElsewhere } from '../core/moved-away.ts';
import type { Reply } from '../core/reply.ts';
import type { HistoryPoint } from '../core/samples.ts';
import { type FleetEvent, FleetEventLog } from '../queue/fleet-events.ts';
import type { JobOp } from '../queue/jobs.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import type { Clock } from '../queue/shared-clock.ts';
import type { PendingRequest } from './pending-store.ts';
import {
  scheduleBookKey,
  scheduleMessageKey,
  scheduleSendingKey,
  scheduleSnapshotKey,
  scheduleTickKey,
  tickOfRequest,
} from './schedules.ts';

const HOUR_MS = 3_600_000;
/** Longer than the longest gap between two posts (a yearly cron, a leap year's): removing a schedule deletes them. */
const SNAPSHOT_TTL_SECONDS = 400 * 86_400;
/**
 * A tick being sent holds later ticks of its schedule back for this long past its bot's last renewal: a bot that died
 * sending holds them no longer. Renewed a third of it apart while the delivery runs.
 */
const SENDING_MARK_MS = 15_000;
/**
 * How long a later tick waits for an earlier one still being sent (the adapter's 429 waits, a few tries of them)
 * before it goes out regardless: a delivery that never ends must not stop the schedule for good.
 */
const SENDING_WAIT_MAX_MS = 120_000;
/** How often a waiting tick looks again (the mark lives in Redis, set and let go by other bots too). */
const SENDING_POLL_MS = 250;

/**
 * A tick about to post (KEYS[1]: the latest tick claimed; KEYS[2]: the tick being sent). 0: a later tick of its
 * schedule has posted (or is posting) already. 2: an earlier tick's post is still being sent — it is claimed before
 * its delivery, and a delivery held up in the adapter (a 429's wait) would land after this one, over it; this one
 * waits for it. 1: this tick is the latest from now on, and is the one being sent (for ARGV[3] ms, renewed while its
 * delivery runs). The same tick again (a new leader sending what the old one claimed) goes out too. ARGV[4] 'force':
 * an earlier tick sending for longer than a later one waits goes out regardless.
 */
const CLAIM_TICK = `local stored = redis.call('GET', KEYS[1])
if stored and tonumber(stored) > tonumber(ARGV[1]) then return 0 end
local sending = redis.call('GET', KEYS[2])
if sending and tonumber(sending) > tonumber(ARGV[1]) then return 0 end
if sending and tonumber(sending) < tonumber(ARGV[1]) and ARGV[4] ~= 'force' then return 2 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
return 1`;

/** The tick being sent (KEYS[1]) is still ARGV[1]: its mark renewed (ARGV[2] ms), or, with no ARGV[2], let go. */
const SENDING = `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) else redis.call('DEL', KEYS[1]) end
return 1`;

/**
 * What a post saw (KEYS[2], ARGV[3]) and the message it went to (KEYS[3], ARGV[4]; its previous value returned), unless
 * a later tick of the schedule has posted since (KEYS[1] beyond ARGV[1]): its record is the true one. An empty
 * ARGV[1] (a post that is no tick) is recorded as it is; an empty ARGV[3] or ARGV[4] leaves that key alone. Both
 * expire (ARGV[2] s), renewed at each post: a schedule gone without its keys deleted leaves them for no longer.
 */
const RECORD_POST = `if ARGV[1] ~= '' then
  local stored = redis.call('GET', KEYS[1])
  if stored and tonumber(stored) > tonumber(ARGV[1]) then return { 0, false } end
end
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2]) end
local previous = false
if ARGV[4] ~= '' then previous = redis.call('GET', KEYS[3]); redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[2]) end
return { 1, previous }`;

/** The schedule's message (KEYS[1]) is marked pinned, unless another has replaced it meanwhile. */
const MARK_PINNED = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
return 1`;

/** An `edit` schedule's message as kept: its target, and whether it was pinned (absent in older records: it was). */
type StoredMessage = ReplyTarget & { pinned?: boolean };

export interface PostDeskDeps {
  redis: RedisClient;
  prefix: string;
  config: Config;
  /** Each host's sampler history since the given time (oldest first). */
  history: (hosts: readonly string[], sinceMs: number) => Promise<Record<string, HistoryPoint[]>>;
  /** A PNG of the points; throws when it cannot be drawn (the text fallback is used). */
  chart: (host: string, points: HistoryPoint[], now: number) => Promise<Uint8Array>;
  /** The text fallback; `now` tells a last point that is current from one sampling stopped at. */
  sparkline: (host: string, points: HistoryPoint[], now: number) => string;
  /**
   * Pins a message where the platform allows (an `edit` schedule's message); never throws. False when the pin was
   * refused or failed (tried again at the next post); true when done, or when the platform has no pins.
   */
  pin: (target: ReplyTarget) => Promise<boolean>;
  /** The adapter's delivery, throwing when the message cannot be delivered (a deleted message it posts anew). */
  deliverOrThrow: (target: ReplyTarget, r: Reply) => Promise<ReplyTarget>;
  /** The shared clock samples (and "sampled N s ago") are in (shared-clock.ts). */
  clock: Clock;
  logger: Logger;
  /**
   * Where a guest named bare runs now, when its host said it does not run it there (runs-elsewhere.ts): asked before
   * the reply is rendered, so the reply says so. Absent: not asked.
   */
  runsElsewhere?: (p: PendingRequest, command: AnyCommand, outcomes: HostOutcome<JobOp>[]) => Promise<RunsElsewhere | null>;
}

/** The fleet as a status post saw it: every domain of each host that answered; null for the others. */
export function snapshotOf(outcomes: readonly HostOutcome<JobOp>[], at: number): FleetSnapshot {
  const hosts: FleetSnapshot['hosts'] = {};
  for (const o of outcomes) {
    const domains = o.ok ? (o.result as { domains?: unknown }).domains : undefined;
    hosts[o.host] = {
      domains: Array.isArray(domains)
        ? (domains as { name: string; uuid: string | null; status: never }[]).map((d) => ({ name: d.name, uuid: d.uuid, status: d.status }))
        : null,
    };
  }
  return { at, hosts };
}

/**
 * What the relay needs around a final reply besides the outcomes: for a scheduled post, what changed since its
 * previous one and the message an `edit` schedule keeps editing; for commands that chart, the PNGs. After the
 * delivery it records the snapshot and the message for the next tick.
 */
export class PostDesk {
  constructor(private readonly deps: PostDeskDeps) {}

  private snapshotKey(id: string) {
    return scheduleSnapshotKey(this.deps.prefix, id);
  }
  private messageKey(id: string) {
    return scheduleMessageKey(this.deps.prefix, id);
  }

  /** Whether the schedule is gone (removed while its tick ran); a failed read counts as not gone. */
  async removed(scheduleId: string): Promise<boolean> {
    return (await this.deps.redis.hexists(scheduleBookKey(this.deps.prefix), scheduleId).catch(() => 1)) === 0;
  }

  /**
   * `mayName`: for a person whose permissions reach only some domains, which of a host's domains they may see (the
   * relay's scopeResult filter); the charts leave the others out, as the table does. Null: every domain.
   */
  async prepare(
    p: PendingRequest,
    command: AnyCommand,
    outcomes: HostOutcome<JobOp>[],
    mayName: MayName | null = null,
  ): Promise<{ ctx: RenderContext; target: ReplyTarget }> {
    const now = this.deps.clock.now();
    const ctx = renderContext({ now, posts: this.deps.config.posts, memoryReserveMiB: this.deps.config.fleet.memoryReserveMiB });
    // A plan's final reply names every step, those that did not run too, and shows the plan as it was made.
    if (p.mode === 'sequence') ctx.plan = { steps: p.jobs.map((j) => j.data), summary: p.summary ?? [] };
    let target = p.target;
    if (p.schedule) {
      ctx.scheduleId = p.schedule.id;
      const [snapshot, message] = await this.deps.redis.mget(this.snapshotKey(p.schedule.id), this.messageKey(p.schedule.id));
      if (command.name === 'status') {
        const prev = snapshot ? (JSON.parse(snapshot) as FleetSnapshot) : null;
        ctx.changes = prev ? diffSnapshots(prev, snapshotOf(outcomes, now), await this.eventsSince(prev.at, outcomes, mayName)) : null;
        ctx.changesSince = prev?.at ?? null;
      }
      if (p.schedule.mode === 'edit' && message) {
        const stored = JSON.parse(message) as ReplyTarget;
        // The same channel only: a schedule moved elsewhere starts a new message there.
        if (stored.platform === target.platform && stored.channelId === target.channelId) target = { ...target, state: stored.state };
      }
    }
    const hosts = command.scope === 'local' ? [] : (command.charts?.(p.args as never, outcomes as never) ?? []);
    if (hosts.length > 0) ctx.charts = await this.charts(hosts, now, mayName);
    const elsewhere = p.schedule ? null : await this.deps.runsElsewhere?.(p, command, outcomes);
    if (elsewhere) ctx.runsElsewhere = elsewhere;
    return { ctx, target };
  }

  /**
   * The agents' fleet events since the last post: what tells a guest migrated and then stopped from one stopped where
   * it was. None when they cannot be read: the changes are then told from the snapshots alone, saying no more than
   * those show. Only of the hosts the post shows and the guests the asker may see there: a migration to a host they
   * may not see must not name it.
   */
  private async eventsSince(at: number, outcomes: readonly HostOutcome<JobOp>[], mayName: MayName | null): Promise<FleetEvent[]> {
    const shown = new Set(outcomes.map((o) => o.host));
    const may = (host: string, domain: string) => shown.has(host) && (mayName === null || mayName(host, domain));
    try {
      const events = await new FleetEventLog(this.deps.redis, this.deps.prefix).since(at);
      return events.flatMap((e): FleetEvent[] => {
        if (!('domain' in e)) return [];
        // Gone to a host they may not see: that it left is theirs to know, not where to (an empty host is none shown).
        if (e.kind === 'domain.migrated') return may(e.from, e.domain) ? [may(e.host, e.domain) ? e : { ...e, host: '' }] : [];
        return may(e.host, e.domain) ? [e] : [];
      });
    } catch (error) {
      this.deps.logger.warn({ err: String(error) }, 'fleet events could not be read; changes told from the snapshots alone');
      return [];
    }
  }

  /** Delivers a request's final reply (no scheduled post), throwing when it does not reach the platform. */
  deliver(target: ReplyTarget, r: Reply): Promise<ReplyTarget> {
    return this.deps.deliverOrThrow(target, r);
  }

  /**
   * Delivers a scheduled post, throwing when it does not reach the platform. An `edit` schedule's message is edited;
   * a deleted one is posted anew by the adapter itself (and the schedule then keeps editing the new one). After a
   * failure the next tick edits the same message again: a new message here would leave the old one pinned, showing a
   * status nobody updates. Null: not posted, a later tick of its schedule having posted already (or the schedule
   * removed while this tick waited for an earlier one still being sent).
   */
  async deliverPost(target: ReplyTarget, r: Reply): Promise<ReplyTarget | null> {
    const claim = await this.claimTick(target.requestId);
    if (claim === 'overtaken') {
      // Overtaken: a later tick (its read quicker, or run by a new leader) posted already. Posted now, this older
      // status would replace a newer one (an edit schedule's message) and say again, undone, what that one said.
      this.deps.logger.info({ requestId: target.requestId }, 'scheduled post dropped: a later tick of its schedule posted already');
      return null;
    }
    if (claim === 'removed') {
      this.deps.logger.info({ requestId: target.requestId }, 'scheduled post dropped: its schedule was removed');
      return null;
    }
    if (claim === null) return this.deps.deliverOrThrow(target, r);
    const renew = setInterval(() => void this.sending(claim, SENDING_MARK_MS), SENDING_MARK_MS / 3);
    renew.unref();
    try {
      return await this.deps.deliverOrThrow(target, r);
    } finally {
      clearInterval(renew);
      // Let go at once, landed or not: a later tick waits no longer than this delivery.
      await this.sending(claim);
    }
  }

  /**
   * Whether this tick may post: 'overtaken' when a later tick of its schedule has; else the tick, the latest from now
   * on and marked as being sent, once no earlier tick is being sent. Null: no tick, or not known (Redis failing).
   */
  private async claimTick(requestId: string): Promise<{ id: string; at: number } | 'overtaken' | 'removed' | null> {
    const tick = tickOfRequest(requestId);
    if (!tick) return null;
    const keys = [scheduleTickKey(this.deps.prefix, tick.id), scheduleSendingKey(this.deps.prefix, tick.id)];
    const args = [String(tick.at), String(SNAPSHOT_TTL_SECONDS), String(SENDING_MARK_MS)];
    const deadline = Date.now() + SENDING_WAIT_MAX_MS;
    try {
      for (let waited = false; ; waited = true) {
        // Removed while this tick waited: "/schedule remove" said no more posts, and took the mark with its keys.
        if (waited && (await this.removed(tick.id))) return 'removed';
        const force = Date.now() >= deadline;
        if (force) this.deps.logger.warn({ requestId }, 'an earlier tick of the schedule is still being sent: posting regardless');
        const claimed = await this.deps.redis.eval(CLAIM_TICK, 2, ...keys, ...args, force ? 'force' : '');
        if (claimed === 0) return 'overtaken';
        if (claimed === 1) return tick;
        if (!waited)
          this.deps.logger.info({ requestId }, 'an earlier tick of the schedule is still being sent: waiting for it to land first');
        await new Promise((resolve) => setTimeout(resolve, SENDING_POLL_MS).unref());
      }
    } catch (error) {
      // Unknown: posted (a post twice is better than none); its record below is still kept from going backwards.
      this.deps.logger.warn({ err: String(error), requestId }, 'could not check for a later tick of the schedule');
      return null;
    }
  }

  /** Renews the tick's mark as the one being sent (`ms`), or lets it go; never throws (the mark expires anyway). */
  private async sending(tick: { id: string; at: number }, ms?: number): Promise<void> {
    const extra = ms === undefined ? [] : [String(ms)];
    await this.deps.redis
      .eval(SENDING, 1, scheduleSendingKey(this.deps.prefix, tick.id), String(tick.at), ...extra)
      .catch((error: unknown) => this.deps.logger.warn({ err: String(error), tick }, 'could not renew or let go of a tick being sent'));
  }

  async afterDelivery(p: PendingRequest, command: AnyCommand, outcomes: HostOutcome<JobOp>[], delivered: ReplyTarget): Promise<void> {
    if (!p.schedule) return;
    const { redis, prefix } = this.deps;
    const id = p.schedule.id;
    const tick = tickOfRequest(p.requestId);
    const edit = p.schedule.mode === 'edit';
    // Kept as not pinned yet until its pin is done: a bot that dies while pinning (a round trip of its own) leaves it
    // to the next post to pin, which would otherwise find the same message and take it as pinned.
    const unpinned = JSON.stringify({ ...delivered, pinned: false } satisfies StoredMessage);
    // Recorded only while no later tick has posted: an overtaken tick (dropped by deliverPost, or out just before the
    // later one) must not put the schedule back to what it saw.
    const [recorded, previous] = (await redis.eval(
      RECORD_POST,
      3,
      scheduleTickKey(prefix, id),
      this.snapshotKey(id),
      this.messageKey(id),
      tick && tick.id === id ? String(tick.at) : '',
      String(SNAPSHOT_TTL_SECONDS),
      command.name === 'status' ? JSON.stringify(snapshotOf(outcomes, this.deps.clock.now())) : '',
      edit ? unpinned : '',
    )) as [number, string | null];
    if (recorded === 1 && edit) {
      const before = previous ? (JSON.parse(previous) as StoredMessage) : null;
      // Pinned once: when the schedule's message is new (its first post, or the old one was gone and replaced), or
      // its pin did not go through (refused, failed, or its bot died during it).
      const due =
        !before ||
        before.pinned === false ||
        JSON.stringify(before.state['messageId'] ?? null) !== JSON.stringify(delivered.state['messageId'] ?? null);
      if (!due || (await this.deps.pin(delivered)))
        await redis.eval(
          MARK_PINNED,
          1,
          this.messageKey(id),
          unpinned,
          JSON.stringify({ ...delivered, pinned: true } satisfies StoredMessage),
        );
    }
    // Removed while this post went out: what was just written would outlive it.
    if (await this.removed(id)) await redis.del(this.snapshotKey(id), this.messageKey(id), scheduleTickKey(prefix, id));
  }

  private sparkline(host: string, points: HistoryPoint[], now: number): string {
    try {
      return this.deps.sparkline(host, points, now);
    } catch (error) {
      this.deps.logger.warn({ host, err: String(error) }, 'the text fallback of a chart could not be drawn');
      return `${host}: no chart (it could not be drawn)`;
    }
  }

  /** A chart per host, or its text fallback: a chart that cannot be drawn never fails the reply it goes with. */
  private async charts(hosts: string[], now: number, mayName: MayName | null): Promise<RenderedChart[]> {
    let histories: Record<string, HistoryPoint[]> = {};
    try {
      histories = await this.deps.history(hosts, now - HOUR_MS);
    } catch (error) {
      this.deps.logger.warn({ err: String(error) }, 'chart history could not be read');
    }
    return Promise.all(
      hosts.map(async (host) => {
        const all = Object.hasOwn(histories, host) ? (histories[host] ?? []) : [];
        const points = mayName ? visiblePoints(all, (d) => mayName(host, d)) : all;
        const text = this.sparkline(host, points, now);
        try {
          return { host, png: await this.deps.chart(host, points, now), text };
        } catch (error) {
          this.deps.logger.warn({ host, err: String(error) }, 'chart could not be drawn; sending the text fallback');
          return { host, png: null, text };
        }
      }),
    );
  }
}

/** Whether the asker may see the domain on the host. */
export type MayName = (host: string, domain: string) => boolean;

/** The points with only the domains the asker may see (each name asked about once: it runs the permission rules). */
function visiblePoints(points: readonly HistoryPoint[], mayName: (domain: string) => boolean): HistoryPoint[] {
  const seen = new Map<string, boolean>();
  const may = (name: string) => seen.get(name) ?? seen.set(name, mayName(name)).get(name) === true;
  return points.map((p) => ({ at: p.at, domains: Object.fromEntries(Object.entries(p.domains).filter(([name]) => may(name))) }));
}
