import { describe, expect, it } from 'vitest';
import { digestFigures } from './digest.ts';
import type { HistoryFigures, HistoryPoint } from './samples.ts';

const fig = (cpuAvg: number, cpuMax: number, cpuSeconds: number): HistoryFigures => ({
  cpuAvg,
  cpuMax,
  cpuSeconds,
  memoryKiB: 1024,
  netTxKiBps: null,
  netRxKiBps: null,
  vbdRdPerSec: null,
  vbdWrPerSec: null,
});
const point = (at: number, domains: Record<string, HistoryFigures>): HistoryPoint => ({ at, domains });

describe('digestFigures', () => {
  it('GIVEN a day of points THEN peak and mean CPU per domain, busiest first', () => {
    const rows = digestFigures([
      point(1, { web: fig(10, 40, 100), db: fig(1, 2, 50) }),
      point(2, { web: fig(20, 90, 160), db: fig(3, 5, 52) }),
    ]);
    expect(rows).toEqual([
      { name: 'web', peakCpuPercent: 90, avgCpuPercent: 15, restarts: 0 },
      { name: 'db', peakCpuPercent: 5, avgCpuPercent: 2, restarts: 0 },
    ]);
  });

  // A gap is not a restart: a guest migrated away and back is a new domain here too, which the history cannot tell
  // from one stopped and started.
  it('GIVEN CPU time going backwards THEN a restart; a domain back after a gap THEN none', () => {
    const rows = digestFigures([
      point(1, { web: fig(1, 1, 500) }),
      point(2, { web: fig(1, 1, 3) }), // rebooted within the window
      point(3, {}), // stopped, or migrated away
      point(4, { web: fig(1, 1, 1) }), // started again, or back
      point(5, { web: fig(1, 1, 2) }),
    ]);
    expect(rows[0]?.restarts).toBe(1);
  });
});
