import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { RemoteCommandError } from '../../core/errors.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * Another operator at the host's shell between xenops's read of /etc/xen/auto and its ln/unlink: the command fails
 * (File exists, No such file or directory), and what the entry is now is read back and said — never sent again.
 * The simulator's state is changed from the beforeIssue hook, the instant before the command goes out.
 */
let env: SimEnv;
let pool: SshPool;
const driver = () => simToolstack(pool, 'xen1', 'xl', { readBack: { attempts: 3, delayMs: 20 } });

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'web', memoryMiB: 256, vcpus: 1, running: false },
            { name: 'mail', memoryMiB: 256, vcpus: 1, running: false, autostart: true },
          ],
        },
      },
    },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env?.stop();
});

const links = () => env.sim.fleet.host('xen1').links;
const sent = (since: number) => env.sim.log.query({ host: 'xen1', since, match: /^(ln|unlink|readlink|test) / }).map((e) => e.command);

describe('ln -s / unlink racing another operator', () => {
  afterEach(() => {
    links().delete('/etc/xen/auto/web.cfg');
  });

  it('GIVEN the same link made meanwhile (EEXIST) THEN already on, read back, ln sent once', async () => {
    const since = env.sim.log.lastSeq;
    const result = await driver().autostart('web', true, {
      beforeIssue: async () => {
        links().set('/etc/xen/auto/web.cfg', '/etc/xen/vm/web.cfg');
      },
    });
    // Was a RemoteCommandError "ln … failed on xen1: … File exists", while web did start with xen1.
    expect(result).toEqual({ outcome: 'already-enabled', domain: 'web', path: '/etc/xen/auto/web.cfg', target: '/etc/xen/vm/web.cfg' });
    expect(sent(since)).toEqual([
      'ln -s /etc/xen/vm/web.cfg /etc/xen/auto/web.cfg',
      'readlink /etc/xen/auto/web.cfg',
      'test -e /etc/xen/auto/web.cfg',
    ]);
  });

  it('GIVEN a link to another guest made meanwhile (EEXIST) THEN the failure says what the entry now points to', async () => {
    const since = env.sim.log.lastSeq;
    const error = await driver()
      .autostart('web', true, {
        beforeIssue: async () => {
          links().set('/etc/xen/auto/web.cfg', '../vm/mail.cfg');
        },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as Error).message).toBe(
      "ln -s /etc/xen/vm/web.cfg /etc/xen/auto/web.cfg failed on xen1: ln: failed to create symbolic link '/etc/xen/auto/web.cfg': File exists; /etc/xen/auto/web.cfg now reads back as a link to ../vm/mail.cfg, and nothing was re-run",
    );
    expect(sent(since).filter((c) => c.startsWith('ln '))).toHaveLength(1);
    expect(links().get('/etc/xen/auto/web.cfg')).toBe('../vm/mail.cfg');
  });

  it('GIVEN the link removed meanwhile (ENOENT) THEN already off, read back, unlink sent once', async () => {
    const since = env.sim.log.lastSeq;
    const result = await driver().autostart('mail', false, {
      beforeIssue: async () => {
        links().delete('/etc/xen/auto/mail.cfg');
      },
    });
    // Was a RemoteCommandError "unlink … failed on xen1: … No such file or directory", while mail no longer autostarted.
    expect(result).toEqual({ outcome: 'already-disabled', domain: 'mail', path: '/etc/xen/auto/mail.cfg', target: null });
    expect(sent(since)).toEqual(['unlink /etc/xen/auto/mail.cfg', 'readlink /etc/xen/auto/mail.cfg', 'test -e /etc/xen/auto/mail.cfg']);
  });
});
