import { createHash, randomInt } from 'node:crypto';
import { z } from 'zod';
import type { ReplyTarget } from '../adapters/types.ts';
import type { ApprovalPolicy } from '../config/approvals-schema.ts';
import type { Platform } from '../config/schema.ts';
import { echoValue } from '../core/args.ts';
import type { JobSpec, Risk, Target } from '../core/define-command.ts';
import type { Block } from '../core/reply.ts';
import { duplicateRedisClient, type RedisClient } from '../queue/redis-connection.ts';
import { replaceSilentConnection } from '../queue/silent-connection.ts';

/** The state a request was made in, bound to its approval: the agent refuses to act if the domain changed since. */
export interface BoundState {
  host: string;
  domain: string;
  up: boolean;
  id: number | null;
  uuid: string | null;
  status: string;
  memoryMiB: number | null;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired';

/** One request waiting for (or past) its approval: everything needed to run exactly it, and nothing else. */
export interface ApprovalRecord {
  /** Six characters, easy to type: `/approve K7Q2XM`. */
  id: string;
  requestId: string;
  command: string;
  args: Record<string, unknown>;
  requester: string;
  platform: string;
  userId: string;
  /**
   * The requester's platform roles when they asked (Discord role ids): roles bound through `discord.roleBindings`
   * are theirs only through these, and the approved request runs with the roles they give under the config of then.
   */
  roleIds?: string[];
  /**
   * Asked by xenops itself for the requester (a schedule's tick): no platform account behind it, so the config's roles
   * for the person apply when it runs. Otherwise the account must still be the requester's then.
   */
  system?: true;
  channelId: string;
  /** The requester's own reply: the request's result goes there. */
  target: ReplyTarget;
  mode: 'parallel' | 'sequence';
  jobs: JobSpec[];
  targets: Target[];
  touches: string[];
  risk: Risk;
  /** The exact command lines, as the hosts will receive them. */
  preview: string[];
  /** What a plan showed when it was made (an evacuation's placements and figures): on the card, and in the result. */
  summary?: Block[];
  state: BoundState[];
  reason?: string;
  policy: ApprovalPolicy;
  createdAt: number;
  expiresAt: number;
  approvals: { person: string; platform: string; at: number }[];
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: number;
  denyReason?: string;
  /** People the request was escalated to (the next on call): they may approve it too. */
  escalatedTo?: string[];
  /** 0 = not escalated, 1 = to the next on call, 2 = to the admins. */
  escalation?: number;
  /** Every message that announced it (the requester's, approval channels): updated with the outcome. */
  announcements: ReplyTarget[];
  /**
   * Approval channels the bot that took it could not post to (a Discord one, asked at a terminal bot; or its Discord is
   * a standby's), left to a bot that can: each is taken off here by the one bot that posts it.
   */
  unposted?: { platform: Platform; id: string }[];
  /**
   * Cards of a decided request its decider could not tell (on platforms it lacks), left to a bot that can: each is
   * taken off here by the one bot that tells it. Kept so a decision whose news was not heard still reaches them.
   */
  untold?: ReplyTarget[];
  /** Approved, what came of starting it: queued (its result goes to the requester), or why it did not run. */
  run?: { queued: true } | { queued: false; why: string };
  /**
   * Approved, where its result goes when not to the requester's chat (that chat is gone): what every card drawn
   * later says, as the first ones did.
   */
  reach?: Exclude<Reach, 'chat'>;
  /**
   * What it asks for (see approvalAction): while it is pending, the same person asking for the same again is told of
   * this one instead of making a second. Absent on records of bots before it.
   */
  action?: string;
}

/**
 * Which action a request asks for, as a second ask of it would be recognised: the person, the command, its resolved
 * targets and its other arguments — not the reason, nor how the target was typed (`targetArgs`: `web` and
 * `xen1:web` are the same guest once resolved).
 */
export function approvalAction(
  rec: Pick<ApprovalRecord, 'requester' | 'command' | 'targets' | 'args'>,
  targetArgs: readonly string[],
): string {
  const args = Object.entries(rec.args)
    .filter(([name, value]) => name !== 'reason' && !targetArgs.includes(name) && value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const targets = rec.targets.map((t) => `${t.host}:${t.domain ?? ''}`).sort();
  return createHash('sha256')
    .update(JSON.stringify([rec.requester, rec.command, targets, args]))
    .digest('hex')
    .slice(0, 32);
}

/** What asking for an action gave: a new request, or the one still pending for it (nothing made). */
export type Asked = { made: true; rec: ApprovalRecord } | { made: false; rec: ApprovalRecord };

/** Where an approved request's result goes: the requester's chat, their private chat (that chat is gone), nowhere. */
export type Reach = 'chat' | 'private' | 'none';

const ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export function newApprovalId(): string {
  return Array.from({ length: 6 }, () => ID_ALPHABET[randomInt(ID_ALPHABET.length)]).join('');
}

export const APPROVAL_ID = /^[A-HJ-NP-Z2-9]{6}$/;

/** The `id` argument of /approve and /deny: case-insensitive as typed, upper case as stored. */
export const ApprovalIdArg = z
  .string()
  .trim()
  .transform((s) => s.toUpperCase())
  // The alphabet leaves out what reads as another character (0 and O, 1 and I): a refusal says so.
  .pipe(
    z.string().regex(APPROVAL_ID, {
      error: (issue) => `${echoValue(issue.input)} is no approval id: one is 6 of A–Z and 2–9 (never 0, 1, I or O), e.g. K7Q2XM`,
    }),
  )
  .describe('the approval id');

/**
 * What a bot tells the others about a request whose cards are partly on platforms it cannot post to: it was decided
 * (the default: what bots before `kind` sent), asked with approval channels left to them, or escalated (`title`).
 */
export type ApprovalNews = { kind: 'decided' } | { kind: 'requested' } | { kind: 'escalated'; title: string };

const NewsMessage = z.object({
  id: z.string().regex(APPROVAL_ID),
  from: z.array(z.string()),
  kind: z.enum(['decided', 'requested', 'escalated']).default('decided'),
  title: z.string().max(500).optional(),
});

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** ~1e9 ids: a clash is rare, several in a row mean the draw is broken, not bad luck. */
const CREATE_ATTEMPTS = 5;

/** The record only if its id is free, and indexed as pending with it (one step: no record left unindexed). */
const CREATE = `
if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then
  redis.call('SADD', KEYS[2], ARGV[3])
  return 1
end
return 0`;

/**
 * As CREATE, unless the action's index names a request already (its id returned, nothing written): the index is set
 * with the record, to expire with the request, so two bots asked at once make one request between them.
 */
const CREATE_ONCE = `
local held = redis.call('GET', KEYS[3])
if held then return held end
if redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then
  redis.call('SADD', KEYS[2], ARGV[3])
  redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[4])
  return 1
end
return 0`;

/** Drops an action's index only if it still names `ARGV[1]` (a newer request's is left). */
const DROP_ACTION = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Approval records in Redis, so pending approvals survive a bot restart and any bot (on any platform) can decide
 * them. Transitions are optimistic transactions (WATCH): a double click or a replayed /approve approves once.
 */
export class ApprovalStore {
  /** The connections watchDecided listens on, until their closing. */
  private readonly listening = new Set<RedisClient>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    /** The clock `expiresAt` is on: the deployment's shared one in the bot. */
    private readonly now: () => number = Date.now,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:approval:${id}`;
  }

  /** Names the pending request of an action (see approvalAction); under the prefix, so in its Cluster slot. */
  private actionKey(action: string): string {
    return `${this.prefix}:approval-action:${action}`;
  }

  private get indexKey(): string {
    return `${this.prefix}:approvals-pending`;
  }

  /** Decided requests with cards left untold (see ApprovalRecord.untold). */
  private get untoldKey(): string {
    return `${this.prefix}:approvals-untold`;
  }

  /** Approved and not yet recorded as run (queued, or why not): a bot that died in between leaves one here. */
  private get startingKey(): string {
    return `${this.prefix}:approvals-starting`;
  }

  private ttl(rec: ApprovalRecord): number {
    // Kept a day past its expiry, so a late /approve is told it expired instead of "no such request".
    return Math.max(60, Math.ceil((rec.expiresAt - this.now()) / 1000) + 86_400);
  }

  /**
   * Stores a new request under a fresh id, which the store draws: an id still held by another record (a live one, or
   * one kept a day for late clicks) is drawn again, never overwritten — its cards would approve the other request.
   */
  async create(draft: Omit<ApprovalRecord, 'id'>): Promise<ApprovalRecord> {
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const rec: ApprovalRecord = { ...draft, id: newApprovalId() };
      const made = await this.redis.eval(CREATE, 2, this.key(rec.id), this.indexKey, JSON.stringify(rec), this.ttl(rec), rec.id);
      if (made === 1) return rec;
    }
    throw new Error(`no free approval id after ${CREATE_ATTEMPTS} draws`);
  }

  /**
   * As create, but when the draft's action has a request pending (asked by this bot or another), nothing is made and
   * that one is returned. An index naming a request no longer pending (decided by a bot before the index) is dropped.
   */
  async ask(draft: Omit<ApprovalRecord, 'id'>): Promise<Asked> {
    const { action } = draft;
    if (action === undefined) return { made: true, rec: await this.create(draft) };
    const key = this.actionKey(action);
    for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
      const rec: ApprovalRecord = { ...draft, id: newApprovalId() };
      const left = Math.max(1, rec.expiresAt - this.now());
      const made = await this.redis.eval(
        CREATE_ONCE,
        3,
        this.key(rec.id),
        this.indexKey,
        key,
        JSON.stringify(rec),
        this.ttl(rec),
        rec.id,
        left,
      );
      if (made === 1) return { made: true, rec };
      if (typeof made !== 'string') continue;
      const held = await this.get(made);
      if (held?.status === 'pending' && held.expiresAt > this.now()) return { made: false, rec: held };
      await this.redis.eval(DROP_ACTION, 1, key, made);
    }
    throw new Error(`no free approval id after ${CREATE_ATTEMPTS} draws`);
  }

  async get(id: string): Promise<ApprovalRecord | null> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as ApprovalRecord) : null;
  }

  async pendingIds(): Promise<string[]> {
    return this.redis.smembers(this.indexKey);
  }

  /**
   * The requests waiting for a decision now (the /metrics gauge), counted from their records: the index keeps an id
   * until a bot's expiry timer settles it, and only a bot with the request's platform arms one — a terminal request
   * whose bot has gone was counted for good, its record expired too. Ids whose record is gone leave the index.
   */
  async pendingCount(): Promise<number> {
    const ids = await this.pendingIds();
    if (ids.length === 0) return 0;
    const raws = await this.redis.mget(...ids.map((id) => this.key(id)));
    const gone = ids.filter((_, i) => raws[i] === null);
    if (gone.length > 0) await this.redis.srem(this.indexKey, ...gone);
    const now = this.now();
    return raws.filter((raw) => {
      if (raw === null) return false;
      const rec = JSON.parse(raw) as ApprovalRecord;
      return rec.status === 'pending' && rec.expiresAt > now;
    }).length;
  }

  /** Where a bot says it decided a request whose cards are partly on platforms it cannot post to. */
  private get decidedChannel(): string {
    return `${this.prefix}:approval-decided`;
  }

  /** Tells the other bots that `id` was decided by a bot posting to the platforms `from` only. */
  async publishDecided(id: string, from: readonly string[]): Promise<void> {
    await this.publishNews(id, from, { kind: 'decided' });
  }

  /** Tells the other bots news of `id` from a bot posting to the platforms `from` only (see ApprovalNews). */
  async publishNews(id: string, from: readonly string[], news: ApprovalNews): Promise<void> {
    await this.redis.publish(this.decidedChannel, JSON.stringify({ id, from, ...news }));
  }

  /**
   * Hears every decision (and other news) a bot publishes (see publishNews), on a connection of its own; resolves once
   * listening, with how to stop. News published while this bot was cut off from Redis is not heard: `reconnected` is
   * called each time it listens again after that (the records tell what was missed).
   */
  async watchDecided(
    heard: (id: string, from: string[], news: ApprovalNews) => void,
    reconnected: () => void = () => {},
  ): Promise<() => void> {
    // Subscribed again by the 'ready' handler below, not by ioredis itself: ioredis drops the promise of its own
    // resubscription, so a connection closed before Redis answered it failed with an unhandled rejection.
    const sub = duplicateRedisClient(this.redis, { lazyConnect: false, enableOfflineQueue: true, autoResubscribe: false });
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.decidedChannel) return;
      const said = NewsMessage.safeParse(safeJson(message));
      if (!said.success) return;
      const { id, from, kind, title } = said.data;
      if (kind === 'escalated') {
        if (title !== undefined) heard(id, from, { kind, title });
      } else heard(id, from, { kind });
    });
    try {
      await sub.subscribe(this.decidedChannel);
    } catch (error) {
      sub.disconnect();
      throw error;
    }
    // Listening again once ready: by the time this subscription is answered the news is heard again, so `reconnected`
    // looks at what was missed with nothing new slipping by.
    sub.on('ready', () => {
      sub.subscribe(this.decidedChannel).then(reconnected, () => {});
    });
    this.listening.add(sub);
    return () => {
      this.listening.delete(sub);
      sub.disconnect();
    };
  }

  /**
   * The bot found its connections silent while open (a NAT or firewall that forgot them): a subscriber sends nothing
   * that could time out, so it would hear nothing more until TCP gave up, if ever. Each one listening connects anew;
   * it subscribes again once ready, and `reconnected` (see watchDecided) catches up on what was said meanwhile.
   * One closed is no longer here: it is not connected again.
   */
  replaceSilentConnection(): void {
    for (const sub of this.listening) replaceSilentConnection(sub);
  }

  /** Decided requests with cards left to other bots to tell. */
  async untoldIds(): Promise<string[]> {
    return this.redis.smembers(this.untoldKey);
  }

  /** A record gone (expired) while it had cards untold: its id leaves the index. */
  async forgetUntold(id: string): Promise<void> {
    await this.redis.srem(this.untoldKey, id);
  }

  /** Approved requests not recorded as run. */
  async startingIds(): Promise<string[]> {
    return this.redis.smembers(this.startingKey);
  }

  /**
   * Whether this bot is the first to say that Redis lost the pending request `id` (asked as `requestId`): every bot
   * timing its expiry finds the record gone, and the loss is audited once. The request id keeps a later request that
   * drew the same approval id from finding the claim taken.
   */
  async claimLost(id: string, requestId: string): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:approval-lost:${id}:${requestId}`, '1', 'EX', 86_400, 'NX')) === 'OK';
  }

  /** A record that expired while in the starting set (its key is gone): its id goes too. */
  async forgetStarting(id: string): Promise<void> {
    await this.redis.srem(this.startingKey, id);
  }

  /**
   * Applies `change` atomically: it sees the current record and returns the next one (or null to leave it). Retries
   * when another bot changed the record meanwhile. Returns the record as stored after the call and whether it changed.
   */
  async update(
    id: string,
    change: (rec: ApprovalRecord) => ApprovalRecord | null,
  ): Promise<{ rec: ApprovalRecord | null; changed: boolean; before: ApprovalRecord | null }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const conn = duplicateRedisClient(this.redis, { lazyConnect: false, enableOfflineQueue: true, maxRetriesPerRequest: 1 });
      try {
        await conn.watch(this.key(id));
        const raw = await conn.get(this.key(id));
        const before = raw ? (JSON.parse(raw) as ApprovalRecord) : null;
        if (!before) {
          await conn.unwatch();
          return { rec: null, changed: false, before: null };
        }
        const next = change(structuredClone(before));
        if (!next) {
          await conn.unwatch();
          return { rec: before, changed: false, before };
        }
        // Decided: its action may be asked again. The index is watched too, so one naming a newer request is kept.
        const action = next.status !== 'pending' && before.action !== undefined ? this.actionKey(before.action) : null;
        if (action) await conn.watch(action);
        const indexed = action ? (await conn.get(action)) === id : false;
        const multi = conn.multi().set(this.key(id), JSON.stringify(next), 'EX', this.ttl(next));
        if (next.status !== 'pending') multi.srem(this.indexKey, id);
        if (action && indexed) multi.del(action);
        if (next.status === 'approved' && !next.run) multi.sadd(this.startingKey, id);
        else if (before.status === 'approved') multi.srem(this.startingKey, id);
        if ((next.untold ?? []).length > 0) multi.sadd(this.untoldKey, id);
        else if (before.untold !== undefined) multi.srem(this.untoldKey, id);
        const done = await multi.exec();
        if (done !== null) return { rec: next, changed: true, before };
      } finally {
        conn.disconnect();
      }
    }
    throw new Error(`approval ${id}: too much contention`);
  }
}
