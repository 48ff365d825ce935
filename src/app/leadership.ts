import { hostname } from 'node:os';
import type { BotCore, ChatAdapter } from '../adapters/types.ts';
import type { Config, Platform } from '../config/schema.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import { type AdapterState, adaptersCheck, type ReadinessCheck } from '../core/readiness.ts';
import { createRedisClient, type RedisClient, type RedisTarget } from '../queue/redis-connection.ts';
import { replaceSilentConnection, SilentConnection } from '../queue/silent-connection.ts';
import type { AlertDesk } from './alert-desk.ts';
import type { ApprovalDesk } from './approval-desk.ts';
import { LeaderLease, type LeaseAttempt, type LeaseTiming, leaseKey, leaseSilentMs, leaseTiming } from './leader-lease.ts';
import type { Relay } from './relay.ts';
import type { ScheduleBook, TickHandler } from './schedules.ts';

/** Platforms whose chat connection must be exclusive: Telegram allows one poller, Discord one session per shard. */
export const LEASED_PLATFORMS: ReadonlySet<Platform> = new Set<Platform>(['telegram', 'discord']);

/** What the bot does only while it leads: started when it takes the lease, stopped when it loses it. */
export interface LeaderTerm {
  /** Becomes the active bot (leased adapters, recovery, desks, schedule ticks). Throws when it cannot. */
  begin(): Promise<void>;
  /**
   * Stops being the active bot, the leased adapters first; `adaptersStopped` runs as soon as they have (a graceful
   * stop releases the lease there, so the standby need not wait for the rest). Must not throw.
   */
  end(adaptersStopped?: () => Promise<unknown>): Promise<void>;
  /**
   * Stops the leased adapters at once, outside any transition under way (a begin() stuck on an unanswering Redis
   * must not keep them polling past the lease). Idempotent; end() still runs afterwards. Must not throw.
   */
  haltAdapters?(): Promise<void>;
}

/**
 * The platforms whose replies this bot may deliver now: all of its adapters', a leased platform's only while it
 * leads. The relay asks it before it claims a final reply, so a standby never claims one it must not deliver.
 */
export class DeliverablePlatforms extends Set<Platform> {
  private leased: ReadonlySet<Platform> = new Set();
  private leads: () => boolean = () => true;

  static of(platforms: Iterable<Platform>, leased: ReadonlySet<Platform>, leads: () => boolean): DeliverablePlatforms {
    const set = new DeliverablePlatforms(platforms);
    set.leased = leased;
    set.leads = leads;
    return set;
  }

  override has(platform: Platform): boolean {
    return super.has(platform) && (!this.leased.has(platform) || this.leads());
  }
}

export interface BotLeadershipOptions {
  config: Config;
  redis: RedisTarget;
  prefix: string;
  /** The bot's instance id: part of its lease token. */
  instance: string;
  adapters: readonly ChatAdapter[];
  logger: Logger;
  /** The bot's window for a connection silent while open (BotTimings); the lease's is never longer (leaseSilentMs). */
  silentReconnectMs?: number;
}

/**
 * High availability of the bot (`bot.ha`): with it on and a Telegram or Discord adapter, the bot runs those adapters
 * (and the leader's duties: recovery of finished requests, the approval timers of requests others took, alerts,
 * schedule ticks) only while it
 * holds the leader lease; a standby keeps its Redis side (job events, outcomes) and takes over when the lease is
 * free. Without it (or with only a terminal) the bot is always the leader, as before.
 * Transitions run one at a time, in order: a loss waits for a start in progress, then stops what it started.
 */
export class BotLeadership {
  /** HA is in force: ha.enabled and at least one leased adapter. */
  readonly enabled: boolean;
  readonly timing: LeaseTiming;
  private readonly leasedPlatforms: ReadonlySet<Platform>;
  private readonly lease: LeaderLease | null = null;
  private readonly client: RedisClient | null = null;
  /**
   * The lease's connection gone silent alone (a NAT forgetting just its flow): the bot's own connection answers, so
   * only the lease's own commands can tell (see judgeSilence).
   */
  private readonly silence: SilentConnection | null = null;
  private term: LeaderTerm | null = null;
  private active = false;
  /** The term's adapters were halted on a loss of the lease: a term still active is not running as a leader's must. */
  private halted = false;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  private starting = false;
  private firstFailure: { error: unknown } | null = null;
  /** Why the last attempt to begin a term failed, until one begins: with nobody leading, no bot runs the platforms. */
  private beginFailure: string | null = null;
  private begun = false;
  /** Terms begun so far (the log tells a takeover from the first term). */
  private terms = 0;

