import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { HostConfig, SshDefaults } from '../../config/schema.ts';
import { OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import { generateClientKey } from '../../sim/index.ts';
import { SshPool } from './pool.ts';

/**
 * A Dom0 whose sshd takes the TCP connection and never says a word (MaxStartups reached, a box deep in swap), or one
 * whose reconnect backoff has grown: the command's own timeout and its cancel bound the wait for a connection too,
 * so that a read's answer still reaches the bot within its read timeout and a cancel takes effect at once.
 */
describe('waiting for a connection', () => {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  let pool: SshPool | undefined;
  afterEach(async () => {
    await pool?.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** A host that accepts TCP and never sends its SSH banner; `connected` settles at its first connection. */
  async function silentHost(): Promise<{ port: number; connected: Promise<void> }> {
    let seen: () => void = () => {};
    const connected = new Promise<void>((resolve) => {
      seen = resolve;
    });
    const srv = createServer((socket) => {
      sockets.add(socket);
      seen();
    });
    server = srv;
    const port = await new Promise<number>((resolve) =>
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)),
    );
    return { port, connected };
  }

  function poolFor(port: number, ssh: Partial<SshDefaults> = {}): SshPool {
    pool = new SshPool({
      hosts: {
        mute: HostConfig.parse({
          address: '127.0.0.1',
          port,
          privateKey: generateClientKey().privateKey,
          hostKey: `SHA256:${'A'.repeat(43)}`,
        }),
      },
      defaults: SshDefaults.parse({ readyTimeoutMs: 25_000, commandTimeoutMs: 400, ...ssh }),
      logger: quietLogger,
    });
    return pool;
  }

  it('ends at the command’s timeout, as a command never sent, while the handshake waits for a banner', async () => {
    const { port } = await silentHost();
    const p = poolFor(port);
    const started = performance.now();
    const err = await p.run('mute', ['xl', 'list']).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).not.toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toBe('could not start xl on mute: no connection within 400 ms');
  });

  it('ends when cancelled, not when the handshake gives up', async () => {
    const { port, connected } = await silentHost();
    const p = poolFor(port, { commandTimeoutMs: 25_000 });
    const cancel = new AbortController();
    const running = p.runBatch('mute', [['xl', 'list']], { signal: cancel.signal }).catch((e: unknown) => e);
    await connected;
    const started = performance.now();
    cancel.abort();
    const err = await running;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).not.toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toBe('xl on mute was cancelled before it was sent');
  });

  it('ends at the command’s timeout while the reconnect backoff waits', async () => {
    // Nothing listens there: the first try fails at once, and the next waits out a long backoff first.
    const { port } = await silentHost();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const p = poolFor(port, { reconnectBaseMs: 25_000, reconnectMaxMs: 25_000 });
    expect(String(await p.run('mute', ['true']).catch((e: unknown) => e))).toContain('cannot connect to mute');
    const started = performance.now();
    const err = await p.run('mute', ['xl', 'list']).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(TransportError);
    expect((err as Error).message).toMatch(
      /^could not start xl on mute: no connection within 400 ms \(the last attempt: cannot connect to mute \(127\.0\.0\.1:\d+\): connect ECONNREFUSED/,
    );
  });
});
