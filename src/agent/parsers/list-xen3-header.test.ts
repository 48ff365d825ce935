import { describe, expect, it } from 'vitest';
import { parseList } from './list.ts';

/**
 * xm of Xen 3.0 headed its list `Mem(MiB)` (3.0 xm/main.py xm_brief_list: `'Name   ID Mem(MiB) VCPUs State
 * Time(s)'`), as CentOS 5 hosts print it; the rows read as later xm's do.
 */
describe('parseList: the xm list of Xen 3.0 (Mem(MiB) in the header)', () => {
  it('reads the CentOS 5 layout (name padded to 40) as a list with its rows', () => {
    const text = [
      'Name                                      ID Mem(MiB) VCPUs State   Time(s)',
      'Domain-0                                   0      934     2 r-----     37.6',
      'xen1                                       3      519     1 -b----     33.4',
      '',
    ].join('\n');
    const parsed = parseList(text);
    expect(parsed.sawHeader).toBe(true);
    expect(parsed.unparsed).toEqual([]);
    expect(parsed.rows).toEqual([
      { name: 'Domain-0', id: 0, memoryMiB: 934, vcpus: 2, state: 'r-----', cpuSeconds: 37.6 },
      { name: 'xen1', id: 3, memoryMiB: 519, vcpus: 1, state: '-b----', cpuSeconds: 33.4 },
    ]);
  });

  it('reads the 3.0.0 layout (`%-32s %3d %8d %5d %5s %7.1f`)', () => {
    const text = [
      'Name                              ID Mem(MiB) VCPUs State  Time(s)',
      'Domain-0                           0      256     1 r-----    120.5',
      '',
    ].join('\n');
    const parsed = parseList(text);
    expect(parsed.sawHeader).toBe(true);
    expect(parsed.unparsed).toEqual([]);
    expect(parsed.rows.map((r) => [r.name, r.id, r.memoryMiB])).toEqual([['Domain-0', 0, 256]]);
  });
});
