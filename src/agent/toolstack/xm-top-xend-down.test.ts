import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * An xm host whose xend died: every xm command says "Unable to connect to xend" (shared/xen-toolstack.md §0), while
 * xentop, which reads the hypervisor through xenstat, still works. A one-shot xentop cuts names to 10 characters.
 */
let env: SimEnv;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { old: { toolstack: 'xm', domains: [{ name: 'webserver-prod', memoryMiB: 1024, vcpus: 1, running: true }] } } },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('/top of an xm host whose xend is down', () => {
  it('still gives the xentop rows, names as xentop printed them, and says why the full names are missing', async () => {
    await env.sim.faults.add('old', {
      kind: 'fail',
      match: /\bxm\b/,
      times: 0,
      code: 1,
      stderr: 'Error: Unable to connect to xend: Connection refused. Is xend running?\n',
    });
    const ts = simToolstack(pool, 'old', 'xm', { configDirs: ['/etc/xen/vm'] });
    const top = await ts.topTable();
    expect(top.rows.map((r) => r.name).sort()).toEqual(['Domain-0', 'webserver-']);
    expect(top.notes.join('\n')).toContain('Unable to connect to xend');
  });
});
