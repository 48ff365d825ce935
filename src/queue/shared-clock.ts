import type { RedisClient } from './redis-connection.ts';
import { RedisScript } from './redis-script.ts';

/**
 * The one clock every process of a deployment reads: Redis's. The bot and its agents run on different machines, and
 * machines' clocks disagree (NTP off, a VM restored from a snapshot); a time one process writes to Redis and another
 * compares — an agent's heartbeat, a job's pickup deadline, a journaled "issued at", a request's deadline read by the
 * bot that takes over — is in this clock. Times that never leave a process (timers, its own polls) stay local.
 *
 * `now()` is Redis's TIME at the last reading plus the local *monotonic* time since, so a local wall clock that is
 * wrong, or is stepped back into line, changes nothing; readings every `everyMs` keep up with Redis's own clock.
 */
export interface Clock {
  /** Epoch ms on the shared clock, whole. */
  now(): number;
  /** The local wall-clock time (Date.now()) of a shared-clock time: for code that compares with Date.now(). */
  toLocal(sharedMs: number): number;
  /** The shared-clock time of a local wall-clock time (e.g. when a chat message was received). */
  fromLocal(localMs: number): number;
}

/** Local time as the shared clock: for a process alone with its Redis keys (tests, tools). */
export const LOCAL_CLOCK: Clock = { now: () => Date.now(), toLocal: (ms) => ms, fromLocal: (ms) => ms };

// A key makes a Cluster route it to the node holding the prefix's slot, so every process reads the same node's clock.
const TIME = new RedisScript(`local t = redis.call('TIME') return {t[1], t[2]}`);

/** Where a reading puts the shared clock against the local monotonic one. */
interface Reading {
  sharedMs: number;
  monoMs: number;
}

/** A TIME reply (seconds, microseconds) taken between two monotonic readings, as a point on both clocks. */
export function readingOf(reply: readonly [string, string], sentMono: number, answeredMono: number): Reading {
  const sharedMs = Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  if (!Number.isFinite(sharedMs)) throw new Error(`Redis TIME gave ${JSON.stringify(reply)}`);
  // Redis read its clock somewhere within the round trip: the middle is off by at most half of it.
  return { sharedMs, monoMs: (sentMono + answeredMono) / 2 };
}

export interface SharedClockOptions {
  /** Between readings once one has succeeded (default 30 s); until then, every second. */
  everyMs?: number;
  monoNow?: () => number;
  wallNow?: () => number;
  onError?: (error: unknown) => void;
}

export class SharedClock implements Clock {
  private reading: Reading | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly monoNow: () => number;
  private readonly wallNow: () => number;

  constructor(
    private readonly redis: RedisClient,
    /** A key under the deployment's prefix (never written): routes the reading to the prefix's node. */
    private readonly key: string,
    private readonly options: SharedClockOptions = {},
  ) {
    this.monoNow = options.monoNow ?? (() => performance.now());
    this.wallNow = options.wallNow ?? Date.now;
  }

  /** Reads Redis's clock once; keeps the last reading when Redis does not answer. */
  async read(): Promise<void> {
    const sent = this.monoNow();
    const reply = (await TIME.run(this.redis, [this.key], [])) as [string, string];
    this.reading = readingOf(reply, sent, this.monoNow());
  }

  /**
   * Reads now, then keeps reading in the background. Resolves once the first reading is in (or failed: then it keeps
   * trying every second, and the local clock stands in meanwhile).
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  now(): number {
    const r = this.reading;
    // Whole ms, as Date.now(): these times go into validated job data and JSON.
    return r ? Math.round(r.sharedMs + (this.monoNow() - r.monoMs)) : this.wallNow();
  }

  toLocal(sharedMs: number): number {
    return sharedMs - (this.now() - this.wallNow());
  }

  fromLocal(localMs: number): number {
    return localMs + (this.now() - this.wallNow());
  }

  private async tick(): Promise<void> {
    try {
      await this.read();
    } catch (error) {
      this.options.onError?.(error);
    }
    if (!this.running) return;
    this.timer = setTimeout(() => void this.tick(), this.reading ? (this.options.everyMs ?? 30_000) : 1_000);
    this.timer.unref();
  }
}
