import type { ReplyTarget } from '../adapters/types.ts';
import type { BotFailure } from '../core/define-command.ts';
import type { Block } from '../core/reply.ts';
import type { JobData, JobFailure, JobOp } from '../queue/jobs.ts';
import type { RedisClient } from '../queue/redis-connection.ts';

export interface PendingJob {
  jobId: string;
  host: string;
  op: JobOp;
  /** The whole job, so a plan's later steps can be queued by whichever bot sees the previous one finish. */
  data: JobData;
}

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
  /** Hosts the asker may use: failure messages naming any other host are redacted before they are shown. */
  visibleHosts?: string[];
  /** The bot instance that must deliver the replies, when its adapter is process-local (the terminal). */
  origin?: string;
  /** A scheduled post's tick: the relay marks changes since the schedule's last post, and edits its message. */
  schedule?: { id: string; mode: 'post' | 'edit' };
  /** parallel = every job queued at once; sequence = a plan, each job queued when the previous one succeeded. */
  mode: 'parallel' | 'sequence';
  jobs: PendingJob[];
  /** What a plan showed before it ran (its placements and figures): its final reply shows it again. */
  summary?: Block[];
  /** Reads: epoch ms after which hosts that have not answered are reported as "no answer"; null = wait. */
  deadline: number | null;
  /** Mutations: epoch ms by which an agent must have picked the job up, or it is withdrawn. */
  pickupBy: number | null;
  createdAt: number;
}

const PENDING_TTL_SECONDS = 2 * 86_400;

export type StoredOutcome = { ok: true; result: unknown } | { ok: false; failure: JobFailure | BotFailure };

/** Pending replies in Redis, so results survive a bot restart. Keys live under the hash-tagged prefix. */
export class PendingStore {
  constructor(
    private readonly redis: RedisClient,
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
    // A request nobody can deliver any more (its terminal is gone) must not stay forever.
    const multi = this.redis
      .multi()
      .set(this.key(p.requestId), JSON.stringify(p), 'EX', PENDING_TTL_SECONDS)
      .sadd(this.indexKey, p.requestId);
    for (const j of p.jobs) multi.set(this.jobKey(j.jobId), p.requestId, 'EX', PENDING_TTL_SECONDS);
    await multi.exec();
  }

  async updateTarget(requestId: string, target: ReplyTarget): Promise<void> {
    const p = await this.get(requestId);
    // XX: a request finalized meanwhile is not brought back.
    if (p) await this.redis.set(this.key(requestId), JSON.stringify({ ...p, target }), 'KEEPTTL', 'XX');
  }

  async get(requestId: string): Promise<PendingRequest | null> {
    const raw = await this.redis.get(this.key(requestId));
    return raw ? (JSON.parse(raw) as PendingRequest) : null;
  }

  async requestOf(jobId: string): Promise<string | null> {
    return this.redis.get(this.jobKey(jobId));
  }

  /** Outcomes are keyed by job id: a plan may run several jobs on one host. */
  async recordOutcome(requestId: string, jobId: string, outcome: StoredOutcome): Promise<void> {
    await this.redis
      .multi()
      .hset(this.outcomesKey(requestId), jobId, JSON.stringify(outcome))
      .expire(this.outcomesKey(requestId), PENDING_TTL_SECONDS)
      .exec();
  }

  /** Records an outcome only if none is there yet (a withdrawal racing a completion: the first one wins). */
  async recordOutcomeOnce(requestId: string, jobId: string, outcome: StoredOutcome): Promise<boolean> {
    return (await this.recordOutcomeCounted(requestId, jobId, outcome)).recorded;
  }

  /** recordOutcomeOnce, also saying how many outcomes the request has now (so a caller can tell it is not done yet). */
  async recordOutcomeCounted(requestId: string, jobId: string, outcome: StoredOutcome): Promise<{ recorded: boolean; count: number }> {
    // The hash expires with the request: a late completion of a finished request leaves nothing behind for long.
    const r = await this.redis
      .multi()
      .hsetnx(this.outcomesKey(requestId), jobId, JSON.stringify(outcome))
      .expire(this.outcomesKey(requestId), PENDING_TTL_SECONDS)
      .hlen(this.outcomesKey(requestId))
      .exec();
    return { recorded: r?.[0]?.[1] === 1, count: Number(r?.[2]?.[1] ?? 0) };
  }

  async outcomes(requestId: string): Promise<Record<string, StoredOutcome>> {
    const raw = await this.redis.hgetall(this.outcomesKey(requestId));
    return Object.fromEntries(Object.entries(raw).map(([h, v]) => [h, JSON.parse(v) as StoredOutcome]));
  }

  /** Exactly one caller wins the right to deliver the final reply (relay vs. restart recovery, two bots). */
  async claimFinal(requestId: string): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:final:${requestId}`, '1', 'EX', 86_400, 'NX')) === 'OK';
  }

  /** Claims the right to queue a plan's next step (several bots may see the previous step finish). */
  async claimStep(requestId: string, index: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:step:${requestId}:${index}`, '1', 'EX', 86_400, 'NX')) === 'OK';
  }

  /** Removes a request whose jobs were never queued (by id: the stored copy may not exist). */
  async forget(requestId: string): Promise<void> {
    const p = await this.get(requestId);
    if (p) await this.remove(p);
    else await this.redis.multi().del(this.key(requestId), this.outcomesKey(requestId)).srem(this.indexKey, requestId).exec();
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
