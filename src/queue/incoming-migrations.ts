import type { RedisClient } from './redis-connection.ts';
import { RedisScript } from './redis-script.ts';

/**
 * One plan migration arriving at a host at a time, fleet-wide: the hold a plan's step (a migration with keepFreeMiB)
 * takes on its target from its free-memory check until its migration's read-back. Two steps on two agents would
 * otherwise read the same free_memory at the same moment — before either copy is built there — and both be sent,
 * together leaving the target less than the reserve. A step holds one target and nothing else but its own domain
 * (taken before, by the bot), and a holder never waits for a domain: no two steps can wait for each other.
 */

/** Who holds a target: shown to the step that waits for it, and in its refusal. */
export interface IncomingHolder {
  /**
   * This run of the step, unique: two runs of one job (BullMQ handing it out again while its first run goes on) must
   * not take or let go of each other's hold.
   */
  token: string;
  requestId: string;
  person: string;
  /** The chat command (`evacuate`, `rebalance`). */
  command: string;
  domain: string;
  /** The source host. */
  host: string;
  target: string;
  /** Epoch ms when it was taken. */
  since: number;
}

export type IncomingResult = { ok: true } | { ok: false; holder: IncomingHolder | null };

// Taken when free (or already this run's).
const ACQUIRE = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local ok, cur = pcall(cjson.decode, v)
  if not ok or cur['token'] ~= ARGV[2] then return v end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`);

const RENEW = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, cur = pcall(cjson.decode, v)
if ok and cur['token'] == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`);

const RELEASE = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, cur = pcall(cjson.decode, v)
if ok and cur['token'] == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`);

/**
 * The holds, one key per target under the hash-tagged prefix, each with a TTL the holder renews: a dead agent's hold
 * lapses on its own (its migration, if sent, is counted by the target's free_memory from then on).
 */
export class IncomingMigrations {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  key(target: string): string {
    return `${this.prefix}:incoming:${target}`;
  }

  async acquire(holder: IncomingHolder, ttlMs: number): Promise<IncomingResult> {
    const r = (await ACQUIRE.run(this.redis, [this.key(holder.target)], [JSON.stringify(holder), holder.token, String(ttlMs)])) as
      | number
      | string;
    if (r === 1) return { ok: true };
    return { ok: false, holder: parseHolder(String(r)) };
  }

  async renew(target: string, token: string, ttlMs: number): Promise<boolean> {
    return (await RENEW.run(this.redis, [this.key(target)], [token, String(ttlMs)])) === 1;
  }

  async release(target: string, token: string): Promise<boolean> {
    return (await RELEASE.run(this.redis, [this.key(target)], [token])) === 1;
  }
}

/** "db from xen4 (bob's /evacuate, request tg-42, since 12:00:03 UTC)", or "another migration" when unreadable. */
export function describeIncoming(holder: IncomingHolder | null): string {
  if (!holder) return 'another migration';
  const since = Number.isFinite(holder.since) ? `, since ${new Date(holder.since).toISOString().slice(11, 19)} UTC` : '';
  return `${holder.domain} from ${holder.host} (${holder.person}'s /${holder.command}, request ${holder.requestId}${since})`;
}

function parseHolder(v: string): IncomingHolder | null {
  try {
    return JSON.parse(v) as IncomingHolder;
  } catch {
    return null;
  }
}
