import type { RedisClient } from './redis-connection.ts';
import { RedisScript } from './redis-script.ts';

/**
 * What the agents' samplers saw happen on the fleet. `byXenops` is true when the domain was locked by a xenops
 * request or changed by one moments ago (see `markMutation`), so a consumer can tell xenops' own work from changes
 * made outside it.
 */
export type FleetEvent =
  | {
      kind: 'domain.started' | 'domain.stopped' | 'domain.crashed' | 'domain.vanished' | 'domain.appeared';
      host: string;
      domain: string;
      uuid: string | null;
      byXenops: boolean;
      at: number;
    }
  | { kind: 'domain.migrated'; host: string; from: string; domain: string; uuid: string | null; byXenops: boolean; at: number }
  /** `xl rename`: the same domain (UUID and domain id) under a new name, `domain`, on the same host. */
  | { kind: 'domain.renamed'; host: string; oldName: string; domain: string; uuid: string; byXenops: boolean; at: number }
  /**
   * Said by the bots' split-brain watch (src/app/split-brain-watch.ts), not by an agent: a guest (`names`, one unless
   * a copy was renamed; `domain` the first) running on `hosts` at once since `since` — when it is found, and again
   * once per repeat while it lasts (`repeat`). `host` is the first of them.
   */
  | {
      kind: 'domain.running-twice';
      host: string;
      hosts: string[];
      domain: string;
      names: string[];
      since: number;
      repeat: boolean;
      at: number;
    }
  /** It no longer runs on more than one host: `runningOn` the host still running it (none: every copy went). */
  | { kind: 'domain.running-once'; host: string; hosts: string[]; domain: string; names: string[]; runningOn: string[]; at: number }
  | {
      kind: 'host.unreachable';
      host: string;
      reason: string;
      at: number;
      /** Connected but silent this long (a hung host): its SSH connection open, xentop printed nothing. */
      silentMs?: number;
    }
  | { kind: 'host.reachable'; host: string; at: number };

export type FleetEventKind = FleetEvent['kind'];

export interface FleetEventEntry {
  /** The stream entry id (`ms-seq`). */
  id: string;
  event: FleetEvent;
}

/** How long "this host was said to be unreachable" (or a guest crashed) is kept without news of it. */
const UNREACHABLE_MEMORY_SECONDS = 30 * 86_400;

/** Roughly how many events the stream keeps (XADD MAXLEN ~). */
export const FLEET_EVENTS_MAX_LEN = 10_000;

type RawEntry = [id: string, fields: string[] | null];

/** A guest said to run on several hosts at once: its hosts and names (sorted), and since when (epoch ms). */
export interface RunningTwiceSaid {
  hosts: string[];
  names: string[];
  since: number;
  /** Its copies' UUIDs where known (none: absent): what tells it again once a copy is renamed. */
  uuids?: string[];
}

/**
 * KEYS[1] the hash of what was said, KEYS[2] when it was last said; ARGV: key, its `{hosts, names, since}` JSON, the
 * repeat (ms), the hash's expiry (s), and '1' when this is a repeat (else '0'): a repeat only updates a record still
 * there — read as said by a check before another bot said its end, it must not bring the record back. A change of
 * its hosts is said at once, keeping when it began; the same state only once its last saying has expired.
 */
const RUNNING_TWICE = new RedisScript(`local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old and ARGV[5] == '1' then return false end
local value = ARGV[2]
local kind = 'repeat'
if old then
  local was = cjson.decode(old)
  local now = cjson.decode(value)
  if cjson.encode(was['hosts']) ~= cjson.encode(now['hosts']) then kind = 'new' end
  now['since'] = was['since']
  value = cjson.encode(now)
else
  kind = 'new'
end
if kind == 'new' then
  redis.call('HSET', KEYS[1], ARGV[1], value)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
  return 'new'
end
if redis.call('SET', KEYS[2], '1', 'PX', ARGV[3], 'NX') then return 'repeat' end
return false`);

/**
 * KEYS[1] the hash of what was said, KEYS[2] and KEYS[3] when it was last said under ARGV[1] and ARGV[2]; ARGV[3] a
 * JSON object of fields to set (its names, UUIDs). Moves the record from ARGV[1] to ARGV[2] with those fields, its
 * start and last saying kept, in one step: of two bots, the second finds it moved. A record already under ARGV[2]
 * stays and takes the place of ARGV[1]'s. Returns the record now under ARGV[2], or nil when there is none.
 */
const MOVE_RUNNING_TWICE = new RedisScript(`local there = redis.call('HGET', KEYS[1], ARGV[2])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not there and old then
  local record = cjson.decode(old)
  for k, v in pairs(cjson.decode(ARGV[3])) do record[k] = v end
  there = cjson.encode(record)
  redis.call('HSET', KEYS[1], ARGV[2], there)
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl > 0 then redis.call('SET', KEYS[3], '1', 'PX', ttl) end
end
if not there then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return there`);

