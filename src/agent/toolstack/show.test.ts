import { describe, expect, it } from 'vitest';
import { fixture as sample } from '../../../test/helpers/fixtures.ts';
import { UserError } from '../../core/errors.ts';
import type { DomainSummary } from '../../core/xen.ts';
import type { RunResult } from '../ssh/types.ts';
import { argv } from './argv.ts';
import { assembleDetail, type ShowReadings } from './show.ts';

const ok = (stdout: string): RunResult => ({ code: 0, stdout, stderr: '' });
const failed = (code: number, stderr: string, stdout = ''): RunResult => ({ code, stdout, stderr });

const web: DomainSummary = {
  name: 'web',
  uuid: '039e9ee6-4a84-3055-4c81-8ba426ae2656',
  id: 7,
  status: 'blocked',
  flags: '-b----',
  memoryMiB: 2048,
  vcpus: 2,
  cpuSeconds: 12.5,
  configPath: '/etc/xen/vm/web.cfg',
  autostart: null,
};

const LIST_LONG = JSON.stringify([
  {
    domid: 7,
    config: {
      c_info: { type: 'pv', name: 'web', uuid: web.uuid },
      b_info: {
        max_vcpus: 4,
        avail_vcpus: [0, 1],
        vcpu_hard_affinity: [
          [2, 3],
          [2, 3],
        ],
        max_memkb: 4194304,
        target_memkb: 2097152,
      },
      disks: [
        { pdev_path: '/dev/vg0/web-disk', vdev: 'xvda', backend: 'phy', format: 'raw', readwrite: 1 },
        { pdev_path: '/srv/xen/web-data.img', vdev: 'xvdb', backend: 'qdisk', format: 'raw' },
      ],
      nics: [{ devid: 0, mac: '00:16:3e:0a:00:03', bridge: 'br-lan', nictype: 'vif' }],
    },
  },
]);
const NETWORK_LIST = [
  'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ',
  '0   0  00:16:3e:0a:00:03     0     4     20  1280/1281        /local/domain/0/backend/vif/7/0',
  '1   0  00:16:3e:77:00:09     1     4     22  1282/1283        /local/domain/0/backend/vif/7/1',
  '',
].join('\n');
const BLOCK_LIST = [
  'Vdev  BE  handle state evt-ch ring-ref BE-path                       ',
  '51712 0   7      4     10     8        /local/domain/0/backend/vbd/7/51712',
  '',
].join('\n');
const VCPU_LIST = [
  'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)',
  'web                                  7     0    2   -b-       6.2  2-3 / all',
  'web                                  7     1    3   r--       6.3  2-3 / all',
  '',
].join('\n');
const UPTIME = `${'Name'.padEnd(33)}   ID Uptime\n${'web'.padEnd(33)}    7 1 day,  2:03:04\n`;

function readings(over: Partial<ShowReadings> = {}): ShowReadings {
  return {
    kind: 'xl',
    host: 'xen1',
    domain: 'web',
    configDirs: ['/etc/xen/vm', '/etc/xen/auto'],
    summary: web,
    listLong: ok(LIST_LONG),
    networkList: ok(NETWORK_LIST),
    blockList: ok(BLOCK_LIST),
    vcpuList: ok(VCPU_LIST),
    uptime: ok(UPTIME),
    configFiles: new Map([['/etc/xen/vm/web.cfg', ok('name = "web"\nmemory = 2048\n')]]),
    ...over,
  };
}

