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

/** Appends to a Redis stream (queried by /audit) and a JSONL file (kept by the operator). */
export class AuditLog {
  private dirReady: Promise<unknown> | null = null;

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
      this.redis
        .xadd(this.streamKey, 'MAXLEN', '~', String(this.maxLen), '*', ...fields)
        .catch((e: unknown) => this.logger.error({ err: String(e) }, 'audit stream append failed')),
      this.dirReady
        .then(() => appendFile(this.file, `${JSON.stringify(record)}\n`))
        .catch((e: unknown) => this.logger.error({ err: String(e) }, 'audit file append failed')),
    ]);
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
