import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../../test/helpers/sim.ts';
import type { SshPool } from '../ssh/pool.ts';

let env: SimEnv;
let pool: SshPool;
const LOG = '/var/log/xen/console/guest-web.log';
const driver = () => simToolstack(pool, 'xen1', 'xl', { configDirs: ['/etc/xen/vm'] });

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('/console right after logrotate moved the xenconsoled log to guest-NAME.log.1', () => {
  it('an emptied log: the last lines come from the rotated file, not "(no output)"', async () => {
    const files = env.sim.fleet.host('xen1').files;
    files.set(`${LOG}.1`, 'Debian GNU/Linux 12 web hvc0\n\nweb login: \n');
    files.set(LOG, '');
    const r = await driver().consoleSnapshot('web', 20);
    expect(r).toMatchObject({ source: 'log', lines: ['Debian GNU/Linux 12 web hvc0', '', 'web login:'] });
  });

  it('a log with fewer lines than asked: the older ones before them, in order, as many as asked', async () => {
    const files = env.sim.fleet.host('xen1').files;
    files.set(`${LOG}.1`, 'one\ntwo\nthree\n');
    files.set(LOG, 'four\nfive\n');
    expect((await driver().consoleSnapshot('web', 4)).lines).toEqual(['two', 'three', 'four', 'five']);
    expect((await driver().consoleSnapshot('web', 2)).lines).toEqual(['four', 'five']);
  });

  it('no rotated file: the short log alone', async () => {
    const files = env.sim.fleet.host('xen1').files;
    files.delete(`${LOG}.1`);
    files.set(LOG, 'four\nfive\n');
    expect((await driver().consoleSnapshot('web', 20)).lines).toEqual(['four', 'five']);
    // tail of an empty file prints nothing: no line at all, not one empty line.
    files.set(LOG, '');
    expect((await driver().consoleSnapshot('web', 20)).lines).toEqual([]);
  });
});
