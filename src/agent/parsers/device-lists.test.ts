import { describe, expect, it } from 'vitest';
import { fixture as sample } from '../../../test/helpers/fixtures.ts';
import { parseBlockList, parseNetworkList, parseVcpuList, vdevName, vdevNumber } from './device-lists.ts';

/** `xl network-list web` as tools/xl/xl_nic.c prints it (header `%-3s %-2s %-17s …`, rows `%-3d %-2d ` MAC `%6d %5d …`). */
const XL_NETWORK_LIST = [
  'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       ',
  '0   0  00:16:3e:0a:00:01     0     4     20  1280/1281        /local/domain/0/backend/vif/7/0',
  '1   0  00:16:3E:51:F9:9E     1     4     22  1282/1283        /local/domain/0/backend/vif/7/1',
  '',
].join('\n');

/** `xm network-list` as xm/main.py (Xen 4.1) prints it: BE `%-3d` glued to the MAC, `??` and -1 where xenstore had nothing. */
const XM_NETWORK_LIST = [
  'Idx BE     MAC Addr.     handle state evt-ch tx-/rx-ring-ref BE-path',
  '0   0  00:16:3e:0a:00:01    0     4      20    1280 /1281    /local/domain/0/backend/vif/3/0  ',
  '1   0  ??                   1     1      -1    -1   /-1      /local/domain/0/backend/vif/3/1  ',
  '',
].join('\n');

describe('parseNetworkList', () => {
  it('reads xl rows: index, backend, MAC (lower case), state, event channel, rings and backend path', () => {
    const r = parseNetworkList(XL_NETWORK_LIST);
    expect(r.sawHeader).toBe(true);
    expect(r.unparsed).toEqual([]);
    expect(r.rows).toEqual([
      {
        index: 0,
        backend: 0,
        mac: '00:16:3e:0a:00:01',
        handle: 0,
        state: 4,
        eventChannel: 20,
        txRingRef: 1280,
        rxRingRef: 1281,
        backendPath: '/local/domain/0/backend/vif/7/0',
      },
      expect.objectContaining({ index: 1, mac: '00:16:3e:51:f9:9e', state: 4, backendPath: '/local/domain/0/backend/vif/7/1' }),
    ]);
  });

  it("reads xm's layout, a `??` MAC as unknown and -1 values as printed", () => {
    const r = parseNetworkList(XM_NETWORK_LIST);
    expect(r.unparsed).toEqual([]);
    expect(r.rows.map((x) => [x.index, x.mac, x.state, x.eventChannel, x.txRingRef, x.rxRingRef])).toEqual([
      [0, '00:16:3e:0a:00:01', 4, 20, 1280, 1281],
      [1, null, 1, -1, -1, -1],
    ]);
  });

  it('an xl header alone is no vifs; empty output (xm without vifs) too', () => {
    expect(parseNetworkList(XL_NETWORK_LIST.split('\n')[0] as string)).toEqual({ rows: [], unparsed: [], sawHeader: true });
    expect(parseNetworkList('')).toEqual({ rows: [], unparsed: [], sawHeader: false });
  });

  it('keeps a line it cannot read (a truncated row, a stray message) instead of guessing', () => {
    const r = parseNetworkList(`${XL_NETWORK_LIST}2   0  00:16:3e:aa:bb     2     4\nlibxl: error: libxl_device.c:1174: no such device\n`);
    expect(r.rows).toHaveLength(2);
    expect(r.unparsed).toEqual([
      { lineNumber: 4, line: '2   0  00:16:3e:aa:bb     2     4' },
      { lineNumber: 5, line: 'libxl: error: libxl_device.c:1174: no such device' },
    ]);
  });
});

describe('parseBlockList', () => {
  it('reads the real xm block-list of exabox (jydas1973/exabox tests_cludomupartitions.py): xvdb2 as 51730', () => {
    const text =
      'Vdev  BE handle state evt-ch ring-ref BE-path\n51730    0    0     4      11     11    /local/domain/0/backend/vbd/10/51730';
    expect(parseBlockList(text)).toEqual({
      rows: [
        {
          devid: 51730,
          backend: 0,
          handle: 0,
          state: 4,
          eventChannel: 11,
          ringRef: 11,
          backendPath: '/local/domain/0/backend/vbd/10/51730',
        },
      ],
      unparsed: [],
      sawHeader: true,
    });
    expect(vdevName(51730)).toBe('xvdb2');
  });

  it('reads xl rows (tools/xl/xl_block.c widths) on the vbd and qdisk backends', () => {
    const text = [
      'Vdev  BE  handle state evt-ch ring-ref BE-path                       ',
      '51712 0   7      4     10     8        /local/domain/0/backend/vbd/7/51712',
      '51728 0   7      4     11     9        /local/domain/0/backend/qdisk/7/51728',
      '',
    ].join('\n');
    const r = parseBlockList(text);
    expect(r.unparsed).toEqual([]);
    expect(r.rows.map((x) => [x.devid, x.state, x.backendPath])).toEqual([
      [51712, 4, '/local/domain/0/backend/vbd/7/51712'],
      [51728, 4, '/local/domain/0/backend/qdisk/7/51728'],
    ]);
  });

  it('keeps a row of the wrong shape', () => {
    const r = parseBlockList('Vdev  BE handle state evt-ch ring-ref BE-path\nxvda 0 7 4 10 8 /local/domain/0/backend/vbd/7/51712\n');
    expect(r.rows).toEqual([]);
    expect(r.unparsed).toEqual([{ lineNumber: 2, line: 'xvda 0 7 4 10 8 /local/domain/0/backend/vbd/7/51712' }]);
  });
});

