import type { Logger } from '../core/log.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import { COMMAND_TIMED_OUT } from '../queue/silent-connection.ts';

/**
 * The leader lease of the bots sharing one Redis prefix: at most one of them runs the chat adapters that must be
 * exclusive (Telegram allows one poller, Discord one gateway session per shard).
 *
 * One key, `PREFIX:bot-leader` (under the hash-tagged prefix: one Cluster slot), holds the leader's token with a
 * TTL of `leaseMs`. One script takes it when it is free and extends it when it is the caller's own: a standby's
 * acquire and the leader's renewal alike (see ACQUIRE). The leader gives it up on a graceful stop with a
 * compare-and-delete script, so the standby takes over at its next attempt.
 *
 * Timing (the pure part, below): the leader counts its lease from the moment it *sent* the command that last
 * extended it — Redis set the TTL after that, so the key cannot lapse before `sentAt + leaseMs` — and stops acting
 * as leader (its adapters) `marginMs` before that moment, whether or not it can still reach Redis. A standby can
 * only take the key once it has lapsed, so the two never poll at once (clocks running at the same rate assumed). The
 * bot's clock here is a monotonic one: stepping the wall clock changes nothing.
 */

export const DEFAULT_LEASE_MS = 6_000;

export interface LeaseTiming {
  leaseMs: number;
  /** How often the leader extends its lease (lease / 4): two attempts fit before it must step down. */
  renewEveryMs: number;
  /** How often a standby tries to take the lease (lease / 12, at least 50 ms). */
  acquireEveryMs: number;
  /** The leader stops acting as one this long before its lease could lapse in Redis (lease / 3). */
  marginMs: number;
  /** A lease command unanswered within this counts as failed (lease / 8). */
  commandTimeoutMs: number;
}

export function leaseTiming(leaseMs: number): LeaseTiming {
  return {
    leaseMs,
    renewEveryMs: Math.max(1, Math.floor(leaseMs / 4)),
    acquireEveryMs: Math.max(50, Math.floor(leaseMs / 12)),
    marginMs: Math.floor(leaseMs / 3),
    commandTimeoutMs: Math.max(1, Math.floor(leaseMs / 8)),
  };
}

/**
 * How long the lease's commands may all time out before its connection is replaced (see SilentConnection): the bot's
 * own window (silentReconnectMs), but never more than two leases. A leader whose lease flow alone a NAT forgot has
 * stepped down after lease − margin, and no bot whose lease flow is gone can take the lease back: with one bot (or
 * every bot's flow gone) nobody runs Telegram or Discord for as long as this. Replacing early costs little: the
 * connection carries nothing but the lease's scripts, each given up after commandTimeoutMs whatever happens to it, and
 * a Redis that restarts closes it (an error, not a timeout: the count starts again) — only a Redis that answers
 * nothing for two whole leases, which has cost the lease already, sees one reconnect per window.
 */
export function leaseSilentMs(leaseMs: number, silentReconnectMs = Number.POSITIVE_INFINITY): number {
  return Math.min(silentReconnectMs, 2 * leaseMs);
}

/**
 * The longest a standby waits after the leader died without a word: the lease lapses at most `leaseMs` after the
 * leader's last extension, and the standby tries again within `acquireEveryMs` (adapter start-up comes on top).
 */
export function worstTakeoverMs(t: LeaseTiming): number {
  return t.leaseMs + t.acquireEveryMs + t.commandTimeoutMs;
}

export type LeaseRole = 'leader' | 'standby';

export interface LeaseState {
  role: LeaseRole;
  /** Leader: when it must stop acting as one (ms on the lease's monotonic clock), unless a renewal moves it on. 0 for a standby. */
  until: number;
}

export const STANDBY: LeaseState = { role: 'standby', until: 0 };

/** What an acquire or renew answered: the key is ours (with a fresh TTL), someone else's, or no answer. */
export type LeaseOutcome = 'held' | 'taken' | 'error';

/** The state after an acquire/renew sent at `sentAt` answered `outcome` at `now`. */
export function afterAttempt(state: LeaseState, outcome: LeaseOutcome, sentAt: number, now: number, t: LeaseTiming): LeaseState {
  if (outcome === 'held') {
    const until = sentAt + t.leaseMs - t.marginMs;
    // An answer that came too late to act on: stay (or become) standby; the next attempt extends our key again.
    return now < until ? { role: 'leader', until } : STANDBY;
  }
  // Someone else holds it: a leader steps down at once. (A key that is gone is taken again, and answers 'held'.)
  if (outcome === 'taken') return STANDBY;
  // No answer says nothing new: a leader goes on until its lease's own end.
  return atTime(state, now);
}

