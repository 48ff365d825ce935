import { HostKeyError, OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import { CommandTimeoutError, describeTimeout } from '../ssh/deadline.ts';

/**
 * A command that had no answer: the pool stopped waiting for it (its timeout), or the connection went. The two call
 * for different words and different retries. The pool's CommandTimeoutError says so as a field; a runner of another
 * kind (a scripted one in tests) by its message ("… did not finish within N s"). Anywhere in the error's cause chain.
 * @returns the milliseconds the pool waited, or null when the command did not time out
 */
export function timedOutAfter(error: unknown): number | null {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof CommandTimeoutError) return e.timeoutMs;
    if (!(e instanceof OutcomeUnknownError)) continue;
    const match = /did not finish within (\d+) (ms|s)\b/.exec(e.message);
    if (match) return Number(match[1]) * (match[2] === 's' ? 1000 : 1);
  }
  return null;
}

/**
 * Runs a read-only command (or batch). One more try when its connection was lost or could not be made: the pool has
 * dropped the connection, so the try opens a fresh one. Not after a timeout: the host answered nothing for the whole
 * of it, and waiting as long again would outlast the bot's own read timeout (with the defaults, 2 × 30 s against
 * 60 s), so the bot would blame the agent for the host's hung toolstack. Fails as a read (a TransportError, never an
 * unknown outcome): nothing was sent that could change the host.
 */
export async function readWithRetry<T>(host: string, once: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  try {
    return await once();
  } catch (first) {
    if (!worthAnotherTry(first) || signal?.aborted) throw asReadFailure(host, first, false);
    try {
      return await once();
    } catch (second) {
      throw asReadFailure(host, second, true);
    }
  }
}

function worthAnotherTry(error: unknown): boolean {
  return error instanceof TransportError && !(error instanceof HostKeyError) && timedOutAfter(error) === null;
}

function asReadFailure(host: string, error: unknown, retried: boolean): unknown {
  if (!(error instanceof TransportError) || error instanceof HostKeyError) return error;
  const reason = error.message.replace(/;? its outcome is unknown$/, '');
  return new TransportError(host, retried ? `${reason} (tried twice)` : reason, { cause: error });
}

/**
 * How a mutating command that was sent ended without an answer, to open the message that then says what was read back:
 * "xl create did not finish within 30 s on xen1" or "lost the connection to xen1 while xl create ran" (`during`
 * replaces "xl create ran" there).
 */
export function describeNoAnswer(error: OutcomeUnknownError, host: string, what: string, during = `${what} ran`): string {
  const ms = timedOutAfter(error);
  return ms === null ? `lost the connection to ${host} while ${during}` : `${what} did not finish within ${describeTimeout(ms)} on ${host}`;
}
