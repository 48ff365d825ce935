import { describe, expect, it } from 'vitest';
import { parseXentop } from './xentop.ts';
import { XentopStream } from './xentop-stream.ts';

const HEADER =
  '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID';
const GOOD =
  '   b-vm-01 --b---      30479    1.6    8388596    8.4    8389620       8.4     4    0        0        0    2        0  1333757  8634521  112690741   87614100    0';
/** Two lines garbled on the wire (a dropped byte merged two figures, a figure lost its digits): no number to read. */
const GARBLED = [
  '   web-01 --b---      30479    1.6.2    8388596    8.4    8389620       8.4     4    0        0        0    2        0  1333757  8634521  112690741   87614100    0',
  '   web-02 --b---      30479    .    8388596    8.4    8389620       8.4     4    0        0        0    2        0  1333757  8634521  112690741   87614100    0',
];

describe('xentop rows with a figure that is not a number', () => {
  it('GIVEN CPU(%) printed `1.6.2` or `.` THEN the line is reported as unread, never a domain at NaN %', () => {
    const parsed = parseXentop([HEADER, GOOD, ...GARBLED].join('\n'));
    expect(parsed.rows.map((r) => r.name)).toEqual(['b-vm-01']);
    expect(parsed.unparsed.map((u) => u.lineNumber)).toEqual([3, 4]);
  });

  it('GIVEN the same lines in the sampler stream THEN they are counted as unparsed, not sampled', () => {
    const stream = new XentopStream();
    stream.push(`${[HEADER, GOOD, ...GARBLED].join('\n')}\n`);
    const [rows] = stream.flush();
    expect(rows?.map((r) => r.name)).toEqual(['b-vm-01']);
    expect(stream.stats.unparsed).toBe(2);
  });
});

describe('xentop rows whose CPU(%) is no figure xentop could compute', () => {
  it('GIVEN CPU(%) printed -nan, inf or -3.5 (Dom0 clock stood still or stepped back) THEN the row is read, its CPU% null', () => {
    const rows = ['-nan', 'inf', '-3.5', '-0.0'].map((cpu, i) =>
      GOOD.replace('b-vm-01', `b-vm-0${i + 2}`).replace('   1.6 ', `${cpu.padStart(6)} `),
    );
    const parsed = parseXentop([HEADER, GOOD, ...rows].join('\n'));
    expect(parsed.unparsed).toEqual([]);
    expect(parsed.rows.map((r) => [r.name, r.cpuPercent, r.memoryKiB])).toEqual([
      ['b-vm-01', 1.6, 8388596],
      ['b-vm-02', null, 8388596],
      ['b-vm-03', null, 8388596],
      ['b-vm-04', null, 8388596],
      ['b-vm-05', null, 8388596],
    ]);
  });
});