/**
 * Forgets the group's consumers (KEYS[1] the stream, ARGV[1] the group) other than ARGV[3] that have nothing pending
 * and were idle for at least ARGV[2] ms: each bot start reads as a consumer of its own name, and one that has gone
 * stayed in the group for good. One step, so a consumer is never deleted with entries read since it was looked at
 * (its pending entries would go with it); a live one deleted so is made again by its next read. Returns how many.
 */
const FORGET_IDLE_CONSUMERS = new RedisScript(`local gone = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local f = {}
  for i = 1, #c, 2 do f[c[i]] = c[i + 1] end
  if f['name'] ~= ARGV[3] and tonumber(f['pending']) == 0 and tonumber(f['idle']) >= tonumber(ARGV[2]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], f['name'])
    gone = gone + 1
  end
end
return gone`);

/** A record of the running-twice hash; null when it is not ours to read (taken as never said, and said again). */
function readRunningTwiceSaid(raw: string): RunningTwiceSaid | null {
  try {
    const v = JSON.parse(raw) as Partial<RunningTwiceSaid>;
    if (!Array.isArray(v.hosts) || !Array.isArray(v.names) || typeof v.since !== 'number') return null;
    // Lua's cjson writes an empty list as {}: no UUIDs known.
    return { hosts: v.hosts, names: v.names, since: v.since, ...(Array.isArray(v.uuids) && v.uuids.length > 0 ? { uuids: v.uuids } : {}) };
  } catch {
    return null;
  }
}

/**
 * The fleet events stream and the small markers the samplers share:
 *
 *   `${prefix}:fleet-events`        the stream; each entry has one field `data` = the event as JSON
 *   `${prefix}:mutated:${domain}`   set by the agent after a mutating job on the domain (TTL): changes seen then are
 *                                   xenops' own
 *   `${prefix}:gone:${key}`         host a domain (key = uuid or name) just disappeared from (TTL): an appearance on
 *                                   another host soon after is a migration
 *   `${prefix}:arrived:${key}`      host a domain just appeared on (TTL): the source of a migration then stays quiet
 *   `${prefix}:unreachable:${host}` set while the agents last said the host was unreachable (30 days): an agent that
 *                                   restarts meanwhile still says when it is back, and not again that it is down
 *   `${prefix}:running-twice`       hash: the guests the split-brain watch said run on two hosts at once (names →
 *                                   `{hosts, names, since, uuids?}`), so the bots say each start and end of it once
 *   `${prefix}:running-twice-said:${names}` set when it was last said (TTL: the repeat): said again once it expires
 *
 * Consumers use a group (`ensureGroup`) and `read`/`ack`; `claimStale` takes over what a dead consumer left unacked.
 * `read` with `blockMs` blocks its connection: give this instance a Redis connection of its own for reading (a
 * blocked connection delays every other command queued on it). Appending and the markers need no such care.
 */
export class FleetEventLog {
  /**
   * Per consumer: how far this instance got re-reading the consumer's own pending entries (an entry id), or 'done'.
   * Each pending entry is handed out once this way; one that is never acked comes back through claimStale.
   */
  private readonly resumed = new Map<string, string>();

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  get key(): string {
    return `${this.prefix}:fleet-events`;
  }

  /** Appends an event; returns its entry id. */
  async append(event: FleetEvent): Promise<string> {
    const id = await this.redis.xadd(this.key, 'MAXLEN', '~', FLEET_EVENTS_MAX_LEN, '*', 'data', JSON.stringify(event));
    return id ?? '';
  }

