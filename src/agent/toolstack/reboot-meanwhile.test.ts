import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reboot as rebootCommand } from '../../../commands/reboot.ts';
import { replyText, simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { renderContext } from '../../core/define-command.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * /reboot --force: between xenops' destroy and its create, someone starts the guest outside xenops. xenops' create
 * answers "already exists"; the guest runs under a new id — but xenops did not create it.
 */
let env: SimEnv;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 1, running: true }] } } },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

describe('a forced reboot whose create finds the guest started meanwhile outside xenops', () => {
  it('does not say xenops created it again', async () => {
    const ts = simToolstack(pool, 'xen1', 'xl', { configDirs: ['/etc/xen/vm'] });
    // xenops' create is held a moment on the host; another operator's create (`-q`, so it is told apart) runs first.
    env.sim.faults.delayNext('xen1', { match: /^xl create \//, ms: 300 });
    const other = env.sim.log
      .waitFor({ host: 'xen1', match: /^xl create \//, timeoutMs: 5000 })
      .then(() => pool.run('xen1', ['xl', 'create', '-q', '/etc/xen/vm/web.cfg']));
    const r = await ts.reboot('web', { force: true });
    expect((await other).code).toBe(0);
    const reply = rebootCommand.render(
      [{ host: 'xen1', ok: true, result: { host: 'xen1', ...r } }],
      { domain: { domain: 'web' }, force: true } as never,
      renderContext(),
    );
    // Was "web destroyed and created again on xen1 — forced: destroyed, then created from /etc/xen/vm/web.cfg".
    expect(replyText(reply)).not.toMatch(/then created from/);
    expect(replyText(reply)).toMatch(/started again meanwhile outside xenops/);
  });
});
