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
}

/**
 * Says "alive" for every served host every intervalMs, and "stopped" once at the end. Never throws: with Redis
 * down it logs once and keeps trying (the bot then sees the agent as silent, which is the truth).
 */
export class HeartbeatLoop {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<boolean> | null = null;
  private failing = false;

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
    this.inFlight = this.send(beat).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async send(beat: AgentBeat): Promise<boolean> {
    try {
      await this.options.beats.beat(this.options.hosts, beat);
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
      return false;
    }
  }
}
