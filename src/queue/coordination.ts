import type { DomainStatus } from '../core/xen.ts';
import type { JobData, JobOp } from './jobs.ts';
import { OPS } from './ops.ts';
import { OwnedKeys, type OwnedResult } from './owned-key.ts';
import type { RedisClient } from './redis-connection.ts';
import { RedisScript } from './redis-script.ts';

/**
 * What the bot and the agents agree on in Redis besides the queues: per-domain locks, agent heartbeats and the
 * operation journal. Every key lives under the hash-tagged prefix, so all of them share one Cluster slot with the
 * queues (the Lua scripts below touch one key each, so they would run on a Cluster either way).
 */

// ---------------------------------------------------------------- locks

/** Who holds a domain, and why: shown to whoever is refused. */
export interface LockHolder {
  requestId: string;
  person: string;
  /** The chat command (`stop`, `migrate`). */
  command: string;
  host: string;
  domain: string;
  /** e.g. `stop --force`, `migrate to xen2`. */
  reason: string;
  /** Epoch ms when it was taken. */
  since: number;
}

export type LockResult = OwnedResult<LockHolder>;

/**
 * One mutation per domain at a time, fleet-wide (by name: a migration's source and target hold the same lock).
 * The bot takes the lock when it queues a mutation, the agent adopts and renews it while the job runs and releases
 * it at the end; if the agent dies the lock expires after its TTL, and the job's resumption adopts it again.
 */
export class DomainLocks {
  private readonly keys: OwnedKeys<LockHolder>;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.keys = new OwnedKeys<LockHolder>(redis, 'requestId');
  }

  key(domain: string): string {
    return `${this.prefix}:lock:${domain}`;
  }

  acquire(holder: LockHolder, ttlMs: number): Promise<LockResult> {
    return this.keys.acquire(this.key(holder.domain), holder, ttlMs);
  }

  renew(domain: string, requestId: string, ttlMs: number): Promise<boolean> {
    return this.keys.renew(this.key(domain), requestId, ttlMs);
  }

  release(domain: string, requestId: string): Promise<boolean> {
    return this.keys.release(this.key(domain), requestId);
  }

  holder(domain: string): Promise<LockHolder | null> {
    return this.keys.holder(this.key(domain));
  }
}

/**
 * The refusal when a domain is locked by another request, e.g. `web is busy: bob's /stop since 12:00:03 UTC (request
 * tg-42)`; the bot and the agent word it the same.
 */
export function describeBusy(domain: string, holder: LockHolder | null): string {
  if (!holder) return `${domain} is busy with another request; try again when it finishes`;
  const since = Number.isFinite(holder.since) ? `, since ${new Date(holder.since).toISOString().slice(11, 19)} UTC` : '';
  return `${domain} is busy: ${holder.person}'s ${holder.reason} (request ${holder.requestId}${since}); try again when it finishes`;
}

/** The lock a job needs, if any. */
export function lockHolderFor(data: JobData, person: string, now: number): LockHolder | null {
  if (OPS[data.op].locks !== 'domain' || !('domain' in data)) return null;
  return {
    requestId: data.meta.requestId,
    person,
    command: data.meta.command,
    host: data.host,
    domain: data.domain,
    reason: describeJob(data),
    since: now,
  };
}

export function describeJob(data: JobData): string {
  switch (data.op) {
    case 'domain.stop':
      return data.force ? `stop --force on ${data.host}` : `stop on ${data.host}`;
    case 'domain.migrate':
      return `migration from ${data.host} to ${data.target}`;
    default:
      return `${OPS[data.op].verb} on ${data.host}`;
  }
}

// ---------------------------------------------------------------- heartbeats

/** What an agent says about itself every few seconds, per host it serves. */
export interface AgentBeat {
  agentId: string;
  /** `pid@hostname` of the agent process. */
  where: string;
  /** Epoch ms of the last beat. */
  seenAt: number;
  /** Set when the agent stopped cleanly. */
  stoppedAt?: number;
}