  constructor(private readonly options: BotLeadershipOptions) {
    const { config, adapters, prefix, instance, logger } = options;
    this.timing = leaseTiming(config.bot.ha.leaseMs);
    const leased = new Set(adapters.filter((a) => !a.processLocal && LEASED_PLATFORMS.has(a.platform)).map((a) => a.platform));
    this.enabled = config.bot.ha.enabled && leased.size > 0;
    this.leasedPlatforms = this.enabled ? leased : new Set();
    if (!this.enabled) return;
    this.client = createRedisClient(options.redis, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
    this.client.on('error', (e) => logger.debug({ err: e.message }, 'redis error (leader lease)'));
    this.silence = new SilentConnection(leaseSilentMs(this.timing.leaseMs, options.silentReconnectMs));
    this.lease = new LeaderLease({
      redis: this.client,
      key: leaseKey(prefix),
      token: `${hostname()}:${process.pid}:${instance}`,
      timing: this.timing,
      logger,
      onAttempt: (attempt) => this.judgeSilence(attempt),
      onChange: () => {
        // Lost the lease: the adapters stop now, whatever transition is queued or running.
        if (this.lease && !this.lease.isLeader() && this.active && this.term?.haltAdapters) {
          this.halted = true;
          void this.term.haltAdapters();
        }
        this.reconcileSoon();
      },
    });
  }

  /** Whether the adapter runs only while this bot leads. */
  leases(adapter: ChatAdapter): boolean {
    return this.leasedPlatforms.has(adapter.platform) && !adapter.processLocal;
  }

  /** The leased platforms (empty without HA). */
  get leased(): ReadonlySet<Platform> {
    return this.leasedPlatforms;
  }

  /** Leader now: without HA, always. */
  isLeader(): boolean {
    return this.lease ? this.lease.isLeader() : true;
  }

  /** This bot's lease token (host:pid:instance), null without HA. */
  get token(): string | null {
    return this.lease?.token ?? null;
  }

  /** The platforms this bot may deliver replies for now (see DeliverablePlatforms). */
  deliverable(platforms: Iterable<Platform>): DeliverablePlatforms {
    return DeliverablePlatforms.of(platforms, this.leasedPlatforms, () => this.isLeader());
  }

  /**
   * Without HA: begins the term at once (its failure is start()'s). With HA: resolves after the first attempt at
   * the lease — as the leader with its term begun, or as a standby. A first term that cannot begin gives the lease
   * up and fails start(), as a bot without HA would.
   */
  async start(term: LeaderTerm): Promise<void> {
    this.term = term;
    this.begun = true;
    if (!this.lease || !this.client) {
      await term.begin();
      this.active = true;
      this.terms++;
      return;
    }
    this.starting = true;
    await this.client.connect().catch(() => {});
    // Stopped while connecting (a SIGTERM during start-up): no lease loop may outlive stop().
    if (this.stopping) return;
    await this.lease.start();
    if (this.stopping) {
      await this.lease.stop();
      await this.lease.release();
      return;
    }
    this.reconcileSoon();
    await this.chain;
    this.starting = false;
    // Stopped while its first term began (cut short by stop()): nothing started, and stop() gives the lease up.
    if (this.stopping) return;
    if (this.firstFailure) {
      await this.lease.stop();
      this.client.disconnect();
      // Given up already (reconcile): stop() has no lease to release, and would say it could not.
      this.begun = false;
      throw this.firstFailure.error;
    }
    this.options.logger.info({ role: this.isLeader() ? 'leader' : 'standby', lease: this.lease.token }, 'leader lease: started');
  }

  /**
   * The bot found its own connection silent while open (see SilentConnection): the lease's most likely went with it
   * (a NAT or firewall forgets every flow at once), and its commands, each given up by a timer of the lease's own,
   * would fail until TCP gives up — the leader losing its lease, and no bot able to take it. Replaced as the bot's own
   * is; not after stop() (its disconnect is for good) nor before start() (it connects then).
   */
  replaceSilentConnection(): void {
    if (!this.client || !this.begun || this.stopping) return;
    // The count was of the connection replaced: the new one's starts afresh (not replaced again for the old one's past).
    this.silence?.answered();
    replaceSilentConnection(this.client);
  }

  /**
   * An acquire/renew answered or failed: after leaseSilentMs of nothing but timeouts, the lease's connection alone is
   * replaced, as the bot's own would be; not after stop() nor before start() (see replaceSilentConnection).
   */
  private judgeSilence(attempt: LeaseAttempt): void {
    if (!this.silence) return;
    if (attempt.answered) {
      this.silence.answered();
      return;
    }
    const silentFor = this.silence.failed(attempt.error, attempt.sentAt, attempt.now);
    if (silentFor === null || !this.client || !this.begun || this.stopping) return;
    this.options.logger.warn(
      { silentMs: Math.round(silentFor) },
      "Redis answered none of the leader lease's commands on its connection for this long (each timed out); replacing that connection",
    );
    replaceSilentConnection(this.client);
  }

  /** Ends the term; once its leased adapters have stopped, gives the lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.lease?.stop();
    // A term still beginning (a Telegram start retries for up to 30 s, a Discord one waits up to 60 s for READY) is
    // cut short: waited for, it held the stop until the lease, no longer renewed, ran out (or the 4 s a stop is given
    // ran out first, the lease left to lapse rather than released), and the standby waited all that time.
    if (this.active && this.term?.haltAdapters) {
      this.halted = true;
      await this.term.haltAdapters();
    }
    await this.chain;
    const lease = this.lease;
    const release = async () => {
      if (lease && this.begun) await lease.release();
    };
    if (this.active) {
      this.active = false;
      let released = false;
      await this.term?.end(async () => {
        released = true;
        await release();
      });
      if (!released) await release();
    } else await release();
    this.client?.disconnect();
  }

  private reconcileSoon(): void {
    this.chain = this.chain.then(() => this.reconcile());
  }

  /** Brings the term in line with the lease, until they agree (the lease may change while a transition runs). */
  private async reconcile(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopping && this.term && this.lease) {
      const leader = this.lease.isLeader();
      // Lost and taken back while a transition ran: the term is active, its adapters halted. Ended, then begun again.
      if (leader === this.active && !(leader && this.halted)) return;
      if (this.active) {
        this.active = false;
        this.halted = false;
        await this.term.end();
        if (leader) logger.warn({ lease: this.lease.token }, 'leader lease taken back: starting the chat adapters again');
        else logger.info({ lease: this.lease.token }, 'leader lease: standby (chat adapters stopped)');
        continue;
      }
      logger.info({ lease: this.lease.token, term: this.terms + 1 }, 'leader lease taken: starting the chat adapters');
      try {
        this.active = true;
        this.halted = false;
        await this.term.begin();
        this.terms++;
        this.beginFailure = null;
      } catch (error) {
        this.active = false;
        this.beginFailure = redactSecrets(error instanceof Error ? error.message : String(error));
        logger.error({ err: redactSecrets(String(error)) }, 'could not start as the leader: giving the lease up for a while');
        await this.term.end();
        await this.lease.release();
        this.lease.holdOff(this.timing.leaseMs);
        if (this.starting) this.firstFailure = { error };
        return;
      }
    }
  }

