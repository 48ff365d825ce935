import type { Config } from '../config/schema.ts';
import { type Alert, alertFor } from '../core/alerts.ts';
import type { FleetView } from '../core/fleet-view.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import { type Reply, reply } from '../core/reply.ts';
import type { Platform } from '../core/request.ts';
import { watchBlocking } from '../queue/blocking-watchdog.ts';
import { type FleetEventEntry, FleetEventLog } from '../queue/fleet-events.ts';
import { createRedisClient, type RedisClient, type RedisTarget } from '../queue/redis-connection.ts';
import { SampleStore } from '../queue/samples.ts';
import { replaceSilentConnection } from '../queue/silent-connection.ts';
import { SplitBrainWatch } from './split-brain-watch.ts';

const GROUP = 'alerts';
/** An event a consumer took but never acked (it died, or its post failed) is taken over after this long. */
const STALE_MS = 30_000;
/** Handlings of one event (a post refused, an error) before it is given up, said in the log: ~5 min at STALE_MS. */
const MAX_TRIES = 10;
/** How long what was posted of an event (per channel) and its tries are kept: well past MAX_TRIES × STALE_MS. */
const SENT_TTL_MS = 3_600_000;
/** How long one post may take before it is taken as failed for its channel. */
const POST_TIMEOUT_MS = 30_000;
/**
 * How long a post this bot still has out (past its deadline: queued behind a Telegram group's ~20 a minute, a 429's
 * retry_after) is waited for before it is taken as lost and posted again: well past any rate-limit wait.
 */
const REPOST_AFTER_MS = 600_000;
/** How long one read of the fleet events blocks for news (also bounds how late stop() is noticed). */
const READ_BLOCK_MS = 2_000;
/** A reader command that has not answered this long after its own block (if any) is abandoned and the reader reset. */
const WATCHDOG_GRACE_MS = 2_000;

/** A command on the reader did not answer while its connection was up (see watchBlocking): it is to be reset. */
class ReaderStuck extends Error {}

export interface AlertDeskDeps {
  config: Config;
  /** Where Redis is: the desk opens one connection of its own, as its reads block. */
  target: RedisTarget;
  /** The bot's shared connection: cool-down keys. */
  redis: RedisClient;
  prefix: string;
  /** This bot's consumer name in the group. */
  instance: string;
  /** Platforms this bot has an adapter for: alerts for other platforms' channels are left to bots that have one. */
  platforms: ReadonlySet<Platform>;
  post: (platform: Platform, channelId: string, r: Reply) => Promise<void>;
  logger: Logger;
  /**
   * What the bot last heard each host list: the UUIDs the split-brain watch tells two guests named alike apart by.
   * Absent: names alone.
   */
  fleet?: Pick<FleetView, 'domains'>;
  /** How long an event stays unacked before it is handled again (a failed post is tried again then). @defaultValue 30 s */
  retryMs?: number;
  /**
   * How long one post may take (a platform call stuck behind a rate-limit wait, an HTTP request that never answers)
   * before it is taken as failed for its channel: the event stays pending and is posted again at its next try, and
   * the channel is not tried again for the other events of the same read. A post that lands after it is recorded
   * then; one still out when the event is tried again is waited for (see repostAfterMs). `Infinity`: no deadline.
   * @defaultValue 30 s
   */
  postTimeoutMs?: number;
  /**
   * How long after it was made a post still out (past its deadline) keeps its event's later tries from posting it
   * again to that channel: then it is taken as hung for good and posted again, a duplicate rather than a silence.
   * @defaultValue 10 min
   */
  repostAfterMs?: number;
}

/**
 * Turns the agents' fleet events into alerts in the configured channels, at once: one consumer group across the
 * bot replicas (each event handled by one), a cool-down per alert and group in Redis (the same crash is posted once however
 * many events say so), and events a dead bot took are taken over.
 *
 * One message per alert, never grouped ("5 guests crashed on xen1"): what was posted, tried, held or still out is
 * kept per event and channel, and a late or flapping notice is per event too; a grouped post would have to split
 * all of it back per event, and regroup what is left at each try (a guest named twice, another taken over alone).
 */
