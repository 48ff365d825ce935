import type { Logger } from '../core/log.ts';
import { redactSecrets } from '../core/log.ts';
import type { RedisClient } from './redis-connection.ts';

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
 * Whether the client is connected, or gets there within `ms` while it reconnects (a connection that lost Redis a
 * moment ago, the others already back); false at once when it is not trying.
 */
export async function readyWithin(redis: RedisClient, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  if (redis.status !== 'connecting' && redis.status !== 'reconnecting' && redis.status !== 'connect') return false;
  let timer: NodeJS.Timeout | undefined;
  let onReady = () => {};
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      onReady = () => resolve(true);
      redis.once('ready', onReady);
    }),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  redis.off('ready', onReady);
  return ready;
}