  /**
   * The adapters check (a standby's leased adapters are not running, and need not be) and, with HA, `leader`:
   * `leader` or `standby` and who leads. A standby is ready, unless no bot leads after its own start as the leader failed.
   */
  async checks(adapters: readonly AdapterState[], skipped?: readonly { platform: string; reason: string }[]): Promise<ReadinessCheck[]> {
    if (!this.lease) return [adaptersCheck(adapters, skipped)];
    const leader = this.isLeader();
    const names = [...this.leasedPlatforms].join(', ');
    const holder = leader ? null : this.lease.holder().catch((error: unknown) => ({ error }));
    let adapterCheck: ReadinessCheck;
    if (leader) adapterCheck = adaptersCheck(adapters, skipped);
    else {
      const local = adapters.filter((a) => !this.leasedPlatforms.has(a.platform as Platform));
      // Run by the leader; but with none (this bot gave the lease up after failing to start them), by no bot at all.
      const failed = this.beginFailure !== null && (await holder) === null;
      const standby = failed
        ? `${names} could not be started as the leader (${this.beginFailure}); trying again`
        : `${names} on standby (run by the leader)`;
      const skippedText = (skipped ?? []).map((s) => `${s.platform} skipped (${s.reason})`);
      if (local.length === 0) adapterCheck = { name: 'adapters', ok: !failed, detail: [standby, ...skippedText].join('; ') };
      else {
        const base = adaptersCheck(local, skipped);
        adapterCheck = { ...base, ok: base.ok && !failed, detail: `${base.detail}; ${standby}` };
      }
    }
    return [adapterCheck, await this.leaderCheck(holder)];
  }

  /** `read`: the lease's holder as a standby read it (null for the leader). */
  private async leaderCheck(read: Promise<{ token: string; ttlMs: number } | { error: unknown } | null> | null): Promise<ReadinessCheck> {
    const lease = this.lease as LeaderLease;
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    if (!read)
      return {
        name: 'leader',
        ok: true,
        detail: `leader: this bot (${lease.token}) holds the lease, ${seconds(this.timing.leaseMs)} renewed every ${seconds(this.timing.renewEveryMs)}`,
      };
    try {
      const holder = await read;
      if (holder && 'error' in holder) throw holder.error;
      return {
        name: 'leader',
        ok: true,
        detail: holder
          ? `standby: the leader is ${holder.token} (its lease lapses in ${seconds(holder.ttlMs)} unless renewed)`
          : this.beginFailure !== null
            ? 'standby: no bot holds the lease; this one tries again (its start as the leader failed)'
            : 'standby: no bot holds the lease; this one is taking it',
      };
    } catch (error) {
      return { name: 'leader', ok: true, detail: `standby: the lease cannot be read (${redactSecrets(String(error))})` };
    }
  }
}