export class AlertDesk {
  private reader: RedisClient | null = null;
  private watch: SplitBrainWatch | null = null;
  private running = false;
  private loop: Promise<void> | null = null;
  /** Aborted by stop(): a post still out is given up at once rather than at its deadline. */
  private halt = new AbortController();
  /**
   * Posts given up at their deadline (or at stop()) that have not settled, by entry and channel (`sentKey channel`),
   * with when they were made. Posted again at each try, a post queued in the Telegram adapter behind a group's
   * minute cap was queued ten times over, and every copy went out, the alerts after it waiting behind them all.
   */
  private readonly out = new Map<string, { since: number }>();
  /**
   * The reader was replaced (see replaceSilentConnection): the read it had out may have been handed entries whose
   * answer was lost, pending for this consumer and otherwise taken over only at the next claim, retryMs later.
   */
  private readAgain = false;
  /**
   * Entries this desk is done with whose ack has not gone through (by sentKey), with when: read again (the reader
   * replaced, a claim) they are acked, not handled again. What they posted may not be recorded as sent, the record
   * written on the bot's connection that went silent with the reader, and they would be posted twice.
   */
  private readonly unacked = new Map<string, number>();
  /** The consumer group this bot reads in (see start()). */
  private group = GROUP;
  /**
   * What the group's bots said, apart from other groups': each group reads the stream at its own pace (a bot
   * restarting, a platform's posts retried), so a record another group wrote first would make this one's channels
   * be told an alert is late, or not be told it at all. `''` for the group of all platforms (the keys it always had).
   */
  private get scope(): string {
    return this.group === GROUP ? '' : `@${this.group.slice(GROUP.length + 1)}`;
  }

  constructor(private readonly deps: AlertDeskDeps) {}

  async start(): Promise<void> {
    const { config, target, prefix } = this.deps;
    if (!config.alerts.enabled) return;
    // Each event is handled by one bot of a group, and only posted to the channels of that bot's platforms. A bot that
    // can post to every alert channel reads `alerts`; one that can post to some (bot.ha off: one bot per platform)
    // reads a group of its own platforms, so each channel's bots read every event; one that can post to none (a
    // terminal bot beside the Discord one) reads none: an event it took would be acked, posted nowhere.
    const used = new Set(config.alerts.channels.map((c) => c.platform));
    const mine = [...used].filter((p) => this.deps.platforms.has(p)).sort();
    if (used.size > 0 && mine.length === 0) {
      this.deps.logger.info({ channels: [...used] }, 'alerts: left to the bots with an adapter for the alert channels');
      return;
    }
    this.group = mine.length === used.size ? GROUP : `${GROUP}:${mine.join('+')}`;
    this.halt = new AbortController();
    this.reader = createRedisClient(target, { maxRetriesPerRequest: null });
    this.reader.on('error', (e) => this.deps.logger.debug({ err: e.message }, 'redis error (alerts)'));
    const log = new FleetEventLog(this.reader, prefix);
    await log.ensureGroup(this.group);
    this.running = true;
    this.loop = this.run(log);
    this.watch = this.splitBrainWatch();
    this.watch.start();
  }

  /**
   * Guests running on two hosts at once are found by the bot, which alone sees every host's samples; said through the
   * stream like the agents' events. Said again once per cool-down while it lasts (15 min with the cool-down off).
   */
  private splitBrainWatch(): SplitBrainWatch {
    const { config, redis, prefix, fleet } = this.deps;
    return new SplitBrainWatch({
      hosts: Object.keys(config.hosts),
      samples: new SampleStore(redis, prefix),
      events: new FleetEventLog(redis, prefix),
      uuidOf: (host, name) => fleet?.domains(host).find((d) => d.name === name && d.status !== 'defined')?.uuid ?? null,
      intervalMs: config.sampling.intervalSeconds * 1000,
      repeatMs: (config.alerts.cooldownMinutes || 15) * 60_000,
      logger: this.deps.logger,
    });
  }

