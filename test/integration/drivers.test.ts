import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { detectToolstack, XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { ProgressUpdate } from '../../src/agent/toolstack/types.ts';
import { UserError } from '../../src/core/errors.ts';
import { type SimEnv, startSimEnv } from '../helpers/sim.ts';

let env: SimEnv;
let pool: SshPool;
const driver = (host: string, kind: 'xl' | 'xm' = 'xl') =>
  new XenToolstack(
    kind,
    pool,
    { name: host, configDirs: ['/etc/xen/vm', '/etc/xen/auto'], consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 },
    { attempts: 30, delayMs: 20 },
  );

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'gateway', memoryMiB: 512, vcpus: 1, running: true },
            { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
            { name: 'mail', memoryMiB: 1024, vcpus: 2, running: false },
          ],
        },
        xen2: { toolstack: 'xl', domains: [{ name: 'files', memoryMiB: 4096, vcpus: 2, running: true }] },
        old: { toolstack: 'xm', domains: [{ name: 'legacy-db.example.com', memoryMiB: 1024, vcpus: 1, running: true }] },
      },
    },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

const log = (host: string) => env.sim.hosts[host]?.commandLog ?? [];

describe('xl driver through the real SSH pool and the simulator', () => {
  it('lists running domains and defined-but-stopped configs', async () => {
    const domains = await driver('xen1').list();
    expect(domains.map((d) => [d.name, d.status, d.id])).toEqual([
      ['Domain-0', 'running', 0],
      ['gateway', 'blocked', 1],
      ['web', 'blocked', 2],
      ['mail', 'defined', null],
    ]);
    expect(domains.find((d) => d.name === 'mail')?.configPath).toBe('/etc/xen/vm/mail.cfg');
  });

  it('starts a defined domain, reads it back, and answers "already running" the second time without creating', async () => {
    const progress: ProgressUpdate[] = [];
    const first = await driver('xen1').start('mail', { onProgress: (p) => progress.push(p) });
    expect(first.outcome).toBe('started');
    expect(first.domain).toMatchObject({ name: 'mail', status: 'blocked' });
    expect(progress.map((p) => p.stage)).toContain('create');
    expect(log('xen1')).toContain('xl create /etc/xen/vm/mail.cfg');
    const creates = log('xen1').filter((c) => c.includes('create')).length;
    const second = await driver('xen1').start('mail');
    expect(second.outcome).toBe('already-running');
    expect(log('xen1').filter((c) => c.includes('create')).length).toBe(creates);
  });

  it('refuses bad names before any SSH traffic', async () => {
    const before = log('xen1').length;
    for (const bad of ['web; reboot', '$(id)', '123', 'Domain-0', 'web--incoming']) {
      await expect(driver('xen1').start(bad)).rejects.toBeInstanceOf(UserError);
      await expect(driver('xen1').stop(bad, { force: true })).rejects.toBeInstanceOf(UserError);
    }
    expect(log('xen1').length).toBe(before);
  });

  it('stops gracefully (bounded shutdown -w) and reads back; stopping again is a no-op', async () => {
    const r = await driver('xen1').stop('gateway', { force: false });
    expect(r.outcome).toBe('shut-down');
    expect(r.domain).toMatchObject({ name: 'gateway', status: 'defined' });
    expect(log('xen1')).toContain('timeout 5 xl shutdown -w gateway');
    expect((await driver('xen1').stop('gateway', { force: false })).outcome).toBe('already-stopped');
  });

  it('force-stops with destroy', async () => {
    await driver('xen1').start('gateway');
    const r = await driver('xen1').stop('gateway', { force: true });
    expect(r.outcome).toBe('destroyed');
    expect(log('xen1')).toContain('xl destroy gateway');
  });

  it('takes a console snapshot from the xenconsoled log, sanitized', async () => {
    const r = await driver('xen1').consoleSnapshot('web', 3);
    expect(r.source).toBe('log');
    expect(r.lines).toEqual(['Debian GNU/Linux 12 web hvc0', '', 'web login:']);
  });

  it('falls back to a bounded console attach when there is no log', async () => {
    env.sim.fleet.host('xen1').files.delete('/var/log/xen/console/guest-web.log');
    const r = await driver('xen1').consoleSnapshot('web', 5);
    expect(r.source).toBe('attach');
    expect(log('xen1')).toContain('timeout 3 xl console web');
  });

  it('reports top from the second xentop iteration', async () => {
    const rows = await driver('xen1').top();
    expect(log('xen1')).toContain('xentop -b -i 2 -d 1');
    expect(rows.map((r) => r.name)).toEqual(expect.arrayContaining(['Domain-0', 'web']));
    expect(rows.find((r) => r.name === 'Domain-0')?.maxMemoryKiB).toBeNull();
  });

  it('reads info', async () => {
    expect(await driver('xen2').info()).toMatchObject({ host: 'xen2', xen_version: '4.17.3' });
  });

  it('migrates with streamed progress and verifies the domain on the target', async () => {
    const progress: ProgressUpdate[] = [];
    const r = await driver('xen1').migrate(
      'web',
      { host: 'xen2', address: 'xen2', verify: () => driver('xen2').list() },
      { onProgress: (p) => progress.push(p) },
    );
    expect(r.outcome).toBe('migrated');
    expect(r.domain).toMatchObject({ name: 'web' });
    expect(progress.filter((p) => p.percent !== undefined).map((p) => p.percent)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(r.transcript.at(-1)).toBe('Migration successful.');
    expect((await driver('xen1').list()).some((d) => d.name === 'web' && d.status !== 'defined')).toBe(false);
    const again = await driver('xen1').migrate('web', { host: 'xen2', address: 'xen2', verify: () => driver('xen2').list() });
    expect(again.outcome).toBe('already-on-target');
  });

  it('after a connection drop mid-create (which took effect) reads back instead of creating again', async () => {
    await driver('xen2').stop('files', { force: true });
    env.sim.faults.dropNext('xen2', { match: /create/, afterEffect: true });
    const r = await driver('xen2').start('files');
    expect(r.outcome).toBe('started');
    expect(log('xen2').filter((c) => c.startsWith('xl create')).length).toBe(1);
  });

  it('detects xl and xm hosts', async () => {
    expect(await detectToolstack(pool, 'xen1')).toBe('xl');
    expect(await detectToolstack(pool, 'old')).toBe('xm');
  });

  it('drives an xm host: list and migrate-free lifecycle', async () => {
    const domains = await driver('old', 'xm').list();
    expect(domains.find((d) => d.name === 'legacy-db.example.com')?.status).toBe('blocked');
    expect((await driver('old', 'xm').stop('legacy-db.example.com', { force: true })).outcome).toBe('destroyed');
    expect((await driver('old', 'xm').start('legacy-db.example.com')).outcome).toBe('started');
    expect(log('old')).toContain('xm create /etc/xen/vm/legacy-db.example.com.cfg');
  });
});
