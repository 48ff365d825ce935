import { describe, expect, it } from 'vitest';
import type { HistoryFigures, HistoryPoint } from '../core/samples.ts';
import { chartOption, renderHostChart, renderSvg } from './charts.ts';

const T0 = Date.UTC(2026, 7, 1, 12, 0);

function figures(cpuAvg: number): HistoryFigures {
  return {
    cpuAvg,
    cpuMax: cpuAvg,
    memoryKiB: 1024 * 1024,
    cpuSeconds: 0,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

/** Ten minutes of a host running `n` guests named by `name`. */
function fleet(n: number, name: (k: number) => string): HistoryPoint[] {
  return Array.from({ length: 10 }, (_, i) => ({
    at: T0 + i * 60_000,
    domains: Object.fromEntries(Array.from({ length: n }, (_, k) => [name(k), figures(k + (i % 3))])),
  }));
}

/** The vertical middle of each <text> with this content (echarts places text by a translate and a small y). */
function textMiddles(svg: string, content: (t: string) => boolean): number[] {
  return [...svg.matchAll(/<text [^>]*?y="(-?[\d.]+)" transform="translate\([\d.]+ ([\d.]+)\)"[^>]*>([^<]*)<\/text>/g)]
    .filter((m) => content(m[3] as string))
    .map((m) => Number(m[1]) + Number(m[2]));
}

describe('the legend of a host with many guests', () => {
  it('GIVEN 20 guests (the bench fleet’s size) THEN the legend ends above the CPU panel, not drawn over it', async () => {
    const points = fleet(20, (k) => `guest-${String(k).padStart(2, '0')}.example`);
    const svg = await renderSvg(chartOption('xen1', points, 500), 800, 500);
    const legend = textMiddles(svg, (t) => t.startsWith('guest-'));
    expect(legend).toHaveLength(20);
    const [cpuLabel] = textMiddles(svg, (t) => t === 'CPU %');
    // 12 px text: each line reaches 6 px either side of its middle.
    expect(Math.max(...legend) + 6).toBeLessThan((cpuLabel as number) - 6);
  }, 30_000);

  it('GIVEN 60 guests with very long names THEN the image grows so the panels keep their height, and the names are cut', async () => {
    const points = fleet(60, (k) => `${'a-very-long-guest-name-that-goes-on-'.repeat(4)}${k}`);
    const png = await renderHostChart('xen1', points);
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    expect(view.getUint32(16)).toBe(800);
    expect(view.getUint32(20)).toBeGreaterThan(500);
    const option = chartOption('xen1', points, view.getUint32(20)) as {
      grid: { height: number }[];
      legend: { textStyle: { width: number; overflow: string } };
    };
    for (const g of option.grid) expect(g.height).toBeGreaterThanOrEqual(120);
    expect(option.legend.textStyle).toMatchObject({ width: 200, overflow: 'truncate' });
  }, 30_000);
});
