import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-connection.ts';

/** ioredis's words for a command its commandTimeout gave up on. */
export const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * ioredis's command timeout gives up on a command and keeps its connection: one gone silent while open (a NAT or
 * firewall that forgot it) ends only with TCP's retransmission timeout, some 15 minutes in which every command fails
 * though a new connection would work at once. Only timeouts, in a row, for far longer than a Redis restart's or a busy
 * Redis's silence, count: a Redis that answers late on the same connection is waited for. Any other error means the
 * connection is not silent (ioredis reconnects by itself when it closes).
 *
 * Fed the outcomes of a periodic command (the agent's heartbeat, the bot's "still running" write) on monotonic
 * milliseconds; no I/O of its own.
 */
export class SilentConnection {
  /** When the first of the commands timed out in a row was sent, or null. */
  private timingOutSince: number | null = null;

  constructor(private readonly silentMs: number) {}

  /** A command answered: the connection is not silent. */
  answered(): void {
    this.timingOutSince = null;
  }

  /**
   * A command sent at `sentAt` failed with `error` (`now` is after): how long the connection has only timed out when
   * that is silentMs or more — time to replace it, and the count starts again — else null.
   */
  failed(error: unknown, sentAt: number, now: number): number | null {
    if (!(error instanceof Error) || error.message !== COMMAND_TIMED_OUT) {
      this.timingOutSince = null;
      return null;
    }
    this.timingOutSince ??= sentAt;
    const silentFor = now - this.timingOutSince;
    if (silentFor < this.silentMs) return null;
    this.timingOutSince = null;
    return silentFor;
  }
}

/**
 * Replaces a connection found silent (see SilentConnection) in place: the client stays, so whatever holds it (stores,
 * a Queue) goes on with it. The commands still awaiting a reply on it are rejected first as timed out, the error their
 * callers already read as "Redis did not answer": left queued, ioredis would write them again on the new connection
 * (autoResendUnfulfilledCommands), and a write its caller had given up on would land after the asker was told it
 * failed. Turning that option off on the client instead would change every reconnect (a restarted Redis's in-flight
 * commands would wait out their timeout instead of being sent again) and be inherited by clients duplicated from it,
 * whose blocking waits have no timeout; flushQueue (ioredis's own, private in its types) drops just these.
 * disconnect(true) ends the socket, destroys it after ioredis's disconnectTimeout (2 s) if the far end never answers,
 * and connects again; a Cluster drops its nodes and finds them again.
 */
export function replaceSilentConnection(redis: RedisClient): void {
  for (const node of redis instanceof Cluster ? redis.nodes() : [redis])
    (node as unknown as Flushable).flushQueue?.(new Error(COMMAND_TIMED_OUT), { offlineQueue: false });
  redis.disconnect(true);
}

interface Flushable {
  flushQueue?: (error: Error, options: { offlineQueue: boolean }) => void;
}
