import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { RemoteCommandError } from '../../core/errors.ts';
import type { SshPool } from '../ssh/pool.ts';

let env: SimEnv;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { old: { toolstack: 'xm', domains: [{ name: 'db', memoryMiB: 1024, vcpus: 1, running: true }] } } },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('/console on an xm host without a xenconsoled log', () => {
  it('`xm console` without a terminal quits at once: "no console snapshot could be taken", never a made-up live attach', async () => {
    env.sim.fleet.host('old').files.delete('/var/log/xen/console/guest-db.log');
    const ts = simToolstack(pool, 'old', 'xm', { configDirs: ['/etc/xen'] });
    const error = await ts.consoleSnapshot('db', 20).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteCommandError);
    expect((error as Error).message).toContain('no console snapshot of db could be taken on old');
    expect(env.sim.hosts['old']?.commandLog).toContain('timeout 3 xm console db');
  });
});
