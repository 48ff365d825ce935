import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { UserError } from '../../core/errors.ts';
import { renderDomainConfig } from '../../sim/model.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * xendomains boots the guest a file's `name =` names, not the file's name: a web.cfg saying name = "webprod" would
 * boot webprod — which the fleet-wide check (done for "web") never looked for on the other hosts.
 */
let env: SimEnv;
let pool: SshPool;
const driver = () => simToolstack(pool, 'xen1', 'xl', { readBack: { attempts: 3, delayMs: 20 } });

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { xen1: { toolstack: 'xl', domains: [{ name: 'mail', memoryMiB: 256, vcpus: 1, running: false }] } } },
  });
  pool = env.pool();
  env.sim.fleet.host('xen1').files.set('/etc/xen/vm/web.cfg', renderDomainConfig({ name: 'webprod', memoryMiB: 256, vcpus: 1 }));
});
afterAll(async () => {
  await env?.stop();
});

describe('/autostart on of a config file naming another guest', () => {
  it('GIVEN web.cfg says name = "webprod" THEN refused, naming it, and no link is made', async () => {
    const since = env.sim.log.lastSeq;
    const error = await driver()
      .autostart('web', true)
      .catch((e: unknown) => e);
    // Was { outcome: 'enabled' }: "web now starts with xen1", while the host would boot webprod.
    expect(error).toBeInstanceOf(UserError);
    expect(error).toMatchObject({ code: 'domain.configName' });
    expect((error as Error).message).toContain('/etc/xen/vm/web.cfg on xen1 names its domain "webprod", not web');
    expect(env.sim.log.query({ host: 'xen1', since, match: /^(ln|cat) / }).map((e) => e.command)).toEqual(['cat /etc/xen/vm/web.cfg']);
    expect(env.sim.fleet.host('xen1').links.has('/etc/xen/auto/web.cfg')).toBe(false);
  });

  it('GIVEN mail.cfg names mail THEN the link is made as before', async () => {
    expect(await driver().autostart('mail', true)).toMatchObject({ outcome: 'enabled', target: '/etc/xen/vm/mail.cfg' });
  });
});
