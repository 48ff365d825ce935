import { randomBytes } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { ReplyTarget } from '../adapters/types.ts';
import type { BotFailure } from '../core/define-command.ts';
import type { Block } from '../core/reply.ts';
import type { JobData, JobFailure, JobOp } from '../queue/jobs.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import { RedisScript } from '../queue/redis-script.ts';

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
  /** Hosts the asker may use, when not every host: failure messages naming any other are redacted before they are shown. */
  visibleHosts?: string[];
  /**
   * The asker's roles, when their permission reaches only some domains of a host (`domains: [files*]`): the domains
   * of a read's result outside it are left out before it is shown.
   */
  domainScopedRoles?: string[];
  /** The bot instance that must deliver the replies, when its adapter is process-local (the terminal). */
  origin?: string;
  /**
   * A one-host domain command whose guest ran on that host as the bot last heard it: answered that it does not run
   * there, it moved or stopped outside xenops since (see runs-elsewhere.ts); without it, such an answer is the news.
   */
  heardRunningThere?: true;
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

/** How long a request is kept in Redis at most (one nobody can deliver any more must not stay forever). */
export const PENDING_TTL_SECONDS = 2 * 86_400;
const FINAL_CLAIM_TTL_MS = 86_400_000;
/**
 * How long a request is kept at most once its final reply is claimed: less than the claim lives, so that the claim
 * always outlives the request. A request whose reply went out but whose removal was cut off (its bot died) would
 * otherwise outlive its claim by up to a day, and the next recovery would find it unclaimed and send its reply again.
 * The claim's own TTL is left as it is: a takeover reads a claim's age from it (older bots too).
 */
const REQUEST_AFTER_CLAIM_MS = FINAL_CLAIM_TTL_MS - 3_600_000;

/** Lua: caps a key's TTL at `ms` (one without a TTL too; a missing key is left missing). */
const CAP_TTL = `local function cap(key, ms)
  local left = redis.call('PTTL', key)
  if left == -1 or left > tonumber(ms) then redis.call('PEXPIRE', key, ms) end
end
`;

/**
 * An outcome recorded unless one is there, the hash kept as long as the request, and the count: one atomic command.
 * It runs once per job of a request (1,000 at once for a /status of 1,000 hosts); as a MULTI it was a pipeline of
 * five commands, each with its promise, held until EXEC — a burst of them outlived the young generation and piled
 * up in the old one.
 *
 * When that makes the request's outcomes complete (ARGV[4] of them), it also claims the final reply (the `final`
 * key, as claimFinal) if the request is still pending, and returns its current target and every outcome: the last
 * job of a request ends in one round trip instead of six.
 * KEYS: outcomes, pending, target, final. ARGV: job id, outcome, TTL, expected, claimant, the claim's TTL (ms),
 * '1' to be told of a claim this claimant holds unsent (claimed 2; renewed, see claimFinal's `ours`), and how long
 * the request may live on once claimed (ms: REQUEST_AFTER_CLAIM_MS).
 * Returns {set, count} or {set, count, claimed 0/1/2, target, outcomes…}.
 */
const RECORD_AND_CLAIM = new RedisScript(`${CAP_TTL}local set = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
local count = redis.call('HLEN', KEYS[1])
if count < tonumber(ARGV[4]) then return {set, count} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {set, count, 0} end
local claimed = 1
if not redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[6], 'NX') then
  if ARGV[7] ~= '1' or redis.call('GET', KEYS[4]) ~= ARGV[5] then return {set, count, 0} end
  redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[6])
  claimed = 2
end
cap(KEYS[2], ARGV[8])
cap(KEYS[3], ARGV[8])
local all = redis.call('HGETALL', KEYS[1])
if set == 0 then return {set, count, claimed, redis.call('GET', KEYS[3]) or false, all} end
-- The caller has the outcome it just recorded: it is not sent back (for a one-job request, nothing is).
local others = {}
for i = 1, #all, 2 do
  if all[i] ~= ARGV[1] then others[#others + 1] = all[i]; others[#others + 1] = all[i + 1] end
end
return {set, count, claimed, redis.call('GET', KEYS[3]) or false, others}`);

/**
 * A recovery's claim of a request's final reply (see claimFinal's takeOver). KEYS: final, pending. ARGV: claimant,
 * the claim's TTL (ms), the grace (ms), '1' to be told of this bot's own unsent claim, how long the request may live
 * on once claimed (ms). A claim's age is read from its
 * TTL, on Redis's clock alone. Returns {0} (this bot's own, or the request is no longer pending), {1} claimed, {2}
 * taken over, {3} sent by another bot (its bookkeeping unfinished), {4, ms}: another bot's claim younger than the
 * grace — that bot may be sending it now —, or {5}: this bot's own, unsent, renewed (claimFinal's `ours`).
 */
