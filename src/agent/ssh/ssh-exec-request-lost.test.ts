import ssh2 from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { HostConfig, SshDefaults } from '../../config/schema.ts';
import { OutcomeUnknownError } from '../../core/errors.ts';
import { fingerprintOf, generateClientKey, generateEd25519KeyPair } from '../../sim/index.ts';
import { SshPool } from './pool.ts';

/**
 * An exec channel's command travels in its exec request; sshd starts the command, then confirms. A connection lost
 * after the request went out and before the confirmation came back may have run it (a host whose exec fallback is in
 * use, or a migration, which always streams over an exec channel): an unknown outcome, to be read back — never "could
 * not start", which tells the driver and the operator that nothing was sent.
 */
describe('a connection lost while an exec request awaits its answer', () => {
  let server: InstanceType<typeof ssh2.Server> | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  it('is an unknown outcome: the host received the command', async () => {
    const hostKey = generateEd25519KeyPair('cut').privateKey;
    const clientKey = generateClientKey();
    const received: string[] = [];
    // A Dom0 that takes the command and goes away before it confirms (a reboot, a network cut at that moment).
    server = new ssh2.Server({ hostKeys: [hostKey] }, (conn) => {
      conn.on('error', () => {});
      conn.on('authentication', (ctx) => ctx.accept());
      conn.on('ready', () => {
        conn.on('session', (accept) => {
          accept().on('exec', (_accept, _reject, info) => {
            received.push(info.command);
            conn.end();
          });
        });
      });
    });
    const srv = server;
    const port = await new Promise<number>((resolve) =>
      srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)),
    );
    const pool = new SshPool({
      hosts: { cut: HostConfig.parse({ address: '127.0.0.1', port, privateKey: clientKey.privateKey, hostKey: fingerprintOf(hostKey) }) },
      defaults: SshDefaults.parse({ commandTimeoutMs: 5000 }),
      logger: quietLogger,
      sessions: false,
    });
    try {
      const err = await pool.run('cut', ['xl', 'create', '/etc/xen/vm/mail.cfg']).catch((e: unknown) => e);
      expect(received).toEqual(['xl create /etc/xen/vm/mail.cfg']);
      expect(err).toBeInstanceOf(OutcomeUnknownError);
      expect((err as Error).message).toBe('the connection to cut was lost while xl ran; its outcome is unknown');
    } finally {
      await pool.close();
    }
  });
});
