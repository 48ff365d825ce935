import type { Telegraf } from 'telegraf';
import { type Logger, redactSecrets } from '../../core/log.ts';
import { type RetryPolicy, retryDelayMs } from './api-errors.ts';

/** telegraf's per-call options; its type names the abort-controller shim's signal, node-fetch takes Node's own. */
export type CallOptions = Parameters<Telegraf['telegram']['callApi']>[2];

/** Retries for the calls before updates flow: bounded, so that a start against a dead API fails in about 30 s. */
export const START_RETRY_POLICY: RetryPolicy = { rateLimited: 3, transient: 4, maxBackoffMs: 16_000 };

/** Waits `ms`, or less when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

/**
 * One Bot API call (`call` passes the options to callApi), abandoned when `signal` aborts or after `limitMs`:
 * telegraf's own limit is 500 s, long enough for a dead connection to hold up a start or a stop.
 */
export async function boundedCall<T>(
  what: string,
  call: (options: CallOptions) => Promise<T>,
  signal: AbortSignal,
  limitMs: number,
): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  signal.addEventListener('abort', abort);
  const timer = setTimeout(abort, limitMs);
  try {
    return await call({ signal: controller.signal } as unknown as CallOptions);
  } catch (error) {
    if (controller.signal.aborted && !signal.aborted) throw new Error(`telegram ${what} got no answer in ${limitMs / 1000} s`);
    throw error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', abort);
  }
}

/**
 * An idempotent call until it succeeds, each try bounded (`limitMs`), waiting between tries as `retryDelayMs` says
 * (429s and transient failures, a bounded number of times). Throws its last error, or a "stopped" error once `signal`
 * aborts.
 */
export async function callWithRetries<T>(
  what: string,
  call: (options: CallOptions) => Promise<T>,
  signal: AbortSignal,
  logger: Logger,
  limitMs = 15_000,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (signal.aborted) throw new Error(`telegram stopped before ${what} succeeded`);
    try {
      return await boundedCall(what, call, signal, limitMs);
    } catch (error) {
      if (signal.aborted) throw new Error(`telegram stopped before ${what} succeeded`);
      const delay = retryDelayMs(error, attempt, true, START_RETRY_POLICY);
      if (delay === null) throw error;
      logger.warn({ err: redactSecrets(String(error)), retryInMs: delay }, `telegram ${what} failed; trying again`);
      await pause(delay, signal);
    }
  }
}
