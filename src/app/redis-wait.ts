import type { Logger } from '../core/log.ts';
import { redactSecrets } from '../core/log.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
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
 * Waits until the client is connected, saying so at error level (with the URL, password redacted) on every
 * failed attempt, and through `onWaiting` (the terminal prints it). ioredis retries with its own backoff.
 */
export async function waitForRedis(redis: RedisClient, url: string, logger: Logger, onWaiting?: (line: string) => void): Promise<void> {
  if (redis.status === 'ready') return;
  const shown = redactSecrets(url);
  let attempts = 0;
  await new Promise<void>((resolve) => {
    const onError = (error: Error) => {
      attempts++;
      const line = `waiting for Redis at ${shown} (${error.message || 'unreachable'}); retrying (attempt ${attempts})`;
      logger.error({ redis: shown, attempt: attempts }, line);
      onWaiting?.(line);
    };
    const onReady = () => {
      redis.off('error', onError);
      if (attempts > 0) logger.warn({ redis: shown }, 'Redis is reachable again');
      resolve();
    };
    redis.on('error', onError);
    redis.once('ready', onReady);
    if (redis.status === 'ready') onReady();
  });
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
