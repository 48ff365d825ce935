import type { Logger } from '../core/log.ts';
import { withTimeout } from '../core/with-timeout.ts';
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

// A key makes a Cluster route it to the node holding the prefix's slot, so every process reads the same node's clock.
const TIME = new RedisScript(`local t = redis.call('TIME') return {t[1], t[2]}`);

/** Where a reading puts the shared clock against the local monotonic one. */
interface Reading {
  sharedMs: number;
  monoMs: number;
  /** The round trip it was taken in: the reading is off by at most half of it. */
  rttMs: number;
}

/** A TIME reply (seconds, microseconds) taken between two monotonic readings, as a point on both clocks. */
export function readingOf(reply: readonly [string, string], sentMono: number, answeredMono: number): Reading {
  const sharedMs = Number(reply[0]) * 1000 + Math.floor(Number(reply[1]) / 1000);
  if (!Number.isFinite(sharedMs)) throw new Error(`Redis TIME gave ${JSON.stringify(reply)}`);
  // Redis read its clock somewhere within the round trip: the middle is off by at most half of it.
  return { sharedMs, monoMs: (sentMono + answeredMono) / 2, rttMs: answeredMono - sentMono };
}

/** How far the wall clock may move against the monotonic one before the reading is taken again at once. */
const JUMP_MS = 1_000;
/** Quick tries at start, so that a Redis blip then does not leave the local clock standing in for 1 s. */
const START_TRIES = 5;
/** Readings taken at start, the one with the shortest round trip kept. */
const START_READINGS = 3;
/**
 * A later reading whose round trip is much longer than the one in use (an event loop busy while the answer waited)
 * is less exact: it is kept only once the one in use is this old (the two clocks drift apart by a few ms a minute).
 */
const KEEP_EXACT_MS = 5 * 60_000;

export interface SharedClockOptions {
  /** Between readings once one has succeeded (default 30 s); until then, every second. */
  everyMs?: number;
  /**
   * A reading not answered by then failed (default 2 s): a connection gone silent, with no error of its own, must not
   * stop the readings unsaid.
   */
  readTimeoutMs?: number;
  monoNow?: () => number;
  wallNow?: () => number;
  /** The first failed reading of a run of failures (now() goes on from the last reading; the local clock before one). */
  onError?: (error: unknown) => void;
  /** A reading worked again after failures. */
  onRecovered?: () => void;
}

export class SharedClock implements Clock {
  private reading: (Reading & { wallMinusMono: number }) | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Bumped by start() and stop(): a loop of an earlier run ends instead of going on beside the new one. */
  private generation = 0;
  private running = false;
  private failing = false;
  /** The reading a jump of the wall clock has already sent for again (one extra reading per jump, not per call). */
  private recheckedFrom: object | null = null;
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
    const ms = this.options.readTimeoutMs ?? 2_000;
    const reply = (await withTimeout(TIME.run(this.redis, [this.key], []), ms, `Redis did not answer TIME within ${ms} ms`)) as [
      string,
      string,
    ];
    const answered = this.monoNow();
    const next = { ...readingOf(reply, sent, answered), wallMinusMono: this.wallNow() - answered };
    const cur = this.reading;
    const jumped = cur !== null && Math.abs(next.wallMinusMono - cur.wallMinusMono) > JUMP_MS;
    if (cur && !jumped && next.rttMs > 2 * cur.rttMs + 1 && answered - cur.monoMs < KEEP_EXACT_MS) return;
    this.reading = next;
  }

  /** How far now() may be from Redis's clock (half the round trip of the reading in use), or null before one. */
  get precisionMs(): number | null {
    return this.reading ? this.reading.rttMs / 2 : null;
  }

  /**
   * Reads now (up to three readings, the most exact kept; a few quick tries while they fail), then keeps reading in
   * the background. Resolves once a reading is in, or the tries failed: then it goes on trying every second, and the
   * local clock stands in meanwhile (said through onError).
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    let readings = 0;
    let failures = 0;
    while (readings < START_READINGS && failures < START_TRIES && this.generation === generation) {
      if (await this.attempt()) readings++;
      else if (readings > 0) break;
      else if (++failures < START_TRIES) await new Promise((r) => setTimeout(r, 200).unref());
    }
    this.schedule(generation);
  }

  stop(): void {
    this.running = false;
    this.generation++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  now(): number {
    const r = this.reading;
    if (!r) return this.wallNow();
    const mono = this.monoNow();
    // The wall clock moved against the monotonic one: the machine slept (its monotonic clock stood still meanwhile)
    // or its clock was stepped. Read again now rather than up to everyMs later.
    if (this.running && this.recheckedFrom !== r && Math.abs(this.wallNow() - mono - r.wallMinusMono) > JUMP_MS) {
      this.recheckedFrom = r;
      const generation = this.generation;
      // Failed (Redis away): the loop tries every second from now on, not at its next everyMs.
      void this.attempt().then((ok) => {
        if (!ok) this.schedule(generation);
      });
    }
    // Whole ms, as Date.now(): these times go into validated job data and JSON.
    return Math.round(r.sharedMs + (mono - r.monoMs));
  }

  toLocal(sharedMs: number): number {
    return sharedMs - (this.now() - this.wallNow());
  }

  fromLocal(localMs: number): number {
    return localMs + (this.now() - this.wallNow());
  }

  /** One reading; says so when the first of a run fails, and when one works again. Never throws. */
  private async attempt(): Promise<boolean> {
    let failure: { error: unknown } | null = null;
    try {
      await this.read();
    } catch (error) {
      failure = { error };
    }
    const wasFailing = this.failing;
    this.failing = failure !== null;
    try {
      if (failure && !wasFailing) this.options.onError?.(failure.error);
      if (!failure && wasFailing) this.options.onRecovered?.();
    } catch {
      // A report that throws must not stop the readings.
    }
    return failure === null;
  }

  /** The next reading: everyMs after a good one; every second before the first, and while they fail. */
  private schedule(generation: number): void {
    if (!this.running || this.generation !== generation) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(
      () => void this.attempt().then(() => this.schedule(generation)),
      this.reading && !this.failing ? (this.options.everyMs ?? 30_000) : 1_000,
    );
    this.timer.unref();
  }
}

/** The clock of the deployment under `prefix`, saying in the log when it cannot be read and when it can again. */
export function deploymentClock(redis: RedisClient, prefix: string, logger: Logger): SharedClock {
  return new SharedClock(redis, `${prefix}:clock`, {
    onError: (e) =>
      logger.warn(
        { err: String(e) },
        "could not read Redis's clock: going on from its last reading (this machine's own clock before the first)",
      ),
    onRecovered: () => logger.info("reading Redis's clock again"),
  });
}