/** The state at `now`: a leader whose time is up is a standby. */
export function atTime(state: LeaseState, now: number): LeaseState {
  return state.role === 'leader' && now >= state.until ? STANDBY : state;
}

/** When to send the next acquire/renew after one sent at `sentAt`: a leader renews, a standby tries to acquire. */
export function nextAttemptAt(state: LeaseState, sentAt: number, t: LeaseTiming): number {
  return sentAt + (state.role === 'leader' ? t.renewEveryMs : t.acquireEveryMs);
}

/** The key of the lease under a prefix (hash-tagged: the same Cluster slot as every other key of the prefix). */
export function leaseKey(prefix: string): string {
  return `${prefix}:bot-leader`;
}

/** Set by a release until the key is taken again: a free key then was given up, not lost (see ACQUIRE). */
function releasedKey(key: string): string {
  return `${key}:released`;
}

/**
 * SET NX PX, or an extension when the key is already ours: a standby's acquire (a leader that stepped down while its
 * key lived on extends it) and a leader's renewal alike. A leader that finds no key at all (Redis lost it: a flush, a
 * restart without its data) takes it again rather than step down — its adapters restarted for nothing, a Discord
 * gateway or Telegram poller gone for seconds. As safe as a standby taking a free key: nobody holds it, and a bot
 * that took it first makes this return 0 and the leader step down at once. The simulated-network test of the pure
 * functions models this script, with renewals that reach Redis after the key lapsed and take it again.
 *
 * A key gone before the holder's lease could have lapsed is not free, though, unless its holder released it (the
 * marker, KEYS[2]): Redis lost it, and that holder still leads until its next renewal takes it again (a renewal
 * interval; a standby tries three times as often). `ARGV[3] = '1'` says so: the standby saw a holder whose lease
 * runs on. Someone else's key answers its remaining milliseconds, for the standby to know until when.
 */
const ACQUIRE = `local v = redis.call('GET', KEYS[1])
if v == false then
  if ARGV[3] == '1' and redis.call('EXISTS', KEYS[2]) == 0 then
    return { 0, -2 }
  end
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('DEL', KEYS[2])
  return { 1, 0 }
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return { 1, 0 }
end
return { 0, redis.call('PTTL', KEYS[1]) }`;

/** The holder's token and the lease's remaining milliseconds, read together. */
const HOLDER = `return { redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1]) }`;

/**
 * Compare-and-delete: a graceful stop hands the lease over at once, never someone else's. The marker tells a standby
 * the key was given up, not lost (see ACQUIRE); the next bot to take the key deletes it.
 */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
  return redis.call('DEL', KEYS[1])