describe('assembleDetail: a running domain', () => {
  it('merges xl list -l with the live lists: MAC from network-list, bridge from the config, disks by device number, live pinning', () => {
    const d = assembleDetail(readings());
    expect(d).toMatchObject({
      name: 'web',
      source: 'toolstack',
      uuid: web.uuid,
      type: 'pv',
      memoryMiB: 2048,
      maxMemoryMiB: 4096,
      vcpus: 2,
      maxVcpus: 4,
      cpus: '2-3',
      uptimeSeconds: 86_400 + 2 * 3600 + 3 * 60 + 4,
      configFileRead: null,
      unavailable: [],
      notes: [],
      liveDevices: { nics: true, disks: true },
    });
    expect(d.nics).toEqual([
      {
        index: 0,
        mac: '00:16:3e:0a:00:03',
        bridge: 'br-lan',
        ips: [],
        script: null,
        gatewaydev: null,
        vifname: null,
        model: null,
        state: 4,
        configured: true,
        live: true,
      },
      // Hot-plugged: in network-list, not in the stored config — shown, with nothing made up for it.
      expect.objectContaining({ index: 1, mac: '00:16:3e:77:00:09', bridge: null, ips: [], configured: false, live: true }),
    ]);
    expect(d.disks).toEqual([
      expect.objectContaining({
        vdev: 'xvda',
        devid: 51712,
        target: '/dev/vg0/web-disk',
        mode: 'rw',
        state: 4,
        configured: true,
        live: true,
      }),
      expect.objectContaining({ vdev: 'xvdb', devid: 51728, target: '/srv/xen/web-data.img', mode: 'ro', state: null, live: false }),
    ]);
    expect(d.vcpuList).toEqual([
      { vcpu: 0, cpu: 2, state: '-b-', timeSeconds: 6.2, hard: '2-3', soft: 'all' },
      { vcpu: 1, cpu: 3, state: 'r--', timeSeconds: 6.3, hard: '2-3', soft: 'all' },
    ]);
  });

  it('says what failed or could not be read, and never fills it in', () => {
    const d = assembleDetail(
      readings({
        listLong: ok('[]\n'),
        networkList: failed(1, 'libxl: error: libxl_device.c:1299:libxl__device_nic_list: oops\n', NETWORK_LIST.split('\n')[0]),
        blockList: ok(`${BLOCK_LIST}51728 0   7      4\n`),
        vcpuList: ok(
          sample('xl-vcpu-list__xensifter-test-xen-4.18.txt').replaceAll('Domain-0', 'web     ').replaceAll('     0     ', '     7     '),
        ),
        uptime: undefined,
      }),
    );
    expect(d.source).toBe('config-file');
    expect(d.configFileRead).toBe('/etc/xen/vm/web.cfg');
    expect(d.notes).toEqual([
      'xl list -l web holds no configuration for it (xl keeps none for a domain it did not create)',
      'xl network-list web failed (exit 1): libxl: error: libxl_device.c:1299:libxl__device_nic_list: oops',
      'could not read this line of xl block-list web: "51728 0   7      4"',
      expect.stringMatching(/^could not read this line of xl vcpu-list web: "web .* 14 \/ al"$/),
      'xl uptime web gave no answer',
    ]);
    expect(d.liveDevices).toEqual({ nics: false, disks: true });
    expect(d.uptimeSeconds).toBeNull();
    expect(d.vcpuList).toHaveLength(7);
  });

  it('notes a list -l that is no JSON, and a domid that differs from the list (restarted between the two)', () => {
    expect(assembleDetail(readings({ listLong: ok('(domain (name web))') })).notes[0]).toMatch(
      /^could not read xl list -l web: xl list -l: not JSON/,
    );
    expect(assembleDetail(readings({ listLong: ok(LIST_LONG.replace('"domid":7', '"domid":9')) })).notes).toEqual([
      'xl list -l web shows domid 9 but the list 7: restarted between the two?',
    ]);
  });

  it('reads an xm host: SXP for the configuration, the same live lists', () => {
    const sxp = sample('xm-list-long-sxp__ganeti-xen-4.0.1.txt');
    const summary: DomainSummary = { ...web, name: 'instance1.example.com', id: 119, uuid: null, configPath: null };
    const d = assembleDetail(
      readings({
        kind: 'xm',
        domain: 'instance1.example.com',
        summary,
        listLong: ok(sxp),
        networkList: ok(
          'Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path\n0   0  aa:00:00:30:8d:9d    0     4      20    1280 /1281    /local/domain/0/backend/vif/119/0  \n',
        ),
        blockList: ok(
          'Vdev  BE handle state evt-ch ring-ref BE-path\n2048     0    0     4      11     11    /local/domain/0/backend/vbd/119/2048\n',
        ),
        vcpuList: ok(
          `${'Name'.padEnd(32)}    ID  VCPU   CPU State   Time(s) CPU Affinity\n${'instance1.example.com'.padEnd(32)}   119     0     2   -b-      24.1 any cpu\n`,
        ),
        uptime: ok(`Name                              ID Uptime \ninstance1.example.com            119  0:15:00\n`),
        configFiles: new Map(),
      }),
    );
    expect(d).toMatchObject({
      source: 'toolstack',
      uuid: 'e430b4b8-dc91-9390-dfe0-b83c138ea0aa',
      maxMemoryMiB: 128,
      uptimeSeconds: 900,
      notes: [],
    });
    expect(d.nics).toEqual([
      expect.objectContaining({ mac: 'aa:00:00:30:8d:9d', bridge: 'xen-br0', script: 'vif-bridge', state: 4, live: true }),
    ]);
    expect(d.disks).toEqual([expect.objectContaining({ vdev: 'sda', devid: 2048, state: 4, live: true })]);
    expect(d.vcpuList).toEqual([{ vcpu: 0, cpu: 2, state: '-b-', timeSeconds: 24.1, hard: 'any cpu', soft: null }]);
  });
});

