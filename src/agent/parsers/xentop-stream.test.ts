import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { parseXentop } from './xentop.ts';
import { XentopStream } from './xentop-stream.ts';

const TWO = fixture('xentop-b-i2-d1__xentop-ng-xcpng-8.3.txt');
const HEADER = TWO.split('\n')[0] as string;
const [FIRST, SECOND] = (() => {
  const lines = TWO.split('\n');
  const second = lines.indexOf(HEADER, 1);
  return [`${lines.slice(0, second).join('\n')}\n`, `${lines.slice(second).join('\n').replace(/\n*$/, '')}\n`];
})() as [string, string];

describe('XentopStream', () => {
  it('hands out an iteration when the next header arrives, with the same rows as parseXentop', () => {
    const s = new XentopStream();
    expect(s.push(FIRST)).toEqual([]);
    const out = s.push(SECOND);
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(parseXentop(FIRST).rows);
    expect(out[0]?.map((r) => r.name)).toContain('s-vm 007');
    expect(out[0]?.[0]?.cpuPercent).toBe(0);
    // The second iteration is held until flush (or the next header).
    expect(s.flush()).toEqual([parseXentop(TWO).rows]);
    expect(s.flush()).toEqual([]);
    expect(s.stats).toMatchObject({ iterations: 2, unparsed: 0, lateRows: 0 });
  });

  it('copes with chunks split anywhere, including mid-line and mid-header', () => {
    const text = `${TWO.replace(/\n*$/, '\n')}${HEADER}\n`;
    const whole = new XentopStream().push(text);
    for (const size of [1, 7, 64, 333]) {
      const s = new XentopStream();
      const got = [];
      for (let i = 0; i < text.length; i += size) got.push(...s.push(text.slice(i, i + size)));
      expect(got).toEqual(whole);
      expect(got).toHaveLength(2);
    }
  });

  it('keeps a line without its newline until it is complete, even across a flush', () => {
    const s = new XentopStream();
    const lines = SECOND.split('\n');
    s.push(`${lines.slice(0, 3).join('\n')}\n${(lines[3] ?? '').slice(0, 20)}`);
    const flushed = s.flush();
    expect(flushed[0]).toHaveLength(2);
    // The rest of the cut row arrives late: counted, dropped, not guessed into another iteration.
    expect(s.push(`${(lines[3] ?? '').slice(20)}\n`)).toEqual([]);
    expect(s.stats.lateRows).toBe(1);
    // The next header starts afresh.
    s.push(SECOND);
    expect(s.flush()[0]).toHaveLength(9);
  });

  it('counts unparsable lines and keeps a few, skipping known noise and CRLF endings', () => {
    const s = new XentopStream();
    const noisy = `${HEADER}\r\nVCPUs(sec):   0:     10s\r\ngarbage one\r\n${SECOND.split('\n')[1]}\r\ngarbage two\r\n`;
    s.push(noisy);
    const [rows] = s.flush();
    expect(rows).toHaveLength(1);
    expect(rows?.[0]?.name).toBe('b-vm-01');
    expect(s.stats.unparsed).toBe(2);
    expect(s.stats.unparsedSamples).toEqual(['garbage one', 'garbage two']);
  });

  it('reads the Xen 3.x layout (no sector columns) from its header', () => {
    const header3 =
      '      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR SSID';
    const row3 =
      '  Domain-0 -----r       1234    2.0    1048576   25.0   no limit       n/a     2    0        0        0    0        0        0        0    0';
    const s = new XentopStream();
    s.push(`${header3}\n${row3}\n`);
    const [rows] = s.push(`${header3}\n`);
    expect(rows?.[0]).toMatchObject({ name: 'Domain-0', maxMemoryKiB: null, vbdRsect: null, ssid: 0, cpuPercent: 2 });
  });

  it('does not hand out an empty iteration (a header with no rows yet)', () => {
    const s = new XentopStream();
    expect(s.push(`${HEADER}\n${HEADER}\n`)).toEqual([]);
    expect(s.flush()).toEqual([]);
  });
});