export interface AgentLiveness {
  alive: boolean;
  beat: AgentBeat | null;
}

/**
 * One agent's beat on every host it serves (ARGV[1] its beat as JSON, ARGV[2] how long another agent's beat is kept
 * since it was last seen, ARGV[3] how recent a beat must be to count as alive, ARGV[4..] the hosts). Several agents
 * may serve a host: each host's field keeps every agent's last beat (`agents`) and, at its top, the one a reader goes
 * by — the latest beat of an agent alive (not stopped, seen recently), else the latest beat: one agent stopping (a
 * rolling restart) must not make the host "no agent" while another serves it, nor an agent killed long ago hide
 * that the last one stopped.
 */
const BEAT = new RedisScript(`
local mine = cjson.decode(ARGV[1])
local keep = tonumber(ARGV[2])
local fresh = tonumber(ARGV[3])
for i = 4, #ARGV do
  local host = ARGV[i]
  local agents = {}
  local raw = redis.call('HGET', KEYS[1], host)
  if raw then
    local ok, old = pcall(cjson.decode, raw)
    if ok and type(old) == 'table' then
      if type(old.agents) == 'table' then agents = old.agents
      elseif old.agentId then agents[old.agentId] = { agentId = old.agentId, where = old.where, seenAt = old.seenAt, stoppedAt = old.stoppedAt } end
    end
  end
  agents[mine.agentId] = mine
  local top, live = nil, nil
  for id, b in pairs(agents) do
    if id ~= mine.agentId and mine.seenAt - b.seenAt > keep then agents[id] = nil
    else
      if b.stoppedAt == nil and mine.seenAt - b.seenAt <= fresh and (live == nil or b.seenAt > live.seenAt) then live = b end
      if top == nil or b.seenAt > top.seenAt then top = b end
    end
  end
  top = live or top
  redis.call('HSET', KEYS[1], host, cjson.encode({ agentId = top.agentId, where = top.where, seenAt = top.seenAt, stoppedAt = top.stoppedAt, agents = agents }))
end
return 1
`);

/** How long a host's field remembers another agent's beat (one gone for longer is forgotten there). */
const OTHER_AGENT_KEPT_MS = 24 * 3_600_000;

/** Heartbeats live in one hash (host → the agents' last beats), so "last seen" survives the agent. */
export class Heartbeats {
  /** @param staleMs how old a beat may be and still count as an agent alive (the bots' `bot.agentStaleMs`) */
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly staleMs = 10_000,
  ) {}

  get key(): string {
    return `${this.prefix}:agents`;
  }

  async beat(hosts: readonly string[], beat: AgentBeat): Promise<void> {
    if (hosts.length === 0) return;
    await BEAT.run(this.redis, [this.key], [JSON.stringify(beat), OTHER_AGENT_KEPT_MS, this.staleMs, ...hosts]);
  }

  async all(): Promise<Record<string, AgentBeat>> {
    const raw = await this.redis.hgetall(this.key);
    const out: Record<string, AgentBeat> = {};
    for (const [host, v] of Object.entries(raw)) {
      try {
        const { agents: _agents, ...beat } = JSON.parse(v) as AgentBeat & { agents?: unknown };
        out[host] = beat;
      } catch {
        // a foreign value: treated as never seen
      }
    }
    return out;
  }
}

/**
 * The hosts the bots' config has, as a bot wrote them (bots on one prefix have the same hosts). An agent checks every
 * one of them before a start or an autostart: one whose own config lacks a host cannot read it, and says so.
 */
