import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { OutcomeUnknownError } from '../../core/errors.ts';
import type { SshPool } from '../ssh/pool.ts';

/** An autostart on resumed after an agent restart: only a link to the guest's own config file means it took. */
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
            { name: 'mail', memoryMiB: 256, vcpus: 1, running: false },
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

describe('verifyAutostart (on, resumed)', () => {
  it("GIVEN /etc/xen/auto/web.cfg reads back as a link to mail's config THEN not 'enabled': unknown, saying what is there", async () => {
    links().set('/etc/xen/auto/web.cfg', '../vm/mail.cfg');
    try {
      const since = env.sim.log.lastSeq;
      const error = await driver()
        .verifyAutostart('web', true)
        .catch((e: unknown) => e);
      // Was { outcome: 'enabled', target: '../vm/mail.cfg' }: "web now starts with xen1", while the host boots mail.
      expect(error).toBeInstanceOf(OutcomeUnknownError);
      expect((error as Error).message).toBe(
        'autostart on for web was issued on xen1 before the agent restarted; /etc/xen/auto/web.cfg reads back as a link to ../vm/mail.cfg, and nothing was re-run',
      );
      expect(env.sim.log.query({ host: 'xen1', since, match: /^(ln|unlink) / })).toEqual([]);
    } finally {
      links().delete('/etc/xen/auto/web.cfg');
    }
  });

  it("GIVEN a link to web's own config THEN enabled (resumed)", async () => {
    links().set('/etc/xen/auto/web.cfg', '/etc/xen/vm/web.cfg');
    try {
      expect(await driver().verifyAutostart('web', true)).toEqual({
        outcome: 'enabled',
        domain: 'web',
        path: '/etc/xen/auto/web.cfg',
        target: '/etc/xen/vm/web.cfg',
        resumed: true,
      });
    } finally {
      links().delete('/etc/xen/auto/web.cfg');
    }
  });
});
