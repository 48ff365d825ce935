import type { Redis } from 'ioredis';
import { Heartbeats } from '../../src/queue/coordination.ts';

export { deleteKeysWithPrefix } from '../../src/app/redis-keys.ts';

export const REDIS_URL = process.env['REDIS_URL'] || 'redis://127.0.0.1:6379';

/** A hash-tagged key prefix of its own for each test run, so runs never see each other's queues. */
export function uniquePrefix(): string {
  return `{xenops-test-${Math.random().toString(36).slice(2, 10)}}`;
}

export interface MonitoredCall {
  /** Command and arguments as the client sent them (a script's own calls have source `lua`). */
  args: string[];
  source: string;
}

/**
 * Redis's own view of the commands it runs (MONITOR, on a socket of its own; ioredis's monitor mode misreads lines
 * that arrive around its own state changes): what a test counts to show how many round trips something takes.
 * `settle()` resolves once every command sent before it has been reported.
 */
export async function monitorRedis(url = REDIS_URL): Promise<{ calls: MonitoredCall[]; settle(): Promise<void>; stop(): void }> {
  const { createConnection } = await import('node:net');
  const { Redis } = await import('ioredis');
  const { hostname, port } = new URL(url);
  const socket = createConnection({ host: hostname, port: Number(port || 6379) });
  const probe = new Redis(url);
  const calls: MonitoredCall[] = [];
  const marks = new Map<string, () => void>();
  let buffered = '';
  const started = new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.setEncoding('latin1').on('data', (chunk: string) => {
      buffered += chunk;
      let end = buffered.indexOf('\r\n');
      while (end >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf('\r\n');
        if (line === '+OK') resolve();
        const m = /^\+[\d.]+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
        if (!m) continue;
        const args = [...(m[2] as string).matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((a) => (a[1] as string).replace(/\\(["\\])/g, '$1'));
        const mark = args[0]?.toLowerCase() === 'echo' ? marks.get(args[1] ?? '') : undefined;
        if (mark) mark();
        else calls.push({ args, source: m[1] as string });
      }
    });
  });
  socket.write('MONITOR\r\n');
  await started;
  return {
    calls,
    async settle() {
      // Redis reports commands in the order it runs them: once this one is reported, every earlier one is.
      const mark = `settle-${Math.random().toString(36).slice(2)}`;
      const seen = new Promise<void>((resolve) => marks.set(mark, resolve));
      await probe.echo(mark);
      await seen;
      marks.delete(mark);
    },
    stop() {
      socket.destroy();
      probe.disconnect();
    },
  };
}

/** A heartbeat says an agent serves these hosts (for the next minute), though none takes their jobs: they wait. */
export async function seemServed(redis: Redis, prefix: string, hosts: string[]): Promise<void> {
  await new Heartbeats(redis, prefix).beat(hosts, { agentId: 'test', where: 'test', seenAt: Date.now() + 60_000 });
}
