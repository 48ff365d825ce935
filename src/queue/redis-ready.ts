import type { Logger } from '../core/log.ts';
import { redactSecrets } from '../core/log.ts';
import { withTimeout } from '../core/with-timeout.ts';
import type { RedisClient } from './redis-connection.ts';

/** waitForRedis was called off (its `signal` aborted) before Redis answered. */
export class RedisWaitAborted extends Error {
  override readonly name = 'RedisWaitAborted';
}

/**
 * Waits until the client is connected, saying so at error level (with the URL, password redacted) on every
 * failed attempt, and through `onWaiting` (the terminal prints it). ioredis retries with its own backoff. Rejects with
 * RedisWaitAborted once `signal` aborts (a process told to stop while it waits).
 */
export async function waitForRedis(
  redis: RedisClient,
  url: string,
  logger: Logger,
  { onWaiting, signal }: { onWaiting?: ((line: string) => void) | undefined; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  if (redis.status === 'ready') return;
  const shown = redactSecrets(url);
  let attempts = 0;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      attempts++;
      const line = `waiting for Redis at ${shown} (${error.message || 'unreachable'}); retrying (attempt ${attempts})`;
      logger.error({ redis: shown, attempt: attempts }, line);
      onWaiting?.(line);
    };
    const done = () => {
      redis.off('error', onError);
      redis.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReady = () => {
      done();
      if (attempts > 0) logger.warn({ redis: shown }, 'Redis is reachable again');
      resolve();
    };
    const onAbort = () => {
      done();
      reject(new RedisWaitAborted(`stopped while waiting for Redis at ${shown}`));
    };
    redis.on('error', onError);
    redis.once('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (redis.status === 'ready') onReady();
    else if (signal?.aborted) onAbort();
  });
}

/** One 'ready' listener per client, however many wait on it (a burst of requests as Redis comes back). */
const nextReady = new WeakMap<RedisClient, Promise<void>>();

/**
 * Whether the client is connected, or gets there within `ms` while it (re)connects (a connection that lost Redis a
 * moment ago, the others already back); false at once when it is not trying (never connected, or closed for good).
 */
export async function readyWithin(redis: RedisClient, ms: number): Promise<boolean> {
  if (redis.status === 'ready') return true;
  // Anything else is a step of connecting or reconnecting (a Cluster passes through `close` and `disconnecting`).
  if (redis.status === 'wait' || redis.status === 'end') return false;
  let ready = nextReady.get(redis);
  if (!ready) {
    ready = new Promise<void>((resolve) => redis.once('ready', () => resolve()));
    nextReady.set(redis, ready);
    void ready.then(() => nextReady.delete(redis));
  }
  return withTimeout(ready, ms, 'not ready in time').then(
    () => true,
    () => false,
  );
}
