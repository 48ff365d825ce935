import type { RedisClient } from './redis-connection.ts';
import { RedisScript } from './redis-script.ts';

/**
 * A key holding one JSON record, owned by the value of one of its fields (a domain lock's requestId, an incoming
 * migration's run token), with a TTL its owner renews: taken when free or already the owner's, renewed and let go
 * only by its owner. Domain locks and incoming-migration holds are both this; ARGV names the owning field.
 */

// Taken when free, or when the owner already holds it (a redelivered event, a resumed job): 1, else what holds it.
const ACQUIRE = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if v then
  local ok, cur = pcall(cjson.decode, v)
  if not ok or cur[ARGV[4]] ~= ARGV[2] then return v end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
return 1`);

const RENEW = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, cur = pcall(cjson.decode, v)
if ok and cur[ARGV[3]] == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`);

const RELEASE = new RedisScript(`
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, cur = pcall(cjson.decode, v)
if ok and cur[ARGV[2]] == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0`);

export type OwnedResult<T> = { ok: true } | { ok: false; holder: T | null };

/** The records of one kind, owned by `field` (a string field of T). */
export class OwnedKeys<T extends object> {
  constructor(
    private readonly redis: RedisClient,
    private readonly field: keyof T & string,
  ) {}

  async acquire(key: string, record: T, ttlMs: number): Promise<OwnedResult<T>> {
    const owner = String(record[this.field]);
    const r = (await ACQUIRE.run(this.redis, [key], [JSON.stringify(record), owner, String(ttlMs), this.field])) as number | string;
    if (r === 1) return { ok: true };
    return { ok: false, holder: parseRecord<T>(String(r)) };
  }

  async renew(key: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await RENEW.run(this.redis, [key], [owner, String(ttlMs), this.field])) === 1;
  }

  async release(key: string, owner: string): Promise<boolean> {
    return (await RELEASE.run(this.redis, [key], [owner, this.field])) === 1;
  }

  async holder(key: string): Promise<T | null> {
    const v = await this.redis.get(key);
    return v ? parseRecord<T>(v) : null;
  }
}

/** A record as stored, or null when it is not JSON (written by hand, or cut). */
function parseRecord<T>(v: string): T | null {
  try {
    return JSON.parse(v) as T;
  } catch {
    return null;
  }
}
