import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { type RealSshd, sshdAvailable, startRealSshd } from '../../../test/helpers/sshd.ts';
import { HostConfig, SshDefaults } from '../../config/schema.ts';
import { OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import { SshPool } from './pool.ts';

/**
 * sshd refuses a channel past its MaxSessions ("open failed"): hardened Dom0s set it lower than OpenSSH's 10. The
 * refused command was never sent; the connection itself is fine, and so is everything else running on it (a
 * migration, the sampler's stream, other callers' commands).
 */
describe.skipIf(!sshdAvailable)('a channel sshd refuses', () => {
  let sshd: RealSshd | undefined;
  let pool: SshPool | undefined;
  let stop = new AbortController();
  afterEach(async () => {
    stop.abort();
    stop = new AbortController();
    await pool?.close();
    await sshd?.stop();
  });

  it.each([
    ['a command session', true],
    ['an exec channel', false],
  ])('fails only the refused command through %s (nothing sent) and leaves the stream on the connection running', async (_, sessions) => {
    sshd = await startRealSshd(fixture('xl-list__uva-sne-xen-4.9.2.txt'), { maxSessions: 1 });
    pool = new SshPool({
      hosts: {
        real: HostConfig.parse({
          address: '127.0.0.1',
          port: sshd.port,
          privateKey: sshd.clientKey.privateKey,
          hostKey: sshd.hostKeyFingerprint,
        }),
      },
      defaults: SshDefaults.parse({ maxConcurrent: 1, commandTimeoutMs: 8000 }),
      logger: quietLogger,
      sessions,
    });
    let ticks = 0;
    const streaming = pool.stream('real', ['sh', '-c', 'while :; do echo tick; sleep 0.1; done'], {
      signal: stop.signal,
      onStdout: (text) => (ticks += text.split('tick').length - 1),
    });
    await expect.poll(() => ticks).toBeGreaterThan(0);

    const err = await pool.run('real', ['xl', 'list']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransportError);
    expect(err).not.toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toMatch(/^could not start (a command|xl) on real: .*open failed/);

    // The stream was not cut with it: it goes on ticking on the same connection.
    const seen = ticks;
    await expect.poll(() => ticks).toBeGreaterThan(seen + 2);
    expect(pool.isConnected('real')).toBe(true);
    stop.abort();
    expect(await streaming).toEqual({ code: null });
  });
});
