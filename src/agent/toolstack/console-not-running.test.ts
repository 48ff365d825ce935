import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleCommand } from '../../../commands/console.ts';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../../test/helpers/sim.ts';
import { renderContext } from '../../core/define-command.ts';
import type { SshPool } from '../ssh/pool.ts';

let env: SimEnv;
let pool: SshPool;
const driver = () => simToolstack(pool, 'xen1', 'xl', { configDirs: ['/etc/xen/vm'] });

beforeAll(async () => {
  // xen1 runs web and has mail defined; both have a xenconsoled log ending at a login prompt (it outlives the guest).
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

/** /console DOMAIN as the operator reads it: every line of the reply (title, notes, the code block). */
async function consoleText(domain: string): Promise<string> {
  const result = await driver().consoleSnapshot(domain, 20);
  const reply = consoleCommand.render(
    [{ host: 'xen1', ok: true, result: { host: 'xen1', domain, ...result } }],
    { domain: { domain }, lines: 20 },
    renderContext(),
  );
  return [reply.title, ...reply.blocks.map((b) => (b.type === 'text' || b.type === 'code' ? b.text : ''))].join('\n');
}

describe('/console of a domain that is not running, from the xenconsoled log it left', () => {
  it('a defined domain: the log ends at "mail login:", and the reply says mail is not running', async () => {
    const text = await consoleText('mail');
    expect(text).toContain('mail login:');
    expect(text).toMatch(/mail is not running/);
  });

  it('a destroyed domain: the reply says it is not running, not just its last prompt', async () => {
    await pool.run('xen1', ['xl', 'destroy', 'web']);
    const text = await consoleText('web');
    expect(text).toContain('web login:');
    expect(text).toMatch(/web is not running/);
    await pool.run('xen1', ['xl', 'create', '/etc/xen/vm/web.cfg']);
  });

  it('a paused domain: the reply says it is paused (its console cannot print meanwhile)', async () => {
    await pool.run('xen1', ['xl', 'pause', 'web']);
    const text = await consoleText('web');
    expect(text).toMatch(/web is paused/);
    await pool.run('xen1', ['xl', 'unpause', 'web']);
  });

  it('a running domain: no such note', async () => {
    const text = await consoleText('web');
    expect(text).toContain('web login:');
    expect(text).not.toMatch(/not running|paused/);
  });
});