export class FleetHosts {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:fleet-hosts`;
  }

  async publish(hosts: readonly string[]): Promise<void> {
    await this.redis.set(this.key, JSON.stringify([...hosts].sort()));
  }

  /** Null when no bot has written them (yet, or since Redis lost its data). */
  async read(): Promise<string[] | null> {
    const raw = await this.redis.get(this.key);
    if (raw === null) return null;
    const hosts: unknown = JSON.parse(raw);
    return Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string') : null;
  }
}

/** Alive = beat within `staleMs` and not stopped. Pure, for the bot's checks and /status. */
export function livenessOf(beat: AgentBeat | undefined, now: number, staleMs: number): AgentLiveness {
  if (!beat) return { alive: false, beat: null };
  return { alive: beat.stoppedAt === undefined && now - beat.seenAt <= staleMs, beat };
}

// ---------------------------------------------------------------- journal

/** The state a mutation found before it acted. */
export interface JournalState {
  status: DomainStatus | 'absent';
  id: number | null;
  uuid: string | null;
}

/**
 * One mutation's record, written before its command is issued. A job that finds its own entry was resumed after
 * a crash: the command may have run, so the agent reads the state back instead of issuing it again.
 */
export interface JournalEntry {
  jobId: string;
  requestId: string;
  op: JobOp;
  host: string;
  domain: string;
  target?: string;
  before: JournalState;
  /** `issuing` is written before the command is sent: from then on it may have run. */
  step: 'issuing' | 'done';
  /** Epoch ms the command was (about to be) issued. */
  issuedAt: number;
  /** How many times an agent picked this job up again after a crash. */
  resumes: number;
  /** The job's result once known, so a completion lost to a Redis outage is reported, not redone. */
  result?: unknown;
}

// The entry, and with it the beat of the run that wrote it: no moment when another agent sees the entry of a live run
// without its beat (and takes it for a dead agent's).
const PUT_IF_ABSENT = new RedisScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return 0 end
if ARGV[3] ~= '0' then redis.call('SET', KEYS[2], '1', 'PX', ARGV[3]) end
return 1`);

export class Journal {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSeconds = 7 * 86_400,
  ) {}

  key(jobId: string): string {
    return `${this.prefix}:journal:${jobId}`;
  }

  async get(jobId: string): Promise<JournalEntry | null> {
    const v = await this.redis.get(this.key(jobId));
    return v ? (JSON.parse(v) as JournalEntry) : null;
  }

  async put(entry: JournalEntry): Promise<void> {
    await this.redis.set(this.key(entry.jobId), JSON.stringify(entry), 'EX', this.ttlSeconds);
  }

  /**
   * Writes the entry only if the job has none: two runs of one job (a lapsed BullMQ lock hands it to a second
   * worker while the first still runs) can never both go on to send the command. With `beatMs`, the writer's beat
   * (see beat()) starts with it.
   */
  async putIfAbsent(entry: JournalEntry, beatMs = 0): Promise<boolean> {
    const keys = [this.key(entry.jobId), this.beatKey(entry.jobId)];
    return (await PUT_IF_ABSENT.run(this.redis, keys, [JSON.stringify(entry), this.ttlSeconds, Math.ceil(beatMs)])) === 1;
  }

  /**
   * The beat of the run that wrote a job's entry and is still sending its command (`xl migrate` may stream for
   * minutes): an agent that finds an `issuing` entry tells a live run from a dead one's across processes by it. It is
   * a key that Redis lets expire `staleMs` after the last beat, so Redis's clock alone says when it went stale.
   */
  private beatKey(jobId: string): string {
    return `${this.key(jobId)}:beat`;
  }

  async beat(jobId: string, staleMs: number): Promise<void> {
    await this.redis.set(this.beatKey(jobId), '1', 'PX', Math.ceil(staleMs));
  }

  /** Ends the beat at once (the run ended, however): a run waiting for it need not wait until it goes stale. */
  async endBeat(jobId: string): Promise<void> {
    await this.redis.del(this.beatKey(jobId));
  }

  /** Whether the run that wrote the job's entry is still beating (an entry of an agent older than beats never is). */
  async beating(jobId: string): Promise<boolean> {
    return (await this.redis.exists(this.beatKey(jobId))) === 1;
  }
}