describe('assembleDetail: a domain that is not running', () => {
  const mail: DomainSummary = {
    ...web,
    name: 'mail',
    uuid: null,
    id: null,
    status: 'defined',
    flags: '',
    memoryMiB: null,
    vcpus: null,
    cpuSeconds: null,
    configPath: '/etc/xen/vm/mail.cfg',
  };
  const invalid = failed(1, 'mail is an invalid domain identifier (rc=-6)\n');

  it('shows what its config file says, and says plainly what cannot be shown; the failing live commands are no notes', () => {
    const d = assembleDetail(
      readings({
        domain: 'mail',
        summary: mail,
        listLong: invalid,
        networkList: failed(1, 'mail is an invalid domain identifier (rc=-6)\n', NETWORK_LIST.split('\n')[0]),
        blockList: ok(BLOCK_LIST.split('\n')[0] as string),
        vcpuList: invalid,
        uptime: invalid,
        configFiles: new Map([
          [
            '/etc/xen/vm/mail.cfg',
            ok(
              'name = "mail"\nuuid = "11111111-2222-3333-4444-555555555555"\nmemory = 1024\nvcpus = 2\ncpus = "1"\ndisk = [ \'phy:/dev/vg0/mail-disk,xvda,w\' ]\nvif = [ \'bridge=br-lan,ip=10.0.0.25\' ]\n',
            ),
          ],
        ]),
      }),
    );
    expect(d).toMatchObject({
      source: 'config-file',
      configFileRead: '/etc/xen/vm/mail.cfg',
      uuid: '11111111-2222-3333-4444-555555555555',
      memoryMiB: 1024,
      maxMemoryMiB: null,
      vcpus: 2,
      cpus: '1',
      vcpuList: null,
      uptimeSeconds: null,
      liveDevices: { nics: false, disks: false },
      unavailable: ['mail is not running: it has no domid, uptime, live vCPU placement or device state'],
      notes: [],
    });
    expect(d.nics).toEqual([
      expect.objectContaining({ index: 0, mac: null, bridge: 'br-lan', ips: ['10.0.0.25'], state: null, live: false }),
    ]);
    expect(d.disks).toEqual([expect.objectContaining({ vdev: 'xvda', target: '/dev/vg0/mail-disk', mode: 'rw', live: false })]);
  });

  it('a config file outside the config dirs is not read, and that is said', () => {
    const d = assembleDetail(readings({ domain: 'mail', summary: { ...mail, configPath: '/etc/xen/mail.cfg' }, configFiles: new Map() }));
    expect(d.source).toBeNull();
    expect(d.unavailable).toEqual([
      'mail is not running: it has no domid, uptime, live vCPU placement or device state',
      'its config file /etc/xen/mail.cfg is outside the config dirs (/etc/xen/vm, /etc/xen/auto): xenops does not read it',
    ]);
  });

  it('a config file that could not be read is a note', () => {
    const d = assembleDetail(
      readings({
        domain: 'mail',
        summary: mail,
        configFiles: new Map([['/etc/xen/vm/mail.cfg', failed(1, 'cat: /etc/xen/vm/mail.cfg: Permission denied\n')]]),
      }),
    );
    expect(d.notes).toEqual(['could not read /etc/xen/vm/mail.cfg: cat: /etc/xen/vm/mail.cfg: Permission denied']);
  });
});

describe('the argv of /show', () => {
  it('names the toolstack and a validated domain (Domain-0 too: it is a read)', () => {
    expect(argv.listLongOf('xl', 'web')).toEqual(['xl', 'list', '-l', 'web']);
    expect(argv.networkList('xm', 'web')).toEqual(['xm', 'network-list', 'web']);
    expect(argv.blockList('xl', 'Domain-0')).toEqual(['xl', 'block-list', 'Domain-0']);
    expect(argv.vcpuList('xl', 'web')).toEqual(['xl', 'vcpu-list', 'web']);
    expect(argv.uptimeOf('xl', 'web')).toEqual(['xl', 'uptime', 'web']);
    for (const bad of ['../x', 'a b', '123', '$(id)', 'web--incoming']) expect(() => argv.listLongOf('xl', bad)).toThrow(UserError);
  });

  it('cats only DIR/NAME.cfg for DIR one of the config dirs', () => {
    const dirs = ['/etc/xen/vm', '/etc/xen/auto/'];
    expect(argv.readConfig(dirs, '/etc/xen/vm', 'mail')).toEqual(['cat', '/etc/xen/vm/mail.cfg']);
    expect(argv.readConfig(dirs, '/etc/xen/auto', 'mail')).toEqual(['cat', '/etc/xen/auto/mail.cfg']);
    expect(() => argv.readConfig(dirs, '/etc', 'shadow')).toThrow(/not a config dir/);
    expect(() => argv.readConfig(['/etc/xen/../'], '/etc/xen/..', 'x')).toThrow(/not a config dir/);
    expect(() => argv.readConfig(dirs, '/etc/xen/vm', '../../shadow')).toThrow(UserError);
  });
});
