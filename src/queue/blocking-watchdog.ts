import type { RedisClient } from './redis-connection.ts';

/**
 * A blocking command (XREAD BLOCK, BZPOPMIN) raced against a watchdog set `graceMs` past its own timeout. It answers
 * 'stuck' only when the command has not answered on a connection ioredis takes for up: a half-open connection (a
 * network blip no error reports), or a command ioredis re-sent after a reconnect that never answers (BullMQ #4479);
 * the caller then resets the connection. While ioredis reconnects it re-sends the command itself, so it is waited
 * for (abandoning commands then would only pile them up). `running() === false` ends the wait as stuck.
 */
export async function watchBlocking<T>(
  client: RedisClient,
  command: Promise<T>,
  timeoutMs: number,
  graceMs: number,
  running: () => boolean,
): Promise<T | 'stuck'> {
  command.catch(() => {});
  for (;;) {
    let watchdog: NodeJS.Timeout | undefined;
    const stuck = new Promise<'stuck'>((resolve) => {
      watchdog = setTimeout(() => resolve('stuck'), timeoutMs + graceMs);
    });
    try {
      const outcome = await Promise.race([command, stuck]);
      if (outcome !== 'stuck' || client.status === 'ready' || !running()) return outcome;
    } finally {
      clearTimeout(watchdog);
    }
  }
}
