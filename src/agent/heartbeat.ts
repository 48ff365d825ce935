import type { Logger } from '../core/log.ts';
import type { AgentBeat, Heartbeats } from '../queue/coordination.ts';

export interface HeartbeatOptions {
  beats: Pick<Heartbeats, 'beat'>;
  /** The hosts this agent serves: one beat covers them all. */
  hosts: readonly string[];
  agentId: string;
  /** `pid@hostname`. */
  where: string;
  intervalMs: number;
  logger: Logger;
  now?: () => number;
  /**
   * A connection gone silent while open: after beats have timed out (and nothing else) for silentMs, `replace` is
   * called once, and the clock restarts. Without it, a silent connection is only waited out.
   */
  silentConnection?: { silentMs: number; replace: () => void };
  /** Monotonic milliseconds, for silentConnection. @defaultValue performance.now */
  monotonic?: () => number;
}

/** ioredis's words for a command its commandTimeout gave up on. */
const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * Says "alive" for every served host every intervalMs, and "stopped" once at the end. Never throws: with Redis
 * down it logs once and keeps trying (the bot then sees the agent as silent, which is the truth).
 */
export class HeartbeatLoop {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<boolean> | null = null;
  private failing = false;
  /** When the first of the beats timed out in a row was sent (monotonic), or null. */
  private timingOutSince: number | null = null;

  constructor(private readonly options: HeartbeatOptions) {}

  /** Starts beating; resolves once the first beat was written (or failed and was logged). */
  start(): Promise<boolean> {
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.options.intervalMs);
      this.timer.unref();
    }
    return this.tick();
  }

  /** One beat now (skipped while the previous one is still in flight); true when Redis took it. */
  beat(): Promise<boolean> {
    return this.tick();
  }

  /** Stops beating and writes the final beat with stoppedAt. */
  async stop(): Promise<boolean> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inFlight;
    const now = (this.options.now ?? Date.now)();
    return this.send({ agentId: this.options.agentId, where: this.options.where, seenAt: now, stoppedAt: now });
  }

  private tick(): Promise<boolean> {
    if (this.inFlight !== null) return this.inFlight;
    const beat: AgentBeat = { agentId: this.options.agentId, where: this.options.where, seenAt: (this.options.now ?? Date.now)() };
    this.inFlight = this.send(beat, this.monotonic()).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private monotonic(): number {
    return this.options.monotonic ? this.options.monotonic() : performance.now();
  }

  /** `sentAt` (monotonic) for the loop's beats; the final one (stop) never replaces the connection. */
  private async send(beat: AgentBeat, sentAt?: number): Promise<boolean> {
    try {
      await this.options.beats.beat(this.options.hosts, beat);
      this.timingOutSince = null;
      if (this.failing) this.options.logger.info({ hosts: this.options.hosts }, 'heartbeat: Redis answers again');
      this.failing = false;
      return true;
    } catch (error) {
      if (!this.failing)
        this.options.logger.warn(
          { hosts: this.options.hosts, err: error instanceof Error ? error.message : String(error) },
          'heartbeat: could not write to Redis; will keep trying',
        );
      this.failing = true;
      if (sentAt !== undefined) this.judgeSilence(error, sentAt);
      return false;
    }
  }

  /**
   * ioredis's command timeout gives up on a command and keeps its connection: one gone silent while open (a NAT or
   * firewall that forgot it) ends only with TCP's retransmission timeout, some 15 minutes in which the agent looks dead
   * and fails every job though a new connection would work at once. Only timeouts, in a row, for far longer than a
   * Redis restart's or a busy Redis's silence, count: a Redis that answers late on the same connection is waited for.
   * Any other error means the connection is not silent (ioredis reconnects by itself when it closes).
   */
  private judgeSilence(error: unknown, sentAt: number): void {
    const silent = this.options.silentConnection;
    if (!silent || !(error instanceof Error) || error.message !== COMMAND_TIMED_OUT) {
      this.timingOutSince = null;
      return;
    }
    this.timingOutSince ??= sentAt;
    const silentFor = this.monotonic() - this.timingOutSince;
    if (silentFor < silent.silentMs) return;
    this.timingOutSince = null;
    this.options.logger.warn(
      { hosts: this.options.hosts, silentMs: Math.round(silentFor) },
      'heartbeat: Redis answered no beat on its connection for this long (each timed out); replacing the connection',
    );
    silent.replace();
  }
}
