import { describe, expect, it } from 'vitest';
import type { HistoryFigures, HistoryPoint } from '../core/samples.ts';
import { chartOption, renderSvg } from './charts.ts';

const T0 = Date.UTC(2026, 7, 1, 12, 0);
const WEB = '#c62828';

function figures(cpuAvg: number, memoryMiB: number): HistoryFigures {
  return {
    cpuAvg,
    cpuMax: cpuAvg,
    memoryKiB: memoryMiB * 1024,
    cpuSeconds: 0,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

/** The marks echarts drew for the data (not the legend's icons), filled in the series' color. */
function dots(svg: string, color: string): number {
  return (svg.match(/<path [^>]*>/g) ?? []).filter((p) => p.includes('ecmeta_ssr_type="chart"') && p.includes(`fill="${color}"`)).length;
}

describe('a chart of very few samples', () => {
  it('GIVEN a single history point THEN each figure is drawn as a dot on an axis of minutes, not an empty chart over days', async () => {
    const points: HistoryPoint[] = [{ at: T0, domains: { 'Domain-0': figures(5, 1024), web: figures(40, 2048) } }];
    const option = chartOption('xen1', points, 500) as { xAxis: { min: number; max: number }[]; title: { text: string }[] };
    for (const axis of option.xAxis) {
      expect(axis.max).toBe(T0);
      expect(axis.min).toBe(T0 - 5 * 60_000);
    }
    expect(option.title[0]?.text).toContain('11:55–12:00 UTC');
    const svg = await renderSvg(chartOption('xen1', points, 500), 800, 500);
    expect(dots(svg, WEB)).toBe(2); // CPU and memory
  }, 30_000);

  it('GIVEN a guest seen in one point of an hour THEN that point is a dot, and the other lines have none', async () => {
    const points: HistoryPoint[] = Array.from({ length: 60 }, (_, i) => ({
      at: T0 + i * 60_000,
      domains: { 'Domain-0': figures(3, 1024), ...(i === 30 ? { web: figures(80, 2048) } : {}) },
    }));
    const svg = await renderSvg(chartOption('xen1', points, 500), 800, 500);
    expect(dots(svg, WEB)).toBe(2);
    expect(dots(svg, '#1565c0')).toBe(0);
  }, 30_000);
});
