import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import { UserError } from '../../src/core/errors.ts';
import { domainUuid } from '../../src/sim/index.ts';
import { type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * /show's driver method through the real SSH pool against the simulator: everything in one round trip (the
 * simulator's log shows the batch, and no channel is opened for it), realistic xl and xm output parsed back.
 */
let env: SimEnv;
let pool: SshPool;
const CONFIG_DIRS = ['/etc/xen/vm', '/etc/xen/auto'];
const driver = (host: string, kind: 'xl' | 'xm' = 'xl') =>
  new XenToolstack(kind, pool, { name: host, configDirs: CONFIG_DIRS, consoleLogDir: '/var/log/xen/console', shutdownTimeoutSeconds: 5 });

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            {
              name: 'gateway',
              memoryMiB: 512,
              vcpus: 2,
              running: true,
              autostart: true,
              cpus: '2-3',
              vifs: [
                { bridge: 'br-wan', mac: '00:16:3e:0a:00:01', ip: '203.0.113.10' },
                { bridge: 'br-lan', ip: '10.0.0.1' },
              ],
            },
            {
              name: 'files',
              memoryMiB: 4096,
              maxMemoryMiB: 8192,
              vcpus: 2,
              running: true,
              disks: [
                { target: '/dev/vg0/files-root', vdev: 'xvda' },
                { target: '/srv/xen/files-data.img', vdev: 'xvdb', kind: 'file', mode: 'r' },
              ],
            },
            { name: 'mail', memoryMiB: 1024, vcpus: 2, running: false, vifs: [{ bridge: 'br-lan', ip: '10.0.0.25' }] },
          ],
        },
        old: {
          toolstack: 'xm',
          domains: [{ name: 'legacy-db', memoryMiB: 1024, vcpus: 2, running: true, cpus: '1', vifs: [{ bridge: 'xenbr0' }] }],
        },
      },
    },
  });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

const channels = (host: string) => env.sim.faults.activity(host).channels;
const commandsSince = (host: string, since: number) => env.sim.log.query({ host, since }).map((e) => e.command);

