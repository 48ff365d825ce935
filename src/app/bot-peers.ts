import { hostname } from 'node:os';
import type { RedisClient } from '../queue/redis-connection.ts';
import { RedisScript } from '../queue/redis-script.ts';

/**
 * The bots running on one prefix, each with its config's hosts. Bots on one prefix must have the same hosts: each
 * recovers every pending request, and one without a host withdraws the jobs waiting there — another bot's too. So a
 * bot whose hosts differ from a running bot's is refused at start, before it recovers anything.
 *
 * One hash, `PREFIX:bots`: a field per running bot (its instance) with its hosts and until when it counts as running,
 * on Redis's clock (TIME in the scripts: the bots' clocks need not agree). Each bot writes its own every few seconds
 * and deletes it on a graceful stop; a killed one lapses after `ttlMs`. Reads drop lapsed fields, and the hash expires
 * with the last bot.
 */

/** The live fields of the others (lapsed ones deleted), as `{ who, hosts }` JSON strings. */
const OTHERS = new RedisScript(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, v = pcall(cjson.decode, all[i + 1])
  if not ok or type(v) ~= 'table' or tonumber(v.untilMs) == nil or tonumber(v.untilMs) <= now then
    redis.call('HDEL', KEYS[1], all[i])
  elseif all[i] ~= ARGV[1] then
    table.insert(out, all[i + 1])
  end
end
return out`);

/** The instances of every bot running (this one's too), by their live fields. */
const LIVE = new RedisScript(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, v = pcall(cjson.decode, all[i + 1])
  if ok and type(v) == 'table' and tonumber(v.untilMs) ~= nil and tonumber(v.untilMs) > now then table.insert(out, all[i]) end
end
return out`);

/** This bot's field, good for ARGV[3] ms from now; the hash lives as long as its newest field. */
const WRITE = new RedisScript(`local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({ who = ARGV[2], hosts = cjson.decode(ARGV[4]), untilMs = now + ttl }))
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1`);

/** How the hosts of two bots differ (sorted); null when they are the same. */
export function hostsDifference(mine: readonly string[], theirs: readonly string[]): { theyOnly: string[]; mineOnly: string[] } | null {
  const a = new Set(mine);
  const b = new Set(theirs);
  const theyOnly = [...b].filter((h) => !a.has(h)).sort();
  const mineOnly = [...a].filter((h) => !b.has(h)).sort();
  return theyOnly.length === 0 && mineOnly.length === 0 ? null : { theyOnly, mineOnly };
}

/** The refusal, naming the other bot and the hosts that differ (host names are the config's, never secret). */
export function differentHostsMessage(who: string, diff: { theyOnly: string[]; mineOnly: string[] }, ttlMs: number): string {
  const parts: string[] = [];
  if (diff.theyOnly.length > 0) parts.push(`it has ${diff.theyOnly.join(', ')}, which this config lacks`);
  if (diff.mineOnly.length > 0) parts.push(`this config has ${diff.mineOnly.join(', ')}, which it lacks`);
  return (
    `another bot on this prefix serves other hosts: ${parts.join('; ')}; bots on one prefix must have the same hosts ` +
    `(each withdraws the jobs waiting on a host it lacks). The other bot is ${who}; change the hosts of every bot ` +
    `together: stop them all, then start them (one killed counts as running for ${Math.round(ttlMs / 1000)} s)`
  );
}

export class HostsDifferError extends Error {
  override readonly name = 'HostsDifferError';
}

export class BotPeers {
  private readonly who = `${hostname()}:${process.pid}`;
  private joined = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly instance: string,
    private readonly hosts: readonly string[],
    private readonly ttlMs: number,
  ) {}

  private get key(): string {
    return `${this.prefix}:bots`;
  }

  /** Checks the running bots' hosts against this one's, then counts this bot in. Throws HostsDifferError. */
  async join(): Promise<void> {
    const others = (await OTHERS.run(this.redis, [this.key], [this.instance])) as string[];
    for (const raw of others) {
      const other = JSON.parse(raw) as { who?: unknown; hosts?: unknown };
      // cjson writes an empty array as an empty object: no hosts.
      const theirs = Array.isArray(other.hosts) ? other.hosts.filter((h): h is string => typeof h === 'string') : [];
      const diff = hostsDifference(this.hosts, theirs);
      if (diff) throw new HostsDifferError(differentHostsMessage(String(other.who ?? 'unknown'), diff, this.ttlMs));
    }
    await this.write();
    this.joined = true;
  }

  /** Still running: written again (also after Redis lost its data). Nothing before join() or after leave(). */
  async renew(): Promise<void> {
    if (this.joined) await this.write();
  }

  private async write(): Promise<void> {
    await WRITE.run(this.redis, [this.key], [this.instance, this.who, this.ttlMs, JSON.stringify([...this.hosts].sort())]);
  }

  /**
   * The instances of the bots running now, this one's among them once joined: one stopped is gone at once, one killed
   * once its field lapses (`ttlMs`). A process-local request (the terminal) whose bot is not among them is nobody's.
   */
  async live(): Promise<ReadonlySet<string>> {
    return new Set((await LIVE.run(this.redis, [this.key], [])) as string[]);
  }

  /** A graceful stop: another bot may start with other hosts at once. */
  async leave(): Promise<void> {
    if (!this.joined) return;
    this.joined = false;
    await this.redis.hdel(this.key, this.instance);
  }
}
