import { RedisUnavailableError } from './ensure-redis.ts';

/** Thrown (and answered "Redis is unreachable; nothing was queued") when Redis cannot take a request. */
export { RedisUnavailableError };

/** ioredis' own words for "not connected": these become a RedisUnavailableError, never an "internal error". */
const CONNECTION_ERRORS =
  /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|max retries per request|enableOfflineQueue|Stream isn't writeable|ETIMEDOUT|timed out waiting for Redis|CLUSTERDOWN|Failed to refresh slots cache/i;

export function isRedisDown(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  return CONNECTION_ERRORS.test(error instanceof Error ? error.message : String(error));
}

/**
 * Waits for closes at most `ms`: after a Redis restart BullMQ's QueueEvents.close() can wait forever for a
 * connection end that never comes, and a stopping process must not hang on it.
 */
export async function settleWithin(ms: number, work: Promise<unknown>[]): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(work),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
