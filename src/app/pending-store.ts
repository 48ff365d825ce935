import type { Redis } from 'ioredis';
import type { ReplyTarget } from '../adapters/types.ts';
import type { JobFailure } from '../queue/jobs.ts';

/** A request whose jobs are still running: enough to render and deliver its result after a bot restart. */
export interface PendingRequest {
  requestId: string;
  command: string;
  args: Record<string, unknown>;
  person: string;
  platform: string;
  userId: string;
  channelId: string;
  target: ReplyTarget;
  jobs: { jobId: string; host: string }[];
  /** Epoch ms after which hosts that have not answered are reported as "no answer"; null = wait. */
  deadline: number | null;
  createdAt: number;
}

export type StoredOutcome = { ok: true; result: unknown } | { ok: false; failure: JobFailure | { code: 'noAnswer'; message: string } };

/** Pending replies in Redis, so results survive a bot restart. Keys live under the hash-tagged prefix. */
export class PendingStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(requestId: string) {
    return `${this.prefix}:pending:${requestId}`;
  }
  private outcomesKey(requestId: string) {
    return `${this.prefix}:pending-outcomes:${requestId}`;
  }
  private jobKey(jobId: string) {
    return `${this.prefix}:pending-job:${jobId}`;
  }
  private get indexKey() {
    return `${this.prefix}:pending-index`;
  }

  async save(p: PendingRequest): Promise<void> {
    const multi = this.redis.multi().set(this.key(p.requestId), JSON.stringify(p)).sadd(this.indexKey, p.requestId);
    for (const j of p.jobs) multi.set(this.jobKey(j.jobId), p.requestId);
    await multi.exec();
  }

  async updateTarget(requestId: string, target: ReplyTarget): Promise<void> {
    const p = await this.get(requestId);
    if (p) await this.redis.set(this.key(requestId), JSON.stringify({ ...p, target }));
  }

  async get(requestId: string): Promise<PendingRequest | null> {
    const raw = await this.redis.get(this.key(requestId));
    return raw ? (JSON.parse(raw) as PendingRequest) : null;
  }

  async requestOf(jobId: string): Promise<string | null> {
    return this.redis.get(this.jobKey(jobId));
  }

  async recordOutcome(requestId: string, host: string, outcome: StoredOutcome): Promise<Record<string, StoredOutcome>> {
    await this.redis.hset(this.outcomesKey(requestId), host, JSON.stringify(outcome));
    return this.outcomes(requestId);
  }

  async outcomes(requestId: string): Promise<Record<string, StoredOutcome>> {
    const raw = await this.redis.hgetall(this.outcomesKey(requestId));
    return Object.fromEntries(Object.entries(raw).map(([h, v]) => [h, JSON.parse(v) as StoredOutcome]));
  }

  /** Exactly one caller wins the right to deliver the final reply (relay vs. restart recovery, two bots). */
  async claimFinal(requestId: string): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:final:${requestId}`, '1', 'EX', 86_400, 'NX')) === 'OK';
  }

  async remove(p: PendingRequest): Promise<void> {
    const multi = this.redis.multi().del(this.key(p.requestId), this.outcomesKey(p.requestId)).srem(this.indexKey, p.requestId);
    for (const j of p.jobs) multi.del(this.jobKey(j.jobId));
    await multi.exec();
  }

  async all(): Promise<PendingRequest[]> {
    const ids = await this.redis.smembers(this.indexKey);
    const out: PendingRequest[] = [];
    for (const id of ids) {
      const p = await this.get(id);
      if (p) out.push(p);
      else await this.redis.srem(this.indexKey, id);
    }
    return out;
  }
}