  /** Creates the consumer group (at the stream's end, creating the stream) unless it exists. */
  async ensureGroup(group: string, startId = '$'): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.key, group, startId, 'MKSTREAM');
    } catch (error) {
      if (!(error instanceof Error && error.message.includes('BUSYGROUP'))) throw error;
    }
  }

  /**
   * The next events for this consumer. The first reads of a consumer (per instance: after a restart) return its own
   * entries that were delivered but never acked, each once; then only new entries (`>`), waiting up to blockMs when
   * there are none (0 or absent = do not wait). Entries whose data does not parse (or was trimmed away) are acked
   * and skipped. Entries stay pending until `ack`ed; to retry ones a consumer failed on, `claimStale` them.
   */
  async read(group: string, consumer: string, options: { count: number; blockMs?: number }): Promise<FleetEventEntry[]> {
    const token = `${group}\u0000${consumer}`;
    const cursor = this.resumed.get(token) ?? '0';
    if (cursor !== 'done') {
      const own = await this.readGroup(group, consumer, options.count, undefined, cursor);
      const last = own.at(-1);
      if (last) {
        this.resumed.set(token, last[0]);
        const decoded = await this.decode(group, own);
        if (decoded.length > 0) return decoded;
      } else this.resumed.set(token, 'done');
    }
    return this.decode(group, await this.readGroup(group, consumer, options.count, options.blockMs, '>'));
  }

  async ack(group: string, ids: readonly string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.redis.xack(this.key, group, ...ids);
  }

  /**
   * Takes over entries that some consumer of the group (a dead bot, or this one after a failure) left unacked for
   * at least minIdleMs, and returns them for processing (they are now this consumer's pending entries). The other
   * consumers left with nothing pending and idle as long (bots that have gone) are then forgotten.
   */
  async claimStale(group: string, consumer: string, minIdleMs: number, count = 100): Promise<FleetEventEntry[]> {
    const claimed: RawEntry[] = [];
    let cursor = '0-0';
    // Bounded: XAUTOCLAIM scans at most 10 × COUNT pending entries per call.
    for (let round = 0; round < 10 && claimed.length < count; round++) {
      const reply = (await this.redis.xautoclaim(this.key, group, consumer, minIdleMs, cursor, 'COUNT', count - claimed.length)) as [
        string,
        RawEntry[],
        string[]?,
      ];
      claimed.push(...reply[1]);
      cursor = reply[0];
      if (cursor === '0-0') break;
    }
    await FORGET_IDLE_CONSUMERS.run(this.redis, [this.key], [group, minIdleMs, consumer]);
    return this.decode(group, claimed);
  }

  /** Every event appended at or after epoch ms `ms` (by stream id), oldest first. */
  async since(ms: number): Promise<FleetEvent[]> {
    const entries = (await this.redis.xrange(this.key, `${Math.max(0, Math.floor(ms))}-0`, '+')) as RawEntry[];
    return entries.map(([, fields]) => decodeEvent(fields)).filter((e): e is FleetEvent => e !== null);
  }

  // ------------------------------------------------------------------ markers

  /** Whether the host was last said to be unreachable (host.unreachable appended, no host.reachable since). */
  async wasUnreachable(host: string): Promise<boolean> {
    return (await this.redis.exists(`${this.prefix}:unreachable:${host}`)) === 1;
  }

  async setUnreachable(host: string, unreachable: boolean): Promise<void> {
    const key = `${this.prefix}:unreachable:${host}`;
    // Bounded: a host taken out of the config while down must not be said "reachable again" months later.
    if (unreachable) await this.redis.set(key, String(Date.now()), 'EX', UNREACHABLE_MEMORY_SECONDS);
    else await this.redis.del(key);
  }

  /**
   * The crashes said on a host, by domain name: the crash's identity (the sampler's: its domain id and CPU time). A
   * guest kept crashed (on_crash="preserve") is found crashed by every agent that starts: said once, not at each.
   */
  async crashesSaid(host: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.crashesKey(host))));
  }

  async sayCrashed(host: string, domain: string, crash: string): Promise<void> {
    const key = this.crashesKey(host);
    await this.redis.multi().hset(key, domain, crash).expire(key, UNREACHABLE_MEMORY_SECONDS).exec();
  }

  /** What the split-brain watch said runs on two hosts at once, by its key (its names, as JSON). */
  async runningTwiceSaid(): Promise<Map<string, RunningTwiceSaid>> {
    const out = new Map<string, RunningTwiceSaid>();
    for (const [key, raw] of Object.entries(await this.redis.hgetall(`${this.prefix}:running-twice`))) {
      const said = readRunningTwiceSaid(raw);
      if (said) out.set(key, said);
    }
    return out;
  }

  /**
   * Records that what was said under `from` goes on under `to` (a copy renamed), with `fields` (its names, UUIDs):
   * its start and last saying kept, in one step across bots. The record now under `to`, or null when there is none
   * (another bot said its end).
   */
  async moveRunningTwice(from: string, to: string, fields: Pick<RunningTwiceSaid, 'names' | 'uuids'>): Promise<RunningTwiceSaid | null> {
    const r = await MOVE_RUNNING_TWICE.run(
      this.redis,
      [`${this.prefix}:running-twice`, `${this.prefix}:running-twice-said:${from}`, `${this.prefix}:running-twice-said:${to}`],
      [from, to, JSON.stringify(fields)],
    );
    return typeof r === 'string' ? readRunningTwiceSaid(r) : null;
  }

  /**
   * Records that the guest runs on `hosts` at once, in one step across bots: 'new' when that was not what was said
   * (it began, or its hosts changed), 'repeat' when it was and its last saying is `repeatMs` old, else null (another
   * bot, or this one, said it already).
   */
  async sayRunningTwice(key: string, said: RunningTwiceSaid, repeatMs: number, onlyIfSaid = false): Promise<'new' | 'repeat' | null> {
    const r = await RUNNING_TWICE.run(
      this.redis,
      [`${this.prefix}:running-twice`, `${this.prefix}:running-twice-said:${key}`],
      [key, JSON.stringify(said), Math.max(1, Math.round(repeatMs)), UNREACHABLE_MEMORY_SECONDS, onlyIfSaid ? '1' : '0'],
    );
    return r === 'new' || r === 'repeat' ? r : null;
  }

  /** Records that it ended: true for the one bot whose call removed it (that bot says so). */
  async sayRunningOnce(key: string): Promise<boolean> {
    const [[, removed]] = (await this.redis
      .multi()
      .hdel(`${this.prefix}:running-twice`, key)
      .del(`${this.prefix}:running-twice-said:${key}`)
      .exec()) as [[null, number], [null, number]];
    return Number(removed) === 1;
  }

  private crashesKey(host: string): string {
    return `${this.prefix}:crashed:${host}`;
  }

  mutationKey(domain: string): string {
    return `${this.prefix}:mutated:${domain}`;
  }

  /** Records that a xenops job just changed (or may have changed) the domain. */
  async markMutation(domain: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.mutationKey(domain), String(Date.now()), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async mutatedRecently(domain: string): Promise<boolean> {
    return (await this.redis.exists(this.mutationKey(domain))) === 1;
  }

  /** Records the host a domain just disappeared from, under each key (its uuid and/or name). */
  async markGone(keys: readonly string[], host: string, ttlMs: number): Promise<void> {
    await this.mark('gone', keys, host, ttlMs);
  }

  /** The host a domain recently disappeared from (first key that has one), or null. */
  async goneFrom(keys: readonly string[]): Promise<string | null> {
    return this.marked('gone', keys);
  }

  /** Records the host a domain just appeared on. */
  async markArrived(keys: readonly string[], host: string, ttlMs: number): Promise<void> {
    await this.mark('arrived', keys, host, ttlMs);
  }

  /** The host a domain recently appeared on, or null. */
  async arrivedAt(keys: readonly string[]): Promise<string | null> {
    return this.marked('arrived', keys);
  }

  private async mark(kind: 'gone' | 'arrived', keys: readonly string[], host: string, ttlMs: number): Promise<void> {
    if (keys.length === 0) return;
    const multi = this.redis.multi();
    for (const k of keys) multi.set(`${this.prefix}:${kind}:${k}`, host, 'PX', Math.max(1, Math.round(ttlMs)));
    await multi.exec();
  }

  private async marked(kind: 'gone' | 'arrived', keys: readonly string[]): Promise<string | null> {
    if (keys.length === 0) return null;
    const values = await this.redis.mget(...keys.map((k) => `${this.prefix}:${kind}:${k}`));
    return values.find((v): v is string => typeof v === 'string' && v !== '') ?? null;
  }

  private async readGroup(group: string, consumer: string, count: number, blockMs: number | undefined, from: string): Promise<RawEntry[]> {
    const args: (string | number)[] = ['GROUP', group, consumer, 'COUNT', Math.max(1, count)];
    if (blockMs !== undefined && blockMs > 0 && from === '>') args.push('BLOCK', blockMs);
    args.push('STREAMS', this.key, from);
    const reply = (await this.redis.call('XREADGROUP', ...args)) as [string, RawEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Parses entries; acks and drops those that do not parse. */
  private async decode(group: string, entries: readonly RawEntry[]): Promise<FleetEventEntry[]> {
    const good: FleetEventEntry[] = [];
    const bad: string[] = [];
    for (const [id, fields] of entries) {
      const event = decodeEvent(fields);
      if (event) good.push({ id, event });
      else bad.push(id);
    }
    if (bad.length > 0) await this.ack(group, bad);
    return good;
  }
}

function decodeEvent(fields: string[] | null): FleetEvent | null {
  if (!fields) return null;
  const i = fields.indexOf('data');
  const raw = i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
  if (raw === undefined) return null;
  try {
    const v = JSON.parse(raw) as Partial<FleetEvent> | null;
    if (!v || typeof v !== 'object' || typeof v.kind !== 'string' || typeof v.host !== 'string' || !isTime(v.at)) return null;
    if (v.kind.startsWith('domain.') && typeof (v as { domain?: unknown }).domain !== 'string') return null;
    return v as FleetEvent;
  } catch {
    return null;
  }
}

/** A time a Date can hold: `1e400` is valid JSON (Infinity), and every alert shows its time. */
function isTime(at: unknown): at is number {
  return typeof at === 'number' && Number.isFinite(at) && Math.abs(at) <= 8.64e15;
}
