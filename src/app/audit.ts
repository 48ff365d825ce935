import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/log.ts';

export type AuditEvent = 'request' | 'decision' | 'job.start' | 'job.outcome' | 'approval';

/** One line of the audit trail: who (person and platform identity), where, what, and what came of it. */
export interface AuditEntry {
  event: AuditEvent;
  requestId: string;
  person: string | null;
  platform: string;
  userId: string;
  channelId: string;
  command: string;
  args?: string;
  decision?: 'allowed' | 'rejected' | 'needsApproval';
  host?: string;
  jobId?: string;
  detail?: string;
  durationMs?: number;
}

/**
 * Appends to a Redis stream (queried by /audit) and a JSONL file (kept by the operator). The file is written
 * whatever Redis does; entries Redis could not take are kept in order and appended to the stream when it is back.
 */
export class AuditLog {
  private dirReady: Promise<unknown> | null = null;
  private readonly backlog: string[][] = [];
  private flushing: Promise<void> | null = null;
  private static readonly MAX_BACKLOG = 10_000;

  constructor(
    private readonly redis: Redis,
    private readonly streamKey: string,
    private readonly file: string,
    private readonly maxLen: number,
    private readonly logger: Logger,
  ) {}

  async append(entry: AuditEntry): Promise<void> {
    const record = { ts: new Date().toISOString(), ...entry };
    const fields = Object.entries(record).flatMap(([k, v]) => (v === undefined || v === null ? [] : [k, String(v)]));
    this.dirReady ??= mkdir(dirname(this.file), { recursive: true });
    // The audit must never take the bot down: failures are logged, the request goes on.
    await Promise.all([
      this.toStream(fields),
      this.dirReady
        .then(() => appendFile(this.file, `${JSON.stringify(record)}\n`))
        .catch((e: unknown) => this.logger.error({ err: String(e) }, 'audit file append failed')),
    ]);
  }

  /** Entries waiting for Redis. */
  get pending(): number {
    return this.backlog.length;
  }

  private async toStream(fields: string[]): Promise<void> {
    // Keep the stream in order: while older entries wait, newer ones queue behind them.
    if (this.backlog.length > 0 || this.redis.status !== 'ready') {
      this.keep(fields);
      return;
    }
    try {
      await this.redis.xadd(this.streamKey, 'MAXLEN', '~', String(this.maxLen), '*', ...fields);
    } catch (error) {
      this.logger.error({ err: String(error) }, 'audit stream append failed; kept for when Redis is back');
      this.keep(fields);
    }
  }

  private keep(fields: string[]): void {
    if (this.backlog.length >= AuditLog.MAX_BACKLOG) this.backlog.shift();
    this.backlog.push(fields);
  }

  /** Appends what Redis missed (call when it is reachable again). The JSONL file already has every entry. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        while (this.backlog.length > 0 && this.redis.status === 'ready') {
          const fields = this.backlog[0] as string[];
          await this.redis.xadd(this.streamKey, 'MAXLEN', '~', String(this.maxLen), '*', ...fields);
          this.backlog.shift();
        }
      } catch (error) {
        this.logger.warn({ err: String(error) }, 'audit backlog flush interrupted');
      } finally {
        this.flushing = null;
      }
    })();
    return this.flushing;
  }

  async recent(n: number): Promise<Record<string, string>[]> {
    const entries = await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', n);
    return entries.map(([, fields]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i] as string] = fields[i + 1] as string;
      return o;
    });
  }
}