describe('show through the real SSH pool and the simulator', () => {
  it('a running xl domain in one round trip: two vifs on two bridges with MAC and IP, pinning, uptime, autostart', async () => {
    await pool.run('xen1', ['true']);
    const before = channels('xen1');
    const since = env.sim.log.lastSeq;
    const d = await driver('xen1').show('gateway');
    // The batch as the host received it: the list and config dirs, then the domain's commands, one after another.
    expect(commandsSince('xen1', since)).toEqual([
      'xl list -v',
      'ls -1 /etc/xen/vm',
      'ls -1 /etc/xen/auto',
      'ls -l /etc/xen/auto/',
      'xl list -l gateway',
      'xl network-list gateway',
      'xl block-list gateway',
      'xl vcpu-list gateway',
      'xl uptime gateway',
      'cat /etc/xen/vm/gateway.cfg',
    ]);
    expect(channels('xen1')).toBe(before);
    const live = env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'gateway');
    expect(d).toMatchObject({
      name: 'gateway',
      source: 'toolstack',
      uuid: domainUuid('gateway'),
      type: 'pv',
      memoryMiB: 512,
      maxMemoryMiB: 512,
      vcpus: 2,
      maxVcpus: 2,
      cpus: '2-3',
      configFileRead: null,
      unavailable: [],
      notes: [],
      liveDevices: { nics: true, disks: true },
      summary: { status: 'blocked', id: live?.id, configPath: '/etc/xen/vm/gateway.cfg', autostart: { path: '/etc/xen/auto/gateway.cfg' } },
    });
    expect(d.uptimeSeconds).toEqual(expect.any(Number));
    expect(d.nics.map((n) => [n.index, n.bridge, n.mac, n.ips, n.state, n.live])).toEqual([
      [0, 'br-wan', '00:16:3e:0a:00:01', ['203.0.113.10'], 4, true],
      // No mac= in its config: the one made at create, as network-list and xl list -l show it.
      [1, 'br-lan', live?.vifs[1]?.mac, ['10.0.0.1'], 4, true],
    ]);
    expect(d.vcpuList?.map((v) => [v.vcpu, v.cpu, v.hard, v.soft])).toEqual([
      [0, 2, '2-3', 'all'],
      [1, 3, '2-3', 'all'],
    ]);
  });

  it('a second disk (file-backed, read-only) joined with block-list by device number; an IP not configured stays empty', async () => {
    const d = await driver('xen1').show('files');
    expect(d.notes).toEqual([]);
    expect(d.maxMemoryMiB).toBe(8192);
    expect(d.disks.map((k) => [k.vdev, k.devid, k.target, k.mode, k.backend, k.state, k.live])).toEqual([
      ['xvda', 51712, '/dev/vg0/files-root', 'rw', 'phy', 4, true],
      ['xvdb', 51728, '/srv/xen/files-data.img', 'ro', 'qdisk', 4, true],
    ]);
    expect(d.nics).toEqual([expect.objectContaining({ bridge: 'xenbr0', ips: [] })]);
  });

  it('a domain that is not running: its config file (still one round trip), and what cannot be shown', async () => {
    await pool.run('xen1', ['true']);
    const before = channels('xen1');
    const since = env.sim.log.lastSeq;
    const d = await driver('xen1').show('mail');
    expect(commandsSince('xen1', since)).toHaveLength(10);
    expect(channels('xen1')).toBe(before);
    expect(d).toMatchObject({
      source: 'config-file',
      configFileRead: '/etc/xen/vm/mail.cfg',
      uuid: domainUuid('mail'),
      memoryMiB: 1024,
      vcpus: 2,
      vcpuList: null,
      uptimeSeconds: null,
      notes: [],
      unavailable: ['mail is not running: it has no domid, uptime, live vCPU placement or device state'],
    });
    expect(d.nics).toEqual([expect.objectContaining({ mac: null, bridge: 'br-lan', ips: ['10.0.0.25'], live: false })]);
    expect(d.disks).toEqual([expect.objectContaining({ vdev: 'xvda', target: '/dev/vg0/mail-disk', mode: 'rw' })]);
  });

  it('a domain that is neither running nor defined is not found; a bad name sends nothing', async () => {
    await expect(driver('xen1').show('nosuch')).rejects.toMatchObject({ code: 'domain.notFound' });
    const since = env.sim.log.lastSeq;
    await expect(driver('xen1').show('a; reboot')).rejects.toBeInstanceOf(UserError);
    expect(commandsSince('xen1', since)).toEqual([]);
  });

  it('an xm host: xm list -l SXP, xm network-list / block-list / vcpu-list formats, in one round trip', async () => {
    await pool.run('old', ['true']);
    const before = channels('old');
    const since = env.sim.log.lastSeq;
    const d = await driver('old', 'xm').show('legacy-db');
    expect(commandsSince('old', since)).toEqual([
      'xm list',
      'ls -1 /etc/xen/vm',
      'ls -1 /etc/xen/auto',
      'ls -l /etc/xen/auto/',
      'timeout 10 xm list --long',
      'xm list -l legacy-db',
      'xm network-list legacy-db',
      'xm block-list legacy-db',
      'xm vcpu-list legacy-db',
      'xm uptime legacy-db',
      'cat /etc/xen/vm/legacy-db.cfg',
    ]);
    expect(channels('old')).toBe(before);
    expect(d).toMatchObject({ source: 'toolstack', uuid: domainUuid('legacy-db'), cpus: '1', maxMemoryMiB: 1024, notes: [] });
    expect(d.nics).toEqual([expect.objectContaining({ bridge: 'xenbr0', script: 'vif-bridge', state: 4, live: true, ips: [] })]);
    expect(d.disks).toEqual([expect.objectContaining({ vdev: 'xvda', target: '/dev/vg0/legacy-db-disk', backend: 'phy', state: 4 })]);
    expect(d.vcpuList?.map((v) => [v.vcpu, v.cpu, v.hard, v.soft])).toEqual([
      [0, 1, '1', null],
      [1, 1, '1', null],
    ]);
  });

  it('a lost connection is retried once on a fresh one, as a whole batch; nothing is reported half-read', async () => {
    await pool.run('xen1', ['true']);
    const since = env.sim.log.lastSeq;
    env.sim.faults.dropNext('xen1', { match: /network-list gateway/ });
    const d = await driver('xen1').show('gateway');
    expect(d.notes).toEqual([]);
    expect(d.nics).toHaveLength(2);
    const sent = env.sim.log.query({ host: 'xen1', since, match: /network-list gateway/ });
    expect(sent.map((e) => e.end?.how)).toEqual(['dropped', 'exit']);
    expect(commandsSince('xen1', since).filter((c) => c === 'xl list -v')).toHaveLength(2);
  });
});
