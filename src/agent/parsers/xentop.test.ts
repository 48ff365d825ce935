import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import type { TopRow } from './types.ts';
import { parseXentop } from './xentop.ts';

type Cells = [
  string,
  string,
  number,
  number,
  number,
  number,
  number | null,
  number | null,
  number,
  number,
  number,
  number,
  number,
  number | null,
  number | null,
  number | null,
  number | null,
  number | null,
  number,
];
const r = (...c: Cells): TopRow => ({
  name: c[0],
  state: c[1],
  cpuSeconds: c[2],
  cpuPercent: c[3],
  memoryKiB: c[4],
  memoryPercent: c[5],
  maxMemoryKiB: c[6],
  maxMemoryPercent: c[7],
  vcpus: c[8],
  nets: c[9],
  netTxKiB: c[10],
  netRxKiB: c[11],
  vbds: c[12],
  vbdOO: c[13],
  vbdRd: c[14],
  vbdWr: c[15],
  vbdRsect: c[16],
  vbdWsect: c[17],
  ssid: c[18],
});

describe('parseXentop on real samples', () => {
  it('takes the second iteration of xentop -b -i 2 -d 1 (XCP-ng 8.3), names with spaces included', () => {
    const p = parseXentop(fixture('xentop-b-i2-d1__xentop-ng-xcpng-8.3.txt'));
    expect(p.iterations).toBe(2);
    expect(p.unparsed).toEqual([]);
    expect(p.rows).toEqual([
      r('b-vm-01', '--b---', 30479, 1.6, 8388596, 8.4, 8389620, 8.4, 4, 0, 0, 0, 2, 0, 1333757, 8634521, 112690741, 87614100, 0),
      r('Domain-0', '-----r', 330256, 10.6, 6078464, 6.1, 6078464, 6.1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      r('f-vm-02', '--b---', 38107, 0.5, 4194292, 4.2, 4195316, 4.2, 2, 0, 0, 0, 2, 0, 9093848, 13998648, 685047429, 424867416, 0),
      r('h-vm-03-sa', '--b---', 4069, 2.9, 4196328, 4.2, 4197352, 4.2, 2, 0, 0, 0, 1, 0, 317002, 347166, 9036992, 8414737, 0),
      r('i-vm04', '--b---', 19, 1.3, 8390632, 8.4, 8391656, 8.4, 8, 0, 0, 0, 1, 0, 24163, 1357, 1008055, 28920, 0),
      r('n-vm-05-x', '--b---', 10482, 0.3, 4194292, 4.2, 4195316, 4.2, 2, 0, 0, 0, 2, 0, 1603173, 2990090, 33136282, 29349388, 0),
      r('r-vm-06 pr', '--b---', 13749, 0.4, 2097140, 2.1, 2098164, 2.1, 2, 0, 0, 0, 1, 0, 19961, 1436385, 858542, 19087516, 0),
      r('s-vm 007', '--b---', 40174, 1.6, 8388596, 8.4, 8389620, 8.4, 4, 0, 0, 0, 2, 0, 1206680, 3036140, 64463369, 220737293, 0),
      r('xvm', '--b---', 76038, 2.2, 2097140, 2.1, 2098164, 2.1, 2, 0, 0, 0, 1, 0, 169903, 4889431, 5231610, 66013528, 0),
    ]);
  });

  it('skips -n -x -v sub-lines (VCPUs, VBD) and keeps every domain row', () => {
    const p = parseXentop(fixture('xentop-b-i1-n-x-v__xentop-ng-xcpng-8.3-replayed.txt'));
    expect(p.unparsed).toEqual([]);
    expect(p.rows.map((x) => x.name)).toEqual([
      'b-vm-01',
      'Domain-0',
      'f-vm-02',
      'h-vm-03-sa',
      'i-vm04',
      'n-vm-05-x',
      'r-vm-06 pr',
      's-vm 007',
      'xvm',
    ]);
    expect(p.rows[1]).toEqual(r('Domain-0', '-----r', 330258, 0.0, 6078464, 6.1, 6078464, 6.1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    expect(p.rows[8]).toEqual(
      r('xvm', '--b---', 76038, 0.0, 2097140, 2.1, 2098164, 2.1, 2, 0, 0, 0, 1, 0, 169903, 4889434, 5231610, 66013568, 0),
    );
  });

  it('reads a huge guest and a last line without newline (exabox OVM)', () => {
    expect(parseXentop(fixture('xentop-b-i1__exabox-ovm-tests_clucontrol.txt')).rows).toEqual([
      r('c2214-vkge', '-----r', 2084, 0.0, 754978808, 93.9, 754978816, 93.9, 92, 3, 4249, 52707, 4, 0, 84460, 75132, 4754377, 8759386, 0),
      r('Domain-0', '-----r', 393575, 0.0, 9357356, 1.2, 9437184, 1.2, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    ]);
  });

  it('skips the interactive screen summary lines and reads "no limit" / "n/a" as null (xl top, Xen 4.9.2)', () => {
    const p = parseXentop(fixture('xl-top-screen__uva-sne-xen-4.9.2.txt'));
    expect(p.unparsed).toEqual([]);
    expect(p.rows).toEqual([
      r('Domain-0', '-----r', 632, 0.3, 15446944, 92.3, null, null, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
      r('guest-01', '--b---', 7, 0.0, 1048576, 6.3, 1049600, 6.3, 2, 1, 113, 34, 2, 0, 2495, 1077, 112010, 31608, 0),
    ]);
  });

  /** The sample as `xentop -b -r` prints it: the header before every domain row. */
  function withRepeatedHeader(text: string): string {
    const lines = text.split('\n').filter((l) => l.trim() !== '');
    const header = lines[0] as string;
    return lines
      .filter((l) => l !== header)
      .flatMap((l) => [header, l])
      .join('\n');
  }

  it('reads xentop -b -r -i 1 (header before every row): every row of the iteration', () => {
    const sample = fixture('xentop-b-i2-d1__xentop-ng-xcpng-8.3.txt');
    const firstIteration = sample.split('\n').slice(0, 10).join('\n');
    const p = parseXentop(withRepeatedHeader(firstIteration));
    expect(p.iterations).toBe(1);
    expect(p.unparsed).toEqual([]);
    expect(p.rows).toEqual(parseXentop(firstIteration).rows);
    expect(p.rows).toHaveLength(9);
  });

  it('reads xentop -b -r -i 2 -d 1: every row of the second iteration', () => {
    const sample = fixture('xentop-b-i2-d1__xentop-ng-xcpng-8.3.txt');
    const p = parseXentop(withRepeatedHeader(sample));
    expect(p.iterations).toBe(2);
    expect(p.rows).toEqual(parseXentop(sample).rows);
    expect(p.rows.map((x) => x.cpuPercent)).toEqual([1.6, 10.6, 0.5, 2.9, 1.3, 0.3, 0.4, 1.6, 2.2]);
  });

  it('finds no rows in xentop -h output', () => {
    const p = parseXentop(fixture('xentop-help__xentop-ng-xcpng-8.3.txt'));
    expect(p.rows).toEqual([]);
    expect(p.sawHeader).toBe(false);
  });
});

describe('parseXentop on shapes the samples do not show', () => {
  const H4 =
    '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';
  const H3 =
    '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR SSID';

  it('reads the Xen 3.x layout without VBD_RSECT/VBD_WSECT (nulls there)', () => {
    const p = parseXentop(
      `${H3}\n  Domain-0 -----r        632    0.3   15446944   92.3   no limit       n/a     8    0        0        0    0        0        0        0    0\n`,
    );
    expect(p.rows).toEqual([r('Domain-0', '-----r', 632, 0.3, 15446944, 92.3, null, null, 8, 0, 0, 0, 0, 0, 0, 0, null, null, 0)]);
  });

  it('reads "-" in VBD columns as null', () => {
    const p = parseXentop(
      `${H4}\n       web --b---         20    0.0    1048576    6.3    1049600       6.3     2    1      113       34    1        -        -        -          -          -    0\n`,
    );
    expect(p.rows[0]).toMatchObject({ name: 'web', vbdOO: null, vbdRd: null, vbdWr: null, vbdRsect: null, vbdWsect: null });
  });

  it('keeps a space that is part of the name: only the padding on its left is dropped', () => {
    const row = (printed: string) =>
      `${printed} --b---         20    0.0    1048576    6.3    1049600       6.3     2    1      113       34    1        0        1        1          8          8    0`;
    // Without -f `Ubuntu 22 LTS` prints as its first ten characters, the last a space; `web ` (a trailing space) as
    // `%10s`; with -f a long name prints whole, its trailing space too.
    const p = parseXentop([H4, row('Ubuntu 22 '), row('      web '), row('  Domain-0'), row('Ubuntu 22 LTS ')].join('\n'));
    expect(p.rows.map((x) => x.name)).toEqual(['Ubuntu 22 ', 'web ', 'Domain-0', 'Ubuntu 22 LTS ']);
  });

  it('with -r (header before every row) returns every row of the iteration', () => {
    const a =
      '       aaa --b---         20    1.0    1048576    6.3    1049600       6.3     2    1      113       34    1        0        1        1          8          8    0';
    const b =
      '       bbb -----r         30    2.0    1048576    6.3    1049600       6.3     2    1      113       34    1        0        1        1          8          8    0';
    expect(parseXentop([H4, a, H4, b].join('\n')).rows.map((x) => x.name)).toEqual(['aaa', 'bbb']);
    // two iterations with -r: the last one wins
    const a2 = a.replace('    1.0 ', '    9.0 ');
    const p = parseXentop([H4, a, H4, b, H4, a2, H4, b].join('\n'));
    expect(p.iterations).toBe(2);
    expect(p.rows.map((x) => [x.name, x.cpuPercent])).toEqual([
      ['aaa', 9],
      ['bbb', 2],
    ]);
  });

  it('with -r keeps two domains whose names xentop truncated to the same 10 characters', () => {
    const row = (name: string, cpu: string) =>
      `${name.padStart(10)} --b---         20  ${cpu.padStart(5)}    1048576    6.3    1049600       6.3     2    1      113       34    1        0        1        1          8          8    0`;
    const iteration = (cpu: string) => [
      H4,
      row('Domain-0', cpu),
      H4,
      row('webserver-', cpu),
      H4,
      row('webserver-', cpu),
      H4,
      row('xvm', cpu),
    ];
    const one = parseXentop(iteration('0.0').join('\n'));
    expect(one.iterations).toBe(1);
    expect(one.rows.map((x) => x.name)).toEqual(['Domain-0', 'webserver-', 'webserver-', 'xvm']);
    const two = parseXentop([...iteration('0.0'), ...iteration('3.5')].join('\n'));
    expect(two.iterations).toBe(2);
    expect(two.rows.map((x) => [x.name, x.cpuPercent])).toEqual([
      ['Domain-0', 3.5],
      ['webserver-', 3.5],
      ['webserver-', 3.5],
      ['xvm', 3.5],
    ]);
  });

  it('with -r and -z (Domain-0 first, then by name) splits iterations at the repeated Domain-0', () => {
    const row = (name: string, cpu: string) =>
      `${name.padStart(10)} --b---         20  ${cpu.padStart(5)}    1048576    6.3    1049600       6.3     2    1      113       34    1        0        1        1          8          8    0`;
    const iteration = (cpu: string) => [H4, row('Domain-0', cpu), H4, row('alpha', cpu), H4, row('zulu', cpu)];
    const p = parseXentop([...iteration('0.0'), ...iteration('7.0')].join('\n'));
    expect(p.iterations).toBe(2);
    expect(p.rows.map((x) => [x.name, x.cpuPercent])).toEqual([
      ['Domain-0', 7],
      ['alpha', 7],
      ['zulu', 7],
    ]);
  });

  it('reports a garbage line and tolerates CRLF', () => {
    const p = parseXentop(
      `${H4}\r\n       web --b---         20    0.0    1048576    6.3    1049600       6.3     2    1      113       34    1        0        1        1          8          8    0\r\nsegfault\r\n`,
    );
    expect(p.rows).toHaveLength(1);
    expect(p.unparsed).toEqual([{ lineNumber: 3, line: 'segfault' }]);
  });
});