  private async run(first: FleetEventLog): Promise<void> {
    let log = first;
    let lastClaim = 0;
    // The last entry read: where the group is made again if Redis loses it.
    let lastId: string | null = null;
    while (this.running) {
      if (this.readAgain && this.reader) {
        this.readAgain = false;
        // A log of its own again reads this consumer's pending entries first, as after a restart. One already posted
        // is not posted twice (its channels are recorded as sent), one still out is waited for.
        log = new FleetEventLog(this.reader, this.deps.prefix);
      }
      try {
        const entries = await this.watched(
          'read',
          log.read(this.group, this.deps.instance, { count: 50, blockMs: READ_BLOCK_MS }),
          READ_BLOCK_MS,
        );
        lastId = entries.at(-1)?.id ?? lastId;
        const staleMs = this.deps.retryMs ?? STALE_MS;
        if (Date.now() - lastClaim > staleMs) {
          lastClaim = Date.now();
          entries.push(...(await this.watched('claim', log.claimStale(this.group, this.deps.instance, staleMs))));
        }
        // Handled in stream order: the stale ones claimed are older than those just read.
        entries.sort((a, b) => compareIds(a.id, b.id));
        // A split brain begins or ends with a guest or host changing: the watch looks closely for a while.
        if (entries.some((e) => e.event.kind !== 'domain.running-twice' && e.event.kind !== 'domain.running-once')) this.watch?.nudge();
        const done: FleetEventEntry[] = [];
        const stalled = new Set<string>();
        for (const entry of entries) {
          if (!this.running) break;
          if (this.unacked.has(this.sentKey(entry)) || (await this.settle(entry, stalled))) done.push(entry);
        }
        await this.ack(log, done);
      } catch (error) {
        if (!this.running) return;
        if (error instanceof ReaderStuck) {
          // Not paused for: a new connection works at once.
          this.stuck(error);
          continue;
        }
        if (String(error).includes('NOGROUP')) {
          // The group went with Redis's data (a restart without it, a flush, a failover), or was deleted: read without
          // it, every read would fail from then on. Made again after the last entry read — a stream Redis made anew
          // holds only later ids, one that stayed is not read twice — and read again after the pause below.
          await this.watched('group', log.ensureGroup(this.group, lastId ?? '0')).then(
            () => this.deps.logger.warn('alerts: the fleet events group is gone (Redis lost its data?): made again'),
            (e: unknown) =>
              e instanceof ReaderStuck
                ? this.stuck(e)
                : this.deps.logger.warn({ err: String(e) }, 'alerts: the fleet events group is gone and could not be made again; retrying'),
          );
        } else this.deps.logger.warn({ err: String(error) }, 'alerts: reading fleet events failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /** Acks entries the desk is done with, remembered as such until the ack goes through (see unacked). */
  private async ack(log: FleetEventLog, done: readonly FleetEventEntry[]): Promise<void> {
    const now = Date.now();
    // Another bot has long claimed and handled one never read here again.
    for (const [key, at] of this.unacked) if (now - at > SENT_TTL_MS) this.unacked.delete(key);
    const keys = done.map((e) => this.sentKey(e));
    for (const key of keys) if (!this.unacked.has(key)) this.unacked.set(key, now);
    await this.watched(
      'ack',
      log.ack(
        this.group,
        done.map((e) => e.id),
      ),
    );
    for (const key of keys) this.unacked.delete(key);
  }

  /**
   * A command on the reader, watched (see watchBlocking): `blockMs` its own block, none for the others. The reader has
   * no command timeout: its flow forgotten alone (a NAT, a firewall) while the bot's connection answers, a command on
   * it — the blocking read, and as much the claim, the ack or the group's making again, sent on the same connection —
   * would never answer nor fail until TCP gives up, some 15 minutes without an alert, nothing logged. A command timeout
   * would not do: ioredis's (per client) would time the blocking read out too, and like withTimeout it keeps the
   * connection, every later command failing on it the same way. Stuck, the reader is reset instead (see stuck()).
   */
  private async watched<T>(command: string, p: Promise<T>, blockMs = 0): Promise<T> {
    const reader = this.reader;
    if (!reader) return p;
    const outcome = await watchBlocking(reader, p, blockMs, WATCHDOG_GRACE_MS, () => this.running);
    if (outcome === 'stuck') throw new ReaderStuck(command);
    return outcome as T;
  }

  /** A reader command stuck: said, and the reader reset as the bot resets it (replaceSilentConnection). */
  private stuck(error: ReaderStuck): void {
    if (!this.running) return;
    this.deps.logger.warn({ command: error.message }, 'alerts: the reader did not answer; reconnecting');
    this.resetReader();
  }

  /**
   * Handles one entry in the loop: true when it is done with (posted, held, or given up after MAX_TRIES), false to
   * leave it pending — claimed again after retryMs — as one that failed must not hold up the others read with it.
   */
  private async settle(entry: FleetEventEntry, stalled: Set<string>): Promise<boolean> {
    try {
      const outcome = await this.attempt(entry, stalled);
      if (outcome === true) return true;
      // Held back, not tried: its channels were busy with an earlier alert of the read (a Telegram group's ~20 a
      // minute, a rate-limit wait). Charged a try, a burst's later alerts were given up without ever being posted.
      if (outcome === 'held') return false;
    } catch (error) {
      if (!this.running) return false;
      this.deps.logger.warn({ err: String(error), id: entry.id }, 'alerts: an event could not be handled; tried again later');
    }
    // Stopped mid-post: no try of the event's, nor to be counted as one.
    if (!this.running) return false;
    try {
      const tries = await this.deps.redis.hincrby(this.sentKey(entry), `${TRIES}${this.scope}`, 1);
      await this.deps.redis.pexpire(this.sentKey(entry), SENT_TTL_MS);
      if (tries < MAX_TRIES) return false;
      this.deps.logger.error({ id: entry.id, kind: entry.event.kind, host: entry.event.host, tries }, 'alert given up: never posted');
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Posts the event's alert unless it is in its cool-down. A channel that refused it gets it when the entry is
   * handled again (its cool-down, taken by this very event, does not hold it back); the others do not get it twice.
   */
  async handle(entry: FleetEventEntry): Promise<void> {
    await this.attempt(entry, new Set());
  }

  /**
   * handle(), saying whether the entry is done with (true), is to be left pending (false: a channel refused it, or
   * its post timed out), or was held back without a post tried ('held': every channel still owed it had timed out on
   * an earlier entry of this read). `stalled`: those channels, not posted to again for the rest of the read.
   */

  private async attempt(entry: FleetEventEntry, stalled: Set<string>): Promise<boolean | 'held'> {
    const { config, platforms } = this.deps;
    const alert = alertFor(entry.event);
    if (!alert) {
      await this.sayQuietly(entry);
      return true;
    }
    const channels = config.alerts.channels.filter((c) => platforms.has(c.platform));
    if (channels.length === 0) {
      this.deps.logger.warn({ alert: alert.reply.title }, 'alert (no alert channel configured for this bot)');
      return true;
    }
    const r = await this.decide(entry, alert);
    return r === null ? true : this.postAll(channels, r, entry, stalled);
  }

  /**
   * An event posted to nobody (a start or stop xenops made) is still the latest word on its subject: the same alert
   * as before it — web crashed, was started again through xenops, and crashed again — is news, not a repeat the
   * cool-down would hold.
   */
  private async sayQuietly(entry: FleetEventEntry): Promise<void> {
    const { config, redis, prefix } = this.deps;
    const cooldownMs = config.alerts.cooldownMinutes * 60_000;
    if (cooldownMs <= 0) return;
    const e = entry.event;
    const subject = 'domain' in e ? `${e.host}:${e.domain}` : e.host;
    await redis.eval(SAY_SCRIPT, 1, `${prefix}:alert-last${this.scope}:${subject}`, entry.id, `quiet:${e.kind}`, cooldownMs);
  }

  /** What to post for the entry (null: nothing, its cool-down holds it). */
  private async decide(entry: FleetEventEntry, alert: Alert): Promise<Reply | null> {
    const { config, redis, prefix } = this.deps;
    const cooldownMs = config.alerts.cooldownMinutes * 60_000;
    if (cooldownMs <= 0) return alert.reply;
    // This very event said its subject flaps (handled again: a channel refused the notice, or its bot died posting it):
    // the same notice again — its cool-down, never taken by it, would hold it, or let the plain alert through instead.
    const notice = await redis.hget(this.sentKey(entry), `${NOTICE}${this.scope}`);
    if (notice !== null) return JSON.parse(notice) as Reply;
    // What was said last about the subject: a change of it (down after up) is posted whatever the cool-down — up to
    // FLAP_LIMIT changes per cool-down; one more says it flaps, and the rest wait for the cool-down to end. An event
    // older than the one last said (claimed from a dead bot after a newer one was handled) is no change of it.
    const scope = this.scope;
    const last = `${prefix}:alert-last${scope}:${alert.subject}`;
    const said = (await redis.eval(SAY_SCRIPT, 1, last, entry.id, alert.key, cooldownMs)) as Said;
    if (alert.urgent) return said === 'late' ? late(entry, alert) : alert.reply;
    const cooldown = `${prefix}:alert-cooldown${scope}:${alert.key}`;
    if (said === 'change') {
      const flapKey = `${prefix}:alert-changes${scope}:${alert.subject}`;
      // Counted and bounded in one transaction: a counter left without its expiry would mute the subject for good.
      const [[, counted], [, left]] = (await redis.multi().incr(flapKey).pttl(flapKey).exec()) as [[null, number], [null, number]];
      const changes = Number(counted);
      if (Number(left) < 0) await redis.pexpire(flapKey, cooldownMs);
      if (changes > FLAP_LIMIT + 1) return null;
      if (changes === FLAP_LIMIT + 1) {
        const r = flapping(entry, alert, changes, cooldownMs, await redis.pttl(flapKey));
        const key = this.sentKey(entry);
        await redis.multi().hset(key, `${NOTICE}${scope}`, JSON.stringify(r)).pexpire(key, SENT_TTL_MS).exec();
        return r;
      }
      await redis.set(cooldown, entry.id, 'PX', cooldownMs);
      return alert.reply;
    }
    // The cool-down holds it — unless this very event took it (handled again: its post may never have gone out).
    const took = (await redis.set(cooldown, entry.id, 'PX', cooldownMs, 'NX')) !== null || (await redis.get(cooldown)) === entry.id;
    if (!took) return null;
    return said === 'late' ? late(entry, alert) : alert.reply;
  }

  /**
   * Posts to every channel that has not had this entry's alert yet: true when all of them have it now, false when a
   * post failed or timed out, 'held' when the rest were only held back (their channel stalled earlier in the read).
   */
  private async postAll(
    channels: readonly { platform: Platform; id: string }[],
    r: Reply,
    entry: FleetEventEntry,
    stalled: Set<string>,
  ): Promise<boolean | 'held'> {
    const key = this.sentKey(entry);
    const sent = await this.deps.redis.hgetall(key);
    let all = true;
    // A post to a channel failed or timed out (a try), rather than every channel owed it being held back.
    let failed = false;
    for (const c of channels) {
      const channel = `${c.platform}:${c.id}`;
      if (sent[channel]) continue;
      if (this.halt.signal.aborted) return false;
      // A channel that just let a post hang would most likely hang the next one too: one deadline per read is enough.
      if (stalled.has(channel)) {
        all = false;
        continue;
      }
      // Still out from an earlier try, in this process: it lands (recorded then) or fails in its turn, so it is not
      // a try to hold it — unless it has been out so long that it is taken as hung for good.
      const out = this.out.get(`${key} ${channel}`);
      if (out) {
        if (Date.now() - out.since < this.repostAfterMs) {
          all = false;
          continue;
        }
        this.deps.logger.warn({ channel, id: entry.id, outMs: Date.now() - out.since }, 'alert post still out: posted again');
      }
      const since = Date.now();
      // Called a microtask later: a post that throws at once is refused like one that rejects.
      const post = Promise.resolve().then(() => this.deps.post(c.platform, c.id, r));
      const outcome = await this.within(post);
      if (outcome === 'stopped') {
        this.followLate(post, key, channel, entry.id, since);
        return false;
      }
      if (outcome === 'late') {
        all = false;
        failed = true;
        stalled.add(channel);
        this.deps.logger.error({ channel, id: entry.id, timeoutMs: this.postTimeoutMs }, 'alert post timed out; tried again later');
        this.followLate(post, key, channel, entry.id, since);
        continue;
      }
      // This post settled: one hung before it is no longer waited for.
      this.out.delete(`${key} ${channel}`);
      if (outcome !== 'posted') {
        all = false;
        failed = true;
        this.deps.logger.error({ err: redactSecrets(String(outcome.error)), channel }, 'alert could not be posted; tried again later');
        continue;
      }
      await this.recordSent(key, channel);
    }
    return all || (failed ? false : 'held');
  }

  private get postTimeoutMs(): number {
    return this.deps.postTimeoutMs ?? POST_TIMEOUT_MS;
  }

  private get repostAfterMs(): number {
    return this.deps.repostAfterMs ?? REPOST_AFTER_MS;
  }

  /** How a post went: settled, or still out at its deadline ('late') or when stop() came ('stopped'). */
  private async within(post: Promise<void>): Promise<'posted' | 'late' | 'stopped' | { error: unknown }> {
    const signal = this.halt.signal;
    const ms = this.postTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let onAbort = (): void => {};
    const cut = new Promise<'late' | 'stopped'>((resolve) => {
      if (Number.isFinite(ms)) timer = setTimeout(() => resolve('late'), Math.max(0, ms));
      onAbort = () => resolve('stopped');
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      // The post's own rejection is handled here, for good: once it is abandoned, followLate only observes it.
      return await Promise.race([
        post.then(
          () => 'posted' as const,
          (error: unknown) => ({ error }),
        ),
        cut,
      ]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A post abandoned at its deadline (or at stop()) may still land, a rate-limit wait having ended: recorded then, so
   * a later try does not post it again. Until it settles, a later try waits for it rather than queue a copy behind
   * it, for up to repostAfterMs after it was made: then it is posted again — a duplicate alert is the price of never
   * leaving one unsaid because its first post hung for good. A bot that dies with it out leaves no such record: the
   * bot that takes the event over posts it.
   */
  private followLate(post: Promise<void>, key: string, channel: string, id: string, since: number): void {
    const at = `${key} ${channel}`;
    const mark = { since };
    this.out.set(at, mark);
    // Only its own mark: a post made again since (this one taken as hung) has its own.
    const settled = () => {
      if (this.out.get(at) === mark) this.out.delete(at);
    };
    void post.then(
      async () => {
        this.deps.logger.warn({ channel, id }, 'alert post landed after it was given up');
        // Recorded first: a try between the two would find it neither sent nor out, and post it again.
        await this.recordSent(key, channel);
        settled();
      },
      (error: unknown) => {
        settled();
        this.deps.logger.warn({ err: redactSecrets(String(error)), channel, id }, 'alert post failed after it was given up');
      },
    );
  }

  /** Not recorded (Redis failing, or closed since) only costs a second post of it, if it is handled again. */
  private async recordSent(key: string, channel: string): Promise<void> {
    await this.deps.redis
      .multi()
      .hset(key, channel, '1')
      .pexpire(key, SENT_TTL_MS)
      .exec()
      .catch(() => {});
  }

  /** What was posted of an entry, and its tries. Its subject too: a stream made anew (Redis lost it) reuses ids. */
  private sentKey(entry: FleetEventEntry): string {
    const e = entry.event;
    return `${this.deps.prefix}:alert-sent:${entry.id}:${'domain' in e ? `${e.host}:${e.domain}` : e.host}`;
  }

  /**
   * The bot found its connections silent while open (a NAT or firewall that forgot them): the reader's blocking read
   * would wait on it until TCP gives up, ~15 min without an alert, as it sends nothing that could time out. Its read
   * is rejected (the loop reads again after its pause) and it connects anew. Not after stop(): its disconnect is for good.
   */
  replaceSilentConnection(): void {
    if (!this.running) return;
    this.resetReader();
  }

  /**
   * Connects the reader anew, its commands still out rejected (not sent again), and has the loop re-read this
   * consumer's pending entries: what the lost answers held is posted at once, and what was posted but whose ack did
   * not go through (see unacked) is acked without being posted again.
   */
  private resetReader(): void {
    if (!this.reader) return;
    this.readAgain = true;
    replaceSilentConnection(this.reader);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.watch?.stop();
    this.watch = null;
    this.halt.abort();
    this.reader?.disconnect();
    await this.loop?.catch(() => {});
  }
}

/** Changes of one subject posted per cool-down before it is said to flap. */
const FLAP_LIMIT = 4;

/** The field of an entry's sent hash that counts its handlings (channels are `platform:id`: no clash); `#tries@discord` a group's. */
const TRIES = '#tries';
/** The field of an entry's sent hash that holds the flapping notice a group gave (JSON), posted again when handled again. */
const NOTICE = '#flapping';

/** How an event stands to what was last said about its subject: the same, a change, or older than it. */
type Said = 'same' | 'change' | 'late';

/**
 * KEYS[1] the subject's last said (`entryId alertKey`); ARGV: entry id, alert key, ms. Records the entry as the last
 * said unless a later entry is (stream ids compared as ms-seq), and says how it stands. A value without an id (written
 * by an older bot) is taken as older.
 */
const SAY_SCRIPT = `
local cur = redis.call('GET', KEYS[1])
local function parse(id)
  local ms, seq = string.match(id or '', '^(%d+)-(%d+)$')
  if not ms then return nil end
  return tonumber(ms), tonumber(seq)
end
local lastKey = cur
if cur then
  local id, key = string.match(cur, '^(%S+) (.*)$')
  if id then
    lastKey = key
    local lms, lseq = parse(id)
    local ms, seq = parse(ARGV[1])
    if lms and ms and (lms > ms or (lms == ms and lseq > seq)) then return 'late' end
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'PX', ARGV[3])
if lastKey == ARGV[2] then return 'same' end
return 'change'
`;

/** Stream ids (`ms-seq`) in stream order. */
function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am - bm || as - bs;
}

/** An alert handled after a later one about the same subject: said to be late, so nobody reads it as the latest. */
function late(entry: FleetEventEntry, alert: Alert): Reply {
  const e = entry.event;
  const what = 'domain' in e ? `${e.domain} on ${e.host}` : e.host;
  return {
    ...alert.reply,
    blocks: [...alert.reply.blocks, reply.text(`Posted late: a later alert about ${what} came first, and is the latest word on it.`)],
  };
}

/** "web on xen1 is flapping": its alerts wait for the cool-down; the latest is named, so nobody reads an old one as now. */
function flapping(entry: FleetEventEntry, latest: Alert, changes: number, cooldownMs: number, leftMs: number): Reply {
  const e = entry.event;
  const what = 'domain' in e ? `${e.domain} on ${e.host}` : e.host;
  const until = new Date(Date.now() + Math.max(0, leftMs)).toISOString().slice(11, 16);
  return reply.result(
    `${what} is flapping`,
    [
      reply.text(
        `${changes} changes within ${Math.round(cooldownMs / 60_000)} min; the latest: ${latest.reply.title}. Further changes of it are not posted until ${until} UTC — check it now.`,
      ),
    ],
    { tone: 'warning' },
  );
}