export interface LeaderTermDeps {
  /** The leased adapters (none without HA). */
  adapters: readonly ChatAdapter[];
  core: BotCore;
  /** The bot's set of started adapters (for /readyz): kept up to date here. */
  started: Set<ChatAdapter>;
  relay: Pick<Relay, 'recover'>;
  desk: Pick<ApprovalDesk, 'start' | 'release'>;
  alerts: Pick<AlertDesk, 'start' | 'stop'>;
  /** A schedule book of the term's own: its workers take the leased platforms' ticks while the term lasts. */
  schedules: () => Pick<ScheduleBook, 'startWorkers' | 'close'>;
  /** The leased platforms, whose ticks only the leader takes. */
  platforms: ReadonlySet<Platform>;
  tick: TickHandler;
  logger: Logger;
}

/**
 * The leader's term: the leased adapters, then the recovery of what finished while nobody led (each final reply
 * claimed once across bots), the approval timers of pending requests other bots took (its own it keeps either way),
 * the alert desk (a standby must not take alerts it cannot post) and
 * the leased platforms' schedule ticks. Ended in the opposite spirit: the adapters first, as the lease requires.
 */
export function leaderTerm(d: LeaderTermDeps): LeaderTerm {
  let book: ReturnType<LeaderTermDeps['schedules']> | null = null;
  /** Adapters already stopped by haltAdapters() in this term: end() does not stop them twice. */
  const halted = new Set<ChatAdapter>();
  /** haltAdapters() ran in this term: the lease is gone, and begin() must not start (or keep) anything more. */
  let halting = false;
  /** The adapter whose start() begin() awaits now: a halt stops it too (a Discord or Telegram start then ends). */
  let starting: ChatAdapter | null = null;
  /** `all`: also those whose start did not finish (end() leaves nothing half-started); otherwise the started ones. */
  const stopAdapters = async (all: boolean): Promise<void> => {
    await Promise.all(
      d.adapters.map(async (adapter) => {
        const wasStarted = d.started.delete(adapter);
        if (halted.has(adapter) || (!wasStarted && !all)) return;
        if (!all) halted.add(adapter);
        await adapter.stop().catch((e: unknown) => d.logger.warn({ err: redactSecrets(String(e)) }, 'adapter stop failed'));
      }),
    );
  };
  return {
    async begin() {
      halted.clear();
      halting = false;
      for (const adapter of d.adapters) {
        if (halting) return;
        starting = adapter;
        try {
          await adapter.start(d.core);
        } catch (error) {
          // Ended by the halt (stopped while it started): the lease is gone, and nothing failed to start.
          if (halting && halted.has(adapter)) return;
          throw error;
        } finally {
          starting = null;
        }
        if (halting) {
          // Halted while it started (a Telegram start retries for up to 30 s, a Discord one waits up to 60 s for
          // READY, longer than a lease), and its start went on to the end: stopped by the halt already, or now — it
          // would poll on alongside the next leader while the rest below waits on Redis.
          if (!halted.has(adapter)) {
            halted.add(adapter);
            await adapter.stop().catch((e: unknown) => d.logger.warn({ err: redactSecrets(String(e)) }, 'adapter stop failed'));
          }
          return;
        }
        d.started.add(adapter);
      }
      await d.relay.recover();
      await d.desk.start();
      await d.alerts.start();
      if (d.platforms.size > 0) {
        book = d.schedules();
        await book.startWorkers(d.platforms, d.tick);
      }
    },
    haltAdapters: async () => {
      halting = true;
      // The one still starting is stopped too, at once: a start that ends when stopped (Discord's, Telegram's) must
      // not go on trying, and getting in, alongside the next leader.
      const inStart = starting;
      const stops = [stopAdapters(false)];
      if (inStart && !halted.has(inStart)) {
        halted.add(inStart);
        stops.push(inStart.stop().catch((e: unknown) => d.logger.warn({ err: redactSecrets(String(e)) }, 'adapter stop failed')));
      }
      await Promise.all(stops);
    },
    async end(adaptersStopped) {
      await stopAdapters(true);
      await adaptersStopped?.();
      const ending = book;
      book = null;
      await ending?.close().catch(() => {});
      await d.alerts.stop().catch(() => {});
      d.desk.release();
    },
  };
}