const TAKE_OVER_FINAL = new RedisScript(`${CAP_TTL}local held = redis.call('GET', KEYS[1])
if held == ARGV[1] and ARGV[4] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  cap(KEYS[2], ARGV[5])
  return {5}
end
if held == ARGV[1] or held == ARGV[1] .. ':sent' or redis.call('EXISTS', KEYS[2]) == 0 then return {0} end
if held then
  if string.sub(held, -5) == ':sent' then return {3} end
  local age = tonumber(ARGV[2]) - redis.call('PTTL', KEYS[1])
  if age < tonumber(ARGV[3]) then return {4, tonumber(ARGV[3]) - age} end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
cap(KEYS[2], ARGV[5])
if held then return {2} end
return {1}`);

/**
 * claimFinal's plain claim; with ARGV[4] '1', told of this bot's own unsent claim (renewed: {2}). KEYS: final,
 * pending. ARGV: claimant, TTL (ms), how long the request may live on once claimed (ms), '1' for `ours`.
 */
const CLAIM_FINAL = new RedisScript(`${CAP_TTL}if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  cap(KEYS[2], ARGV[3])
  return 1
end
if ARGV[4] ~= '1' or redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
cap(KEYS[2], ARGV[3])
return 2`);

/**
 * This bot's claim (KEYS[1] holds ARGV[1], unsent) of a request still pending (KEYS[2]) made young again (ARGV[2] ms):
 * 1, or 0 when it is not held or the request is gone. The request is not kept any longer for it (ARGV[3]: its cap).
 */
const RENEW_CLAIM =
  new RedisScript(`${CAP_TTL}if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
cap(KEYS[2], ARGV[3])
return 1`);

/** Marks this bot's claim as sent (the reply is out): a recovery then finishes the bookkeeping, never sends again. */
const MARK_SENT = new RedisScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1] .. ':sent', 'KEEPTTL')
  return 1
end
return 0`);

/**
 * MARK_SENT and the request's removal (remove()) in one call, for a request with nothing else to do between the two
 * (see markSentAndRemove). KEYS: the final claim, the index, then the keys to delete. ARGV: claimant, request id.
 */
const MARK_SENT_AND_REMOVE = new RedisScript(`local sent = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1] .. ':sent', 'KEEPTTL')
  sent = 1