end
return 0`;

/**
 * One acquire/renew sent at `sentAt` (the lease's monotonic ms), as of `now`: answered, or failed with `error` (a
 * timeout reads as ioredis's own, COMMAND_TIMED_OUT).
 */
export type LeaseAttempt = { sentAt: number; now: number } & ({ answered: true } | { answered: false; error: unknown });

export interface LeaderLeaseOptions {
  /** A connection of its own, without an offline queue (a command during an outage fails at once). */
  redis: RedisClient;
  key: string;
  /** This bot's token (unique per bot instance; readable: host, pid, instance). */
  token: string;
  timing: LeaseTiming;
  logger: Logger;
  /** Called on every change of role (leader ↔ standby), synchronously from the lease's timers. */
  onChange: (role: LeaseRole) => void;
  /** Told of each acquire/renew sent: the lease's periodic command is the probe of its connection. */
  onAttempt?: (attempt: LeaseAttempt) => void;
  now?: () => number;
}

/** The lease's I/O: the acquire/renew loop on timers, the step-down timer, release. */
export class LeaderLease {
  private state: LeaseState = STANDBY;
  private loop: NodeJS.Timeout | null = null;
  private stepDown: NodeJS.Timeout | null = null;
  private running = false;
  private notBefore = 0;
  private attempting: Promise<void> | null = null;
  /** Counts release() calls: an attempt sent before one must not act on its answer (see attempt). */
  private releases = 0;
  /**
   * Until when another bot's lease, as last seen, could run (its remaining TTL counted from the answer): a key gone
   * before then was lost by Redis, its holder still leading, and is not taken (see ACQUIRE).
   */
  private othersUntil = 0;
  private readonly now: () => number;

  constructor(private readonly options: LeaderLeaseOptions) {
    // Monotonic: the lease is all intervals on this bot's own clock, and a wall clock stepped back (NTP, a VM resumed)
    // would keep a leader cut off from Redis acting as one long after its key lapsed and a standby took over.
    this.now = options.now ?? (() => performance.now());
  }

  get token(): string {
    return this.options.token;
  }

  /** Leader now: holds the lease and is within its time (checked against the clock, not only the timers). */
  isLeader(): boolean {
    return atTime(this.state, this.now()).role === 'leader';
  }

  /** Starts the loop; resolves after the first attempt (leader or standby by then). */
  async start(): Promise<void> {
    this.running = true;
    await this.attempt();
  }

  /**
   * Stops the acquire/renew loop (an attempt under way finishes). The step-down timer stays: a leader that is not
   * released still stops acting in time. release() gives the lease up.
   */
  async stop(): Promise<void> {
    this.running = false;
    if (this.loop) clearTimeout(this.loop);
    this.loop = null;
    await this.attempting?.catch(() => {});
  }

  /** No acquire attempt before `ms` from now (after a term that could not start: another bot gets its chance). */
  holdOff(ms: number): void {
    this.notBefore = this.now() + ms;
  }

  /**
   * Gives the lease up (only our own token is deleted); this bot is a standby afterwards, without a word to
   * onChange (the caller has stopped what the lease guarded). Never throws.
   */
  async release(): Promise<boolean> {
    this.releases++;
    this.set(STANDBY, false);
    try {
      return (await this.command(RELEASE, [this.options.token, String(this.options.timing.leaseMs)])) === 1;
    } catch (error) {
      this.options.logger.warn({ err: String(error) }, 'could not release the leader lease (it lapses by itself)');
      return false;
    }
  }

  /** Who holds the lease now, and for how much longer (for /readyz); null when nobody does. Bounded like the rest. */
  async holder(): Promise<{ token: string; ttlMs: number } | null> {
    const [token, ttl] = (await this.command(HOLDER, [])) as [string | null, number];
    return token === null ? null : { token, ttlMs: Math.max(0, ttl) };
  }

  private async attempt(): Promise<void> {
    const t = this.options.timing;
    const sentAt = this.now();
    const releases = this.releases;
    const run = async () => {
      const leader = this.isLeader();
      let outcome: LeaseOutcome;
      if (!leader && sentAt < this.notBefore) outcome = 'taken';
      else
        try {
          const guard = !leader && sentAt < this.othersUntil ? '1' : '0';
          const [held, ttl] = (await this.command(ACQUIRE, [this.options.token, String(t.leaseMs), guard])) as [number, number];
          outcome = held === 1 ? 'held' : 'taken';
          if (ttl > 0) this.othersUntil = Math.max(this.othersUntil, this.now() + ttl);
          this.options.onAttempt?.({ sentAt, now: this.now(), answered: true });
        } catch (error) {
          this.options.logger.debug({ err: String(error) }, 'leader lease: no answer from Redis');
          outcome = 'error';
          this.options.onAttempt?.({ sentAt, now: this.now(), answered: false, error });
        }
      // Released meanwhile (a term that could not begin gives the lease up with this loop still on): the release went
      // to Redis after this command, on the same connection, so "held" is about a key that is gone by now — acted on,
      // it made this bot leader again alongside the standby that took the free key.
      if (releases !== this.releases) return;
      const next = afterAttempt(this.state, outcome, sentAt, this.now(), t);
      if (leader && next.role === 'standby')
        this.options.logger.warn({ outcome }, 'leader lease lost: stopping the chat adapters, another bot may take over');
      this.set(next);
    };
    this.attempting = run();
    await this.attempting;
    this.attempting = null;
    if (!this.running) return;
    const wait = Math.max(0, nextAttemptAt(this.state, sentAt, t) - this.now());
    this.loop = setTimeout(() => void this.attempt(), wait);
    this.loop.unref();
  }

  /**
   * One lease script, given up after commandTimeoutMs (the command may still run in Redis: that is safe). Given up in
   * ioredis's words for its own command timeout: the lease's connection has none, and a SilentConnection counts these.
   */
  private async command(script: string, args: string[]): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(COMMAND_TIMED_OUT)), this.options.timing.commandTimeoutMs);
      timer.unref();
    });
    try {
      const { key } = this.options;
      return await Promise.race([this.options.redis.eval(script, 2, key, releasedKey(key), ...args), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Moves to `next`, re-arms the step-down timer, and says when the role changed. */
  private set(next: LeaseState, notify = true): void {
    const was = this.state.role;
    this.state = next;
    if (this.stepDown) clearTimeout(this.stepDown);
    this.stepDown = null;
    if (next.role === 'leader') {
      // Timers may fire a little early or late: the check re-arms itself until the clock says the time is up.
      this.stepDown = setTimeout(
        () => {
          const now = atTime(this.state, this.now());
          if (now.role === 'standby')
            this.options.logger.warn('leader lease not renewed in time: stopping the chat adapters before it can lapse');
          this.set(now);
        },
        Math.max(1, next.until - this.now()),
      );
      this.stepDown.unref();
    }
    if (notify && was !== next.role) this.options.onChange(next.role);
  }
}
