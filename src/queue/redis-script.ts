import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-connection.ts';

/**
 * A Lua script run by its SHA-1 (EVALSHA), sent whole only when Redis does not know it (NOSCRIPT: a restart, SCRIPT
 * FLUSH). EVAL sends the script each time and Redis hashes it each time: for the outcome script, run once per job of
 * a /status over 1,000 hosts, ~0.1 ms of Redis's only thread a call.
 */
export class RedisScript {
  readonly sha: string;

  constructor(readonly lua: string) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!String(error).includes('NOSCRIPT')) throw error;
      return await redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