end
redis.call('SREM', KEYS[2], ARGV[2])
-- One key a call: unpack() of a request over thousands of hosts would pass Lua's stack limit (~8,000 values).
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
return sent`);

/** What a claim of a final reply got: see claimFinal. */
export type FinalClaim =
  | { kind: 'claimed' }
  | { kind: 'ours' }
  | { kind: 'takenOver' }
  | { kind: 'sentElsewhere' }
  | { kind: 'tooYoung'; waitMs: number }
  | null;

export type StoredOutcome = { ok: true; result: unknown } | { ok: false; failure: JobFailure | BotFailure };

/**
 * Pending replies in Redis, so results survive a bot restart. Keys live under the hash-tagged prefix.
 *
 * A request's reply target (the message its edits go to) is also kept in a key of its own: it is the one part that
 * changes while the request runs, and an edit must not read and rewrite the whole request (half a megabyte of JSON
 * for 1,000 hosts) to change it. get() returns the request with that target.
 */
export class PendingStore {
  /**
   * @param claimant who this bot is in the claims of final replies (its instance): a claim held by another bot is
   *   one a recovery may take over (claimFinal's takeOver).
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly claimant: string = randomBytes(3).toString('hex'),
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
  private targetKey(requestId: string) {
    return `${this.prefix}:pending-target:${requestId}`;
  }
  private get indexKey() {
    return `${this.prefix}:pending-index`;
  }

  async save(p: PendingRequest): Promise<void> {
    const tx = this.redis.multi();
    this.writeSave(tx, p);
    await tx.exec();
  }

  /** The commands that save a request, written into a caller's transaction (the dispatcher's, with its jobs). */
  writeSave(tx: ChainableCommander, p: PendingRequest): void {
    // A request nobody can deliver any more (its terminal is gone) must not stay forever.
    tx.set(this.key(p.requestId), JSON.stringify(p), 'EX', PENDING_TTL_SECONDS)
      .set(this.targetKey(p.requestId), JSON.stringify(p.target), 'EX', PENDING_TTL_SECONDS)
      .sadd(this.indexKey, p.requestId);
    for (const j of p.jobs) tx.set(this.jobKey(j.jobId), p.requestId, 'EX', PENDING_TTL_SECONDS);
  }

  async updateTarget(requestId: string, target: ReplyTarget): Promise<void> {
    // XX: a request finalized meanwhile (its keys removed) is not brought back.
    if ((await this.redis.set(this.targetKey(requestId), JSON.stringify(target), 'KEEPTTL', 'XX')) === 'OK') return;
    // No target key: finalized, or saved by a bot from before targets had their own key, whose copy is updated whole.
    const raw = await this.redis.get(this.key(requestId));
    if (raw) await this.redis.set(this.key(requestId), JSON.stringify({ ...(JSON.parse(raw) as PendingRequest), target }), 'KEEPTTL', 'XX');
  }

  async get(requestId: string): Promise<PendingRequest | null> {
    // One slot (hash-tagged prefix): an MGET works on a Cluster too.
    const [raw, target] = await this.redis.mget(this.key(requestId), this.targetKey(requestId));
    if (!raw) return null;
    const p = JSON.parse(raw) as PendingRequest;
    return target ? { ...p, target: JSON.parse(target) as ReplyTarget } : p;
  }

  /** A request's current reply target without reading the request (null once it is finished). */
  async target(requestId: string): Promise<ReplyTarget | null> {
    const raw = await this.redis.get(this.targetKey(requestId));
    if (raw) return JSON.parse(raw) as ReplyTarget;
    return (await this.get(requestId))?.target ?? null;
  }

  async requestOf(jobId: string): Promise<string | null> {
    return this.redis.get(this.jobKey(jobId));
  }

  /** Outcomes are keyed by job id: a plan may run several jobs on one host. */
  async recordOutcome(requestId: string, jobId: string, outcome: StoredOutcome): Promise<void> {
    const tx = this.redis.multi();
    this.writeOutcome(tx, requestId, jobId, outcome);
    await tx.exec();
  }

  /** recordOutcome's commands, written into a caller's transaction. */
  writeOutcome(tx: ChainableCommander, requestId: string, jobId: string, outcome: StoredOutcome): void {
    // The object form: BullMQ's transactions (JobQueues.add) take hset's fields only so.
    tx.hset(this.outcomesKey(requestId), { [jobId]: JSON.stringify(outcome) }).expire(this.outcomesKey(requestId), PENDING_TTL_SECONDS);
  }

  /** Records an outcome only if none is there yet (a withdrawal racing a completion: the first one wins). */
  async recordOutcomeOnce(requestId: string, jobId: string, outcome: StoredOutcome): Promise<boolean> {
    return (await this.recordOutcomeCounted(requestId, jobId, outcome)).recorded;
  }

  /** recordOutcomeOnce, also saying how many outcomes the request has now (so a caller can tell it is not done yet). */
  async recordOutcomeCounted(requestId: string, jobId: string, outcome: StoredOutcome): Promise<{ recorded: boolean; count: number }> {
    // The hash expires with the request: a late completion of a finished request leaves nothing behind for long.
    const { recorded, count } = await this.recordAndClaim(requestId, jobId, outcome, Number.MAX_SAFE_INTEGER);
    return { recorded, count };
  }

  /**
   * Records an outcome once; when the request then has `expected` outcomes and is still pending, claims its final
   * reply (exactly one caller wins, as claimFinal) and returns its current target (null: kept only in the request)
   * and every outcome. `ours`: as claimFinal's — a claim this bot already holds unsent is returned too, `ours: true`.
   */
  async recordAndClaim(
    requestId: string,
    jobId: string,
    outcome: StoredOutcome,
    expected: number,
    options: { ours?: boolean } = {},
  ): Promise<{
    recorded: boolean;
    count: number;
    final: { target: ReplyTarget | null; outcomes: Record<string, StoredOutcome>; ours?: true } | null;
  }> {
    const r = (await RECORD_AND_CLAIM.run(
      this.redis,
      [this.outcomesKey(requestId), this.key(requestId), this.targetKey(requestId), this.finalKey(requestId)],
      [
        jobId,
        JSON.stringify(outcome),
        PENDING_TTL_SECONDS,
        expected,
        this.claimant,
        FINAL_CLAIM_TTL_MS,
        options.ours ? '1' : '0',
        REQUEST_AFTER_CLAIM_MS,
      ],
    )) as [number, number, number?, (string | null)?, string[]?];
    const [set, count, claimed, target, flat] = r;
    if (claimed !== 1 && claimed !== 2) return { recorded: set === 1, count, final: null };
    const outcomes: Record<string, StoredOutcome> = {};
    for (let i = 0; i + 1 < (flat ?? []).length; i += 2)
      outcomes[flat?.[i] as string] = JSON.parse(flat?.[i + 1] as string) as StoredOutcome;
    // Recorded by this call: not sent back (the stored copy is this one's JSON).
    if (set === 1) outcomes[jobId] = outcome;
    const final = { target: target ? (JSON.parse(target) as ReplyTarget) : null, outcomes };
    return { recorded: set === 1, count, final: claimed === 2 ? { ...final, ours: true } : final };
  }

  async outcomes(requestId: string): Promise<Record<string, StoredOutcome>> {
    const raw = await this.redis.hgetall(this.outcomesKey(requestId));
    return Object.fromEntries(Object.entries(raw).map(([h, v]) => [h, JSON.parse(v) as StoredOutcome]));
  }

  /**
   * Exactly one caller wins the right to deliver the final reply (relay vs. restart recovery, two bots): 'claimed', or
   * null. `takeOver` (a recovery in the bot that delivers now): a claim another bot holds on a request still pending
   * is one that bot made and did not see through — it died or lost the lease between claiming and delivering — and
   * is taken over ('takenOver') once it is older than `graceMs` ('tooYoung' before: that bot may be sending it right
   * now, as a bot handing over on SIGTERM finishes what it sends); one that bot marked sent only needs its
   * bookkeeping finished ('sentElsewhere'). Never this bot's own, which a delivery in flight here holds — unless
   * `ours`: this bot's own claim not marked sent is then returned as 'ours', its age renewed (another bot's recovery
   * waits the grace again), for the caller to tell from what it knows whether a delivery of its own holds it, or a
   * claim whose answer it never had (Redis silent, the connection cut, after carrying it out).
   */
  async claimFinal(requestId: string, options: { takeOver?: boolean; graceMs?: number; ours?: boolean } = {}): Promise<FinalClaim> {
    if (!options.takeOver) {
      const code = await CLAIM_FINAL.run(
        this.redis,
        [this.finalKey(requestId), this.key(requestId)],
        [this.claimant, FINAL_CLAIM_TTL_MS, REQUEST_AFTER_CLAIM_MS, options.ours ? '1' : '0'],
      );
      return code === 1 ? { kind: 'claimed' } : code === 2 ? { kind: 'ours' } : null;
    }
    const [code, waitMs] = (await TAKE_OVER_FINAL.run(
      this.redis,
      [this.finalKey(requestId), this.key(requestId)],
      [this.claimant, FINAL_CLAIM_TTL_MS, options.graceMs ?? 0, options.ours ? '1' : '0', REQUEST_AFTER_CLAIM_MS],
    )) as [number, number?];
    if (code === 1) return { kind: 'claimed' };
    if (code === 5) return { kind: 'ours' };
    if (code === 2) return { kind: 'takenOver' };
    if (code === 3) return { kind: 'sentElsewhere' };
    if (code === 4) return { kind: 'tooYoung', waitMs: waitMs ?? 0 };
    return null;
  }

  /**
   * Renews this bot's unsent claim of a request's final reply, while its delivery is being tried again: another bot's
   * recovery takes over only a claim older than its grace (see claimFinal). False when the claim is no longer this
   * bot's (taken over: that bot sends the reply) or the request is gone (finished, expired).
   */
  async renewClaim(requestId: string): Promise<boolean> {
    const keys = [this.finalKey(requestId), this.key(requestId)];
    return (await RENEW_CLAIM.run(this.redis, keys, [this.claimant, FINAL_CLAIM_TTL_MS, REQUEST_AFTER_CLAIM_MS])) === 1;
  }

  /** This bot's reply for the request is out: said before the bookkeeping, so nobody sends it again (see claimFinal). */
  async markSent(requestId: string): Promise<void> {
    await MARK_SENT.run(this.redis, [this.finalKey(requestId)], [this.claimant]);
  }

  /**
   * Of these requests, the ones Redis no longer has: `finished` when their final reply was claimed (by this bot or
   * another; the claim outlives the request, removed or expired, by an hour at least), `lost` when not — Redis lost
   * them with its data. Read in one
   * transaction, the request before its claim: a request is claimed before it is removed, never after.
   */
  async gone(requestIds: readonly string[]): Promise<Map<string, 'lost' | 'finished'>> {
    const tx = this.redis.multi();
    for (const id of requestIds) tx.exists(this.key(id)).exists(this.finalKey(id));
    const results = (await tx.exec()) ?? [];
    const out = new Map<string, 'lost' | 'finished'>();
    requestIds.forEach((id, i) => {
      const [pendingError, pending] = results[2 * i] ?? [null, 1];
      const [finalError, final] = results[2 * i + 1] ?? [null, 1];
      if (pendingError || finalError || pending !== 0) return;
      out.set(id, final === 0 ? 'lost' : 'finished');
    });
    return out;
  }

  private finalKey(requestId: string) {
    return `${this.prefix}:final:${requestId}`;
  }

  /**
   * Whether this is the first time this chat request asks for a change (SET NX, kept as long as a request): the same
   * event delivered again (a redelivered update, a second leader, a late double click) must not lock the domain
   * again, post a second "queued" line nobody answers, or a second approval card.
   */
  async firstDelivery(requestId: string): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:delivered:${requestId}`, '1', 'EX', PENDING_TTL_SECONDS, 'NX')) === 'OK';
  }

  /** Whether a chat request has asked for a change before (firstDelivery said yes to it once): read only. */
  async actedOn(requestId: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:delivered:${requestId}`)) === 1;
  }

  /** Claims the right to queue a plan's next step (several bots may see the previous step finish). */
  async claimStep(requestId: string, index: number): Promise<boolean> {
    return (await this.redis.set(this.stepKey(requestId, index), '1', 'EX', 86_400, 'NX')) === 'OK';
  }

  /** The step's job was added: its claim says so, and a recovery never takes it for a step never queued. */
  async markStepQueued(requestId: string, index: number): Promise<void> {
    await this.redis.set(this.stepKey(requestId, index), 'queued', 'KEEPTTL', 'XX');
  }

  async stepQueued(requestId: string, index: number): Promise<boolean> {
    return (await this.redis.get(this.stepKey(requestId, index))) === 'queued';
  }

  /** Lets a step's claim go: a recovery found the step never queued (see Relay.recover). */
  async releaseStep(requestId: string, index: number): Promise<void> {
    await this.redis.del(this.stepKey(requestId, index));
  }

  private stepKey(requestId: string, index: number) {
    return `${this.prefix}:step:${requestId}:${index}`;
  }

  /** A job is being withdrawn (removed from its queue before any agent took it): said before it is removed. */
  async markWithdrawing(jobId: string): Promise<void> {
    await this.redis.set(this.withdrawingKey(jobId), '1', 'EX', PENDING_TTL_SECONDS);
  }

  /** The job's removal failed (an agent took it): it is not being withdrawn after all. */
  async unmarkWithdrawing(jobId: string): Promise<void> {
    await this.redis.del(this.withdrawingKey(jobId));
  }

  async withdrawing(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.withdrawingKey(jobId))) === 1;
  }

  private withdrawingKey(jobId: string) {
    return `${this.prefix}:withdrawing:${jobId}`;
  }

  /** Removes a request whose jobs were never queued (by id: the stored copy may not exist). */
  async forget(requestId: string): Promise<void> {
    const p = await this.get(requestId);
    if (p) await this.remove(p);
    else
      await this.redis
        .multi()
        .del(this.key(requestId), this.targetKey(requestId), this.outcomesKey(requestId))
        .srem(this.indexKey, requestId)
        .exec();
  }

  /**
   * markSent and remove in one round trip, for a request whose reply is out and that holds nothing else (no domain
   * lock, no schedule bookkeeping): a read's bookkeeping after its reply was two calls, each a write and a wake-up of
   * the bot. Gone, a request is never sent again either (recovery finds nothing to send).
   */
  async markSentAndRemove(p: PendingRequest): Promise<void> {
    await MARK_SENT_AND_REMOVE.run(
      this.redis,
      [
        this.finalKey(p.requestId),
        this.indexKey,
        this.key(p.requestId),
        this.targetKey(p.requestId),
        this.outcomesKey(p.requestId),
        ...p.jobs.map((j) => this.jobKey(j.jobId)),
      ],
      [this.claimant, p.requestId],
    );
  }

  async remove(p: PendingRequest): Promise<void> {
    const multi = this.redis
      .multi()
      .del(this.key(p.requestId), this.targetKey(p.requestId), this.outcomesKey(p.requestId))
      .srem(this.indexKey, p.requestId);
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
