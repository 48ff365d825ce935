import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redisAnswers } from '../../src/app/ensure-redis.ts';

/**
 * A private redis-server on a loopback port with an append-only file fsynced on every write, so a test can kill
 * it (SIGKILL) and start it again on the same port and data: a Redis restart, as an operator would see one.
 */
export interface PrivateRedis {
  url: string;
  port: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGSTOP: it keeps its connections and answers nothing (a frozen machine), until resume(). */
  freeze(): void;
  resume(): void;
  /** Kills it if it runs (SIGKILL) and starts it again on the same port and directory (the AOF brings the data back). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** `password`: the server requires it (requirepass), and `url` carries it (`redis://:password@127.0.0.1:port`). */
export async function startPrivateRedis(options: { port?: number; password?: string } = {}): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'xenops-redis-'));
  const port = options.port ?? (await freePort());
  const auth = options.password === undefined ? '' : `:${encodeURIComponent(options.password)}@`;
  const url = `redis://${auth}127.0.0.1:${port}`;
  const requirepass = options.password === undefined ? [] : ['--requirepass', options.password];
  let child: ChildProcess | null = null;
  const launch = async () => {
    const c = spawn(
      'redis-server',
      [
        '--bind',
        '127.0.0.1',
        '--port',
        String(port),
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        ...requirepass,
      ],
      { stdio: 'ignore' },
    );
    child = c;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    for (let i = 0; i < 100; i++) {
      // Answered by this child, not by another server still on the port (this one then fails to bind and exits).
      if ((await redisAnswers(url, 200)) && c.exitCode === null) return;
      if (c.exitCode !== null) break;
      await Promise.race([exited, new Promise((r) => setTimeout(r, 50))]);
    }
    throw new Error(`redis-server did not start on ${url}`);
  };
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    const c = child;
    // Ended already (an exit code, or a signal: a SIGKILLed child has no exit code).
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await exited;
  };
  await launch();
  return {
    url,
    port,
    kill,
    freeze: () => void (child as ChildProcess | null)?.kill('SIGSTOP'),
    resume: () => void (child as ChildProcess | null)?.kill('SIGCONT'),
    // A restart is a stop and a start: launching beside a running server would leave it running (and leak it).
    restart: async () => {
      await kill('SIGKILL');
      await launch();
    },
    async stop() {
      (child as ChildProcess | null)?.kill('SIGCONT');
      await kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
