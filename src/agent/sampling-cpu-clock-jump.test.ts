import { describe, expect, it } from 'vitest';
import { parseXentopRow } from './parsers/xentop.ts';
import { RollupWindow, toHostSample } from './sampling.ts';

/**
 * xentop takes CPU% over gettimeofday(): when Dom0's clock steps back (NTP after a suspend, a hand-set clock) the
 * interval it divides by is a fraction of the real one, and a guest's figure comes out many times what its vCPUs can
 * use. Rows as xentop -b -f prints them (Xen 4.x columns).
 */
const HEADER_HAS_SECTORS = true;
const before = [
  parseXentopRow(
    '  Domain-0 -----r       5000    8.0    2097152   12.5   no limit       n/a     4    0        0        0    0        0        0        0          0          0    0',
    HEADER_HAS_SECTORS,
  ),
  parseXentopRow(
    '       web --b---        120   80.0    1048576    6.2    1049600       6.2     2    1      113       34    1        0     2495     1077      19960       8616    0',
    HEADER_HAS_SECTORS,
  ),
];
// 4.9 s of the 5 s interval taken back by the clock: 0.1 s is what xentop divides by.
const after = [
  parseXentopRow(
    '  Domain-0 -----r       5000  400.0    2097152   12.5   no limit       n/a     4    0        0        0    0        0        0        0          0          0    0',
    HEADER_HAS_SECTORS,
  ),
  parseXentopRow(
    '       web --b---        124 4000.0    1048576    6.2    1049600       6.2     2    1      113       34    1        0     2495     1077      19960       8616    0',
    HEADER_HAS_SECTORS,
  ),
];

describe('a CPU% past what the domain’s vCPUs can use (Dom0’s clock stepped back under xentop)', () => {
  it('GIVEN web (2 vCPUs) printed at 4000% THEN it is no reading ("-"), kept out of the history’s peak, and Domain-0’s 400% of 4 stays', () => {
    expect(before.every((r) => r !== null) && after.every((r) => r !== null)).toBe(true);
    const prev = { at: 1_000, rows: before.flatMap((r) => (r ? [r] : [])) };
    const cur = { at: 6_000, rows: after.flatMap((r) => (r ? [r] : [])) };
    const sample = toHostSample('xen1', prev, cur, 5);
    const cpu = Object.fromEntries(sample.domains.map((d) => [d.name, d.cpuPercent]));
    expect(cpu).toEqual({ 'Domain-0': 400, web: null });
    const window = new RollupWindow();
    window.add(sample);
    expect(window.point(6_000).domains['web']).toBeUndefined();
  });
});
