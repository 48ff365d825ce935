import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisHandle {
  url: string;
  /** True when this process started a private redis-server that stop() ends. */
  private: boolean;
  stop(): Promise<void>;
}

/** Answers PING within a short time? Used to decide whether the demo must start its own Redis. */
export async function redisAnswers(url: string, timeoutMs = 1500): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export class RedisUnavailableError extends Error {
  override readonly name = 'RedisUnavailableError';
}

/**
 * The demo's Redis: REDIS_URL when set (it must answer), else the default local one, else a private
 * redis-server from PATH on a free loopback port in a temporary directory (no persistence), stopped on exit.
 */
export async function ensureRedis(
  env: NodeJS.ProcessEnv = process.env,
  options: { defaultUrl?: string; redisServer?: string } = {},
): Promise<RedisHandle> {
  const explicit = env['REDIS_URL'];
  const url = explicit || (options.defaultUrl ?? DEFAULT_REDIS_URL);
  if (await redisAnswers(url)) return { url, private: false, stop: async () => {} };
  if (explicit)
    throw new RedisUnavailableError(
      `REDIS_URL=${redactUrl(explicit)} does not answer. Start that Redis, or unset REDIS_URL to let the demo start its own.`,
    );
  return startPrivateRedis(options.redisServer ?? 'redis-server');
}

async function startPrivateRedis(binary: string): Promise<RedisHandle> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'xenops-redis-'));
  const child: ChildProcess = spawn(
    binary,
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  const spawned = await new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  if (!spawned) {
    rmSync(dir, { recursive: true, force: true });
    throw new RedisUnavailableError(
      [
        `No Redis answers on ${DEFAULT_REDIS_URL} and there is no redis-server on PATH to start a private one.`,
        'Get one with:  sudo apt-get install redis-server   (or: docker compose up -d redis, then REDIS_URL=redis://127.0.0.1:16379)',
        'or point REDIS_URL at a running Redis.',
      ].join('\n'),
    );
  }
  const url = `redis://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  // redis-server needs a moment to bind; poll PING rather than sleep a guessed time.
  for (let i = 0; i < 50; i++) {
    if (child.exitCode !== null) break;
    if (await redisAnswers(url, 200)) return { url, private: true, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new RedisUnavailableError(`the private redis-server on port ${port} did not start`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function redactUrl(url: string): string {
  return url.replace(/(\/\/[^/:@]*:)[^@/]+@/, '$1[redacted]@');
}
