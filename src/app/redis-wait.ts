import { ReplyError } from 'ioredis';
import { REDIS_COMMAND_TIMEOUT_MS } from '../queue/redis-connection.ts';
import { RedisUnavailableError } from './ensure-redis.ts';

/** Thrown (and answered "Redis is unreachable; nothing was queued") when Redis cannot take a request. */
export { RedisUnavailableError };

/** ioredis' own words for "not connected": these become a RedisUnavailableError, never an "internal error". */
const CONNECTION_ERRORS =
  /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|max retries per request|enableOfflineQueue|Stream isn't writeable|ETIMEDOUT|timed out waiting for Redis|CLUSTERDOWN|Failed to refresh slots cache/i;

/**
 * Redis did not answer a command in time (ioredis's commandTimeout): connected, but silent. Unlike a refused
 * connection, the command may still be carried out when Redis answers again.
 */
export function isRedisSilent(error: unknown): boolean {
  return error instanceof Error && error.message === 'Command timed out';
}

export function isRedisDown(error: unknown): boolean {
  if (error instanceof RedisUnavailableError) return true;
  return CONNECTION_ERRORS.test(error instanceof Error ? error.message : String(error));
}

/** Redis answered but refused to do the work: said to the user in xenops' words, never Redis's. */
export interface RedisRefusal {
  title: string;
  why: string;
}

/**
 * An error code where Redis puts one: at the start of its reply, or where a script's error quotes the command's
 * (Redis 6: `ERR Error running script …: @user_script:12: -READONLY …`). Not anywhere in it: a reply may quote a
 * key or an argument, and those can hold chat text.
 */
function code(alternatives: string): RegExp {
  return new RegExp(`(?:^|: -)(?:${alternatives})\\b`);
}

/**
 * Redis's own refusals of a write, most specific first.
 * Each is a state of the server the operators must change; none is an error of xenops'.
 */
const REFUSALS: readonly (RedisRefusal & { re: RegExp })[] = [
  {
    re: code('OOM command not allowed'),
    title: 'Redis is full',
    why: 'Redis has reached its maxmemory and refuses every write (BullMQ needs the noeviction policy): the operators must free memory or raise maxmemory',
  },
  {
    re: code('READONLY'),
    title: 'Redis is read-only',
    why: 'the Redis xenops writes to is a read-only replica (a failover under way, or the wrong server)',
  },
  {
    re: code('MISCONF'),
    title: 'Redis refuses writes',
    why: 'Redis cannot save its data to disk and refuses writes until it can',
  },
  {
    re: code('MASTERDOWN|NOREPLICAS'),
    title: 'Redis refuses writes',
    why: 'Redis has lost the master or the replicas it must write with',
  },
  { re: code('LOADING'), title: 'Redis is starting', why: 'Redis is still loading its data; try again in a moment' },
  { re: code('NOPERM'), title: 'Redis refused xenops', why: 'the Redis user xenops logs in as lacks a permission it needs (ACL)' },
];

/**
 * What Redis refused, when it answered a command with one of the refusals above (or did not answer it in time): for a MULTI it discarded whole
 * (EXECABORT), the refusal of the command that made it do so. Null for anything else — also for a transaction that
 * failed only as it ran, which may have done part of its work (the caller wraps those in a plain Error).
 */
export function redisRefusal(error: unknown): RedisRefusal | null {
  // Not a refusal Redis gave, but answered as one: what was sent may be done when Redis answers again, or not.
  if (isRedisSilent(error))
    return { title: 'Redis is not answering', why: `Redis has not answered for ${REDIS_COMMAND_TIMEOUT_MS / 1000} s` };
  if (!(error instanceof ReplyError)) return null;
  const { message, previousErrors } = error as Error & { previousErrors?: unknown[] };
  const texts = message.startsWith('EXECABORT')
    ? (previousErrors ?? []).map((e) => (e instanceof Error ? e.message : String(e)))
    : [message];
  for (const text of texts) {
    const found = REFUSALS.find((r) => r.re.test(text));
    if (found) return { title: found.title, why: found.why };
  }
  return null;
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