describe('parseVcpuList', () => {
  it('reads the real sample with an offline vCPU (CPU -, state --p) and keeps the echoed command line as unread', () => {
    const r = parseVcpuList(sample('xl-vcpu-list-offline-vcpu__ubuntuforums-2017.txt'));
    expect(r.rows).toEqual([
      { name: 'Domain-0', id: 0, vcpu: 0, cpu: 0, state: 'r--', timeSeconds: 388.1, hard: 'all', soft: 'all' },
      { name: 'Domain-0', id: 0, vcpu: 1, cpu: null, state: '--p', timeSeconds: 0, hard: 'all', soft: 'all' },
    ]);
    expect(r.unparsed).toEqual([{ lineNumber: 1, line: 'xl vcpu-list' }]);
  });

  it('reads the real Xen 4.18 sample with pinned vCPUs; its truncated last line ("14 / al") is reported, not guessed', () => {
    const r = parseVcpuList(sample('xl-vcpu-list__xensifter-test-xen-4.18.txt'));
    expect(r.sawHeader).toBe(true);
    expect(r.rows.map((x) => [x.vcpu, x.cpu, x.state, x.hard, x.soft])).toEqual([
      [0, 0, '-b-', '0', 'all'],
      [1, 2, 'r--', '2', 'all'],
      [2, 4, '-b-', '4', 'all'],
      [3, 6, '-b-', '6', 'all'],
      [4, 8, '-b-', '8', 'all'],
      [5, 10, '-b-', '10', 'all'],
      [6, 12, '-b-', '12', 'all'],
    ]);
    expect(r.unparsed).toEqual([{ lineNumber: 9, line: 'Domain-0                             0     7   14   -b-     212.7  14 / al' }]);
  });

  it("reads xm's one CPU Affinity column (any cpu, ranges) and its blank CPU and State for a vCPU with no CPU", () => {
    const text = [
      `${'Name'.padEnd(32)}    ID  VCPU   CPU State   Time(s) CPU Affinity`,
      `${'web'.padEnd(32)}     3     0     2   -b-      12.5 any cpu`,
      `${'web'.padEnd(32)}     3     1     5   r--       3.0 4-5,7`,
      `${'web'.padEnd(32)}     3     2                   0.0 any cpu`,
    ].join('\n');
    const r = parseVcpuList(text);
    expect(r.unparsed).toEqual([]);
    expect(r.rows.map((x) => [x.vcpu, x.cpu, x.state, x.hard, x.soft])).toEqual([
      [0, 2, '-b-', 'any cpu', null],
      [1, 5, 'r--', '4-5,7', null],
      [2, null, '', 'any cpu', null],
    ]);
  });

  it('keeps names with spaces (xl allows them) and refuses an affinity that is no CPU list', () => {
    const r = parseVcpuList(
      `${'s-vm 007'.padEnd(32)}    12     0    3   -b-       1.0  3 / all\n${'web'.padEnd(32)}     3     0    3   -b-       1.0  three / all\n`,
    );
    expect(r.rows.map((x) => x.name)).toEqual(['s-vm 007']);
    expect(r.unparsed).toHaveLength(1);
  });
});

describe('vdevNumber / vdevName (libxl__device_disk_dev_number)', () => {
  it('numbers xvd, hd, sd and dNpM names as libxl does, and names them back', () => {
    const cases: [string, number][] = [
      ['xvda', 51712],
      ['xvdb', 51728],
      ['xvdb2', 51730],
      ['xvdp15', (202 << 8) | (15 << 4) | 15],
      ['xvdq', (1 << 28) | (16 << 8)],
      ['xvdaa', (1 << 28) | (26 << 8)],
      ['hda', 768],
      ['hdb', 832],
      ['hdc', 5632],
      ['sda', 2048],
      ['sdb1', 2065],
    ];
    for (const [name, n] of cases) {
      expect(vdevNumber(name)).toBe(n);
      expect(vdevName(n)).toBe(name);
    }
    expect(vdevNumber('d0p1')).toBe(51713);
    expect(vdevNumber('51712')).toBe(51712);
    expect(vdevNumber('xvda:disk')).toBe(51712);
  });

  it('gives null for names of no scheme libxl knows, and numbers of none', () => {
    for (const bad of ['hde', 'sdq', 'xvda01', 'vda', 'xvd', '', 'eth0']) expect(vdevNumber(bad)).toBeNull();
    expect(vdevName(12345)).toBeNull();
  });
});
