import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { type RealSshd, sshdAvailable, startRealSshd } from '../../../test/helpers/sshd.ts';
import { HostConfig, SshDefaults } from '../../config/schema.ts';
import { SshPool } from './pool.ts';

/**
 * A command the host kills (the OOM killer, a crashing `xl`) ends its exec channel with an exit-signal instead of an
 * exit-status. The connection is fine: that is not "the connection was lost", and the commands beside it on the
 * connection must go on.
 */
describe.skipIf(!sshdAvailable)('a command killed by a signal on the host', () => {
  let sshd: RealSshd;
  const pools: SshPool[] = [];
  const pool = (sessions: boolean) => {
    const p = new SshPool({
      hosts: {
        real: HostConfig.parse({
          address: '127.0.0.1',
          port: sshd.port,
          privateKey: sshd.clientKey.privateKey,
          hostKey: sshd.hostKeyFingerprint,
        }),
      },
      defaults: SshDefaults.parse({ commandTimeoutMs: 8000 }),
      logger: quietLogger,
      sessions,
    });
    pools.push(p);
    return p;
  };
  beforeAll(async () => {
    sshd = await startRealSshd(fixture('xl-list__uva-sne-xen-4.9.2.txt'));
  });
  afterAll(async () => {
    for (const p of pools) await p.close();
    await sshd?.stop();
  });

  it('exits 128 + the signal through an exec channel, as through a session, and leaves the connection’s stream running', async () => {
    const stop = new AbortController();
    const p = pool(true);
    try {
      let ticks = 0;
      const streaming = p.stream('real', ['sh', '-c', 'while :; do echo tick; sleep 0.1; done'], {
        signal: stop.signal,
        onStdout: (text) => (ticks += text.split('tick').length - 1),
      });
      await expect.poll(() => ticks).toBeGreaterThan(0);
      const killed = ['sh', '-c', 'echo before; kill -KILL $$'];
      // Through the session the shell reports it as 137 (and says "Killed"); an exec channel (a streaming command)
      // must give the same code.
      expect(await p.run('real', killed)).toMatchObject({ code: 137, stdout: 'before\n' });
      const streamed: string[] = [];
      expect(await p.run('real', killed, { onStdout: (t) => streamed.push(t) })).toEqual({ code: 137, stdout: 'before\n', stderr: '' });
      expect(streamed.join('')).toBe('before\n');

      const seen = ticks;
      await expect.poll(() => ticks).toBeGreaterThan(seen + 2);
      expect(p.isConnected('real')).toBe(true);
      stop.abort();
      expect(await streaming).toEqual({ code: null });
    } finally {
      stop.abort();
    }
  });

  it('exits 128 + the signal on a host without command sessions', async () => {
    const p = pool(false);
    expect(await p.run('real', ['sh', '-c', 'kill -TERM $$'])).toEqual({ code: 143, stdout: '', stderr: '' });
    expect((await p.run('real', ['xl', 'list'])).code).toBe(0);
  });
});
