import { describe, expect, it } from 'vitest';
import { type CommandIO, runCommand } from './interpreter.ts';
import { generatedMac, parseDomainConfig, renderDomainConfig, SimFleet, type SimFleetSpec } from './model.ts';

/** The simulator's answers to what /show sends: byte layouts of the real xl/xm, devices from the domain's config. */
const spec: SimFleetSpec = {
  hosts: {
    xen1: {
      domains: [
        {
          name: 'gateway',
          memoryMiB: 512,
          vcpus: 2,
          running: true,
          cpus: '2-3',
          vifs: [
            { bridge: 'br-wan', mac: '00:16:3e:0a:00:01', ip: '203.0.113.1' },
            { bridge: 'br-lan', ip: '10.0.0.1' },
          ],
        },
        {
          name: 'files',
          memoryMiB: 4096,
          vcpus: 1,
          running: true,
          disks: [
            { target: '/dev/vg0/files-disk', vdev: 'xvda' },
            { target: '/srv/files-data.img', vdev: 'xvdb', kind: 'file', mode: 'r' },
          ],
        },
        { name: 'mail', memoryMiB: 1024, vcpus: 2, running: false },
      ],
    },
    old: {
      toolstack: 'xm',
      domains: [{ name: 'legacy', memoryMiB: 256, vcpus: 1, running: true, vifs: [{ bridge: 'xenbr0', ip: '10.0.0.9 10.0.0.10' }] }],
    },
  },
};

const fleet = () => new SimFleet(spec, () => 1_000_000);

async function sh(f: SimFleet, host: string, command: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CommandIO = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    signal: new AbortController().signal,
    sleep: () => Promise.resolve(),
  };
  return { code: await runCommand(f, f.host(host), command, io, { shutdownDelayMs: 0 }), out, err };
}

describe('the simulated config files and devices', () => {
  it('writes vifs, disks, cpus and maxmem to the config file and reads them back; the defaults are unchanged', () => {
    const text = renderDomainConfig({
      name: 'gw',
      memoryMiB: 512,
      maxMemoryMiB: 1024,
      vcpus: 1,
      cpus: '1',
      vifs: [{ bridge: 'br-wan', mac: '00:16:3e:0a:00:01', ip: '203.0.113.1' }],
      disks: [{ target: '/srv/gw.img', vdev: 'xvdb', kind: 'file', mode: 'r' }],
    });
    expect(text).toContain("disk = [ 'file:/srv/gw.img,xvdb,r' ]\n");
    expect(text).toContain("vif = [ 'mac=00:16:3e:0a:00:01,bridge=br-wan,ip=203.0.113.1' ]\n");
    expect(parseDomainConfig(text)).toMatchObject({
      maxMemoryMiB: 1024,
      cpus: '1',
      disks: [{ kind: 'file', target: '/srv/gw.img', vdev: 'xvdb', mode: 'r' }],
      vifs: [{ mac: '00:16:3e:0a:00:01', bridge: 'br-wan', ip: '203.0.113.1', script: null }],
    });
    expect(renderDomainConfig({ name: 'web', memoryMiB: 2048, vcpus: 2 })).toContain(
      "bootloader = \"pygrub\"\ndisk = [ 'phy:/dev/vg0/web-disk,xvda,w' ]\nvif = [ 'bridge=xenbr0' ]\n",
    );
  });

  it('a vif without mac= gets one in 00:16:3e when the domain is created, the same after a forced reboot', async () => {
    const f = fleet();
    const xen1 = f.host('xen1');
    expect(f.findDomain(xen1, 'gateway')?.vifs.map((v) => v.mac)).toEqual(['00:16:3e:0a:00:01', generatedMac('gateway', 1)]);
    expect(generatedMac('gateway', 1)).toMatch(/^00:16:3e:[0-7][0-9a-f](:[0-9a-f]{2}){2}$/);
    await sh(f, 'xen1', 'xl create /etc/xen/vm/mail.cfg');
    expect(f.findDomain(xen1, 'mail')?.vifs).toEqual([{ mac: generatedMac('mail', 0), bridge: 'xenbr0', ip: null, script: null }]);
  });
});

