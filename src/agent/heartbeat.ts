import type { Logger } from '../core/log.ts';
import type { AgentBeat, Heartbeats } from '../queue/coordination.ts';
import { SilentConnection } from '../queue/silent-connection.ts';

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

/**
 * Says "alive" for every served host every intervalMs, and "stopped" once at the end. Never throws: with Redis
 * down it logs once and keeps trying (the bot then sees the agent as silent, which is the truth).
 */
export class HeartbeatLoop {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<boolean> | null = null;
  private failing = false;
  private readonly silence: SilentConnection | null;

  constructor(private readonly options: HeartbeatOptions) {
    this.silence = options.silentConnection ? new SilentConnection(options.silentConnection.silentMs) : null;
  }

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
      this.silence?.answered();
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

  /** A connection gone silent while open leaves the agent looking dead and failing every job: see SilentConnection. */
  private judgeSilence(error: unknown, sentAt: number): void {
    const silentFor = this.silence?.failed(error, sentAt, this.monotonic()) ?? null;
    if (silentFor === null) return;
    this.options.logger.warn(
      { hosts: this.options.hosts, silentMs: Math.round(silentFor) },
      'heartbeat: Redis answered no beat on its connection for this long (each timed out); replacing the connection',
    );
    this.options.silentConnection?.replace();
  }
}
