import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { Config } from '../../config/schema.ts';
import { renderDomainConfig } from '../../sim/model.ts';
import { refuseIfAutostartElsewhere } from '../handlers.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * xendomains creates a guest from every entry of /etc/xen/auto, `.cfg` or not: an entry named by the bare domain name
 * (`/etc/xen/auto/web`, a file or a link) boots web as surely as web.cfg does.
 */
let env: SimEnv;
let pool: SshPool;
const driver = (host: string) => simToolstack(pool, host, 'xl', { readBack: { attempts: 3, delayMs: 20 } });

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'web', memoryMiB: 256, vcpus: 1, running: false },
            { name: 'db', memoryMiB: 256, vcpus: 1, running: false },
          ],
        },
        xen2: { toolstack: 'xl', domains: [{ name: 'db', memoryMiB: 256, vcpus: 1, running: false }] },
      },
    },
  });
  pool = env.pool();
  // web's own config, copied into /etc/xen/auto under its bare name (a common hand-made entry).
  env.sim.fleet.host('xen1').files.set('/etc/xen/auto/web', renderDomainConfig({ name: 'web', memoryMiB: 256, vcpus: 1 }));
  env.sim.fleet.host('xen2').files.set('/etc/xen/auto/db', renderDomainConfig({ name: 'db', memoryMiB: 256, vcpus: 1 }));
});
afterAll(async () => {
  await env?.stop();
});

const sent = (host: string, since: number) => env.sim.log.query({ host, since, match: /^(ln|unlink|rm) / }).map((e) => e.command);

describe('an /etc/xen/auto entry named by the bare domain name', () => {
  it('GIVEN a plain file /etc/xen/auto/web THEN web shows as autostarting, and /autostart web on adds no second entry', async () => {
    const { domains, notes } = await driver('xen1').inventory();
    expect(domains.find((d) => d.name === 'web')?.autostart).toEqual({ path: '/etc/xen/auto/web', target: null });
    expect(notes).toEqual(['/etc/xen/auto/web starts web from /etc/xen/auto/web, not from its config file /etc/xen/vm/web.cfg']);
    const since = env.sim.log.lastSeq;
    // Was { outcome: 'enabled' } after `ln -s /etc/xen/vm/web.cfg /etc/xen/auto/web.cfg`: "nothing for it" was untrue.
    expect(await driver('xen1').autostart('web', true)).toEqual({
      outcome: 'already-enabled',
      domain: 'web',
      path: '/etc/xen/auto/web',
      target: null,
    });
    expect(sent('xen1', since)).toEqual([]);
  });

  it('GIVEN xen2 has a file /etc/xen/auto/db THEN turning db on for xen1 is refused (it would boot on both)', async () => {
    const config = Config.parse({ hosts: env.hosts });
    const ctx = { config, op: {}, toolstack: async (h: string) => driver(h) };
    await expect(refuseIfAutostartElsewhere('db', 'xen1', ctx)).rejects.toThrow(
      'db already starts with xen2 (/etc/xen/auto/db there) — autostarting it on xen1 too would boot it twice after a power cut; turn it off on xen2 first',
    );
  });
});