describe('xl network-list / block-list / vcpu-list / uptime DOMAIN', () => {
  it('network-list: xl_nic.c widths, a row per vif, connected', async () => {
    const r = await sh(fleet(), 'xen1', 'xl network-list gateway');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ',
      '0   0  00:16:3e:0a:00:01     0     4     20  1280/1281        /local/domain/0/backend/vif/1/0',
      `1   0  ${generatedMac('gateway', 1)}     1     4     22  1282/1283        /local/domain/0/backend/vif/1/1`,
      '',
    ]);
  });

  it('block-list: the device number, the vbd backend for phy and qdisk for a file', async () => {
    const r = await sh(fleet(), 'xen1', 'xl block-list files');
    expect(r.out.split('\n')).toEqual([
      'Vdev  BE  handle state evt-ch ring-ref BE-path                       ',
      '51712 0   2      4     10     8        /local/domain/0/backend/vbd/2/51712',
      '51728 0   2      4     11     9        /local/domain/0/backend/qdisk/2/51728',
      '',
    ]);
  });

  it('vcpu-list: each vCPU on a CPU of its pinning, hard / soft affinity; uptime of one domain', async () => {
    const f = fleet();
    expect((await sh(f, 'xen1', 'xl vcpu-list gateway')).out.split('\n')).toEqual([
      'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)',
      'gateway                              1     0    2   -b-       0.0  2-3 / all',
      'gateway                              1     1    3   -b-       0.0  2-3 / all',
      '',
    ]);
    expect((await sh(f, 'xen1', 'xl uptime gateway')).out.split('\n')).toEqual([
      `${'Name'.padEnd(33)}   ID Uptime`,
      `${'gateway'.padEnd(33)}    1  0:00:00`,
      '',
    ]);
  });

  it('as xl does for an unknown domain: network-list prints its header and exits 1, block-list says so and exits 0', async () => {
    const f = fleet();
    expect(await sh(f, 'xen1', 'xl network-list mail')).toMatchObject({ code: 1, err: 'mail is an invalid domain identifier (rc=-6)\n' });
    expect((await sh(f, 'xen1', 'xl network-list mail')).out).toMatch(/^Idx BE Mac Addr\./);
    expect(await sh(f, 'xen1', 'xl block-list mail')).toMatchObject({ code: 0, err: 'mail is an invalid domain identifier\n' });
    expect(await sh(f, 'xen1', 'xl vcpu-list mail')).toMatchObject({ code: 1 });
    expect(await sh(f, 'xen1', 'xl uptime mail')).toMatchObject({ code: 1, out: '' });
    expect(await sh(f, 'xen1', 'xl list -l mail')).toMatchObject({ code: 1, err: 'mail is an invalid domain identifier (rc=-6)\n' });
  });
});

describe('xl list -l and the xm variants', () => {
  it('xl list -l DOMAIN: libxl JSON with the pinning, disks (a read-only one without readwrite) and nics', async () => {
    const [entry] = JSON.parse((await sh(fleet(), 'xen1', 'xl list -l files')).out) as { config: Record<string, unknown> }[];
    expect(entry?.config['disks']).toEqual([
      { pdev_path: '/dev/vg0/files-disk', vdev: 'xvda', backend: 'phy', format: 'raw', readwrite: 1 },
      { pdev_path: '/srv/files-data.img', vdev: 'xvdb', backend: 'qdisk', format: 'raw' },
    ]);
    const [gw] = JSON.parse((await sh(fleet(), 'xen1', 'xl list -l gateway')).out) as { config: Record<string, Record<string, unknown>> }[];
    expect(gw?.config['b_info']?.['vcpu_hard_affinity']).toEqual([
      [2, 3],
      [2, 3],
    ]);
  });

  it('xm: list -l with (cpus …) and (device (vif …)) / (device (vbd …)); network-list, block-list, vcpu-list in xm layouts', async () => {
    const f = fleet();
    const long = (await sh(f, 'old', 'xm list -l legacy')).out;
    expect(long).toContain('    (cpus (()))\n');
    expect(long).toContain("            (ip '10.0.0.9 10.0.0.10')\n            (script /etc/xen/scripts/vif-bridge)\n");
    expect(long).toContain('            (dev xvda:disk)\n            (uname phy:/dev/vg0/legacy-disk)\n            (mode w)\n');
    const mac = f.findDomain(f.host('old'), 'legacy')?.vifs[0]?.mac;
    expect((await sh(f, 'old', 'xm network-list legacy')).out).toBe(
      `Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n0   0  ${mac}    0     4      20    1280 /1281    /local/domain/0/backend/vif/1/0  \n`,
    );
    expect((await sh(f, 'old', 'xm block-list legacy')).out).toBe(
      'Vdev  BE handle state evt-ch ring-ref BE-path\n51712  0    1     4      10     8     /local/domain/0/backend/vbd/1/51712  \n',
    );
    expect((await sh(f, 'old', 'xm vcpu-list legacy')).out).toMatch(/CPU Affinity\nlegacy {26} +1 +0 +2 +-b- +0\.0 any cpu\n$/);
    expect(await sh(f, 'old', 'xm network-list nosuch')).toMatchObject({
      code: 3,
      out: '',
      err: "Error: Domain 'nosuch' does not exist.\n",
    });
  });
});
