import { describe, expect, it } from 'vitest';
import type { HistoryFigures, HistoryPoint } from '../core/samples.ts';
import { chartOption, renderHostChart, renderSvg, sparklineText, svgToPng } from './charts.ts';

const T0 = Date.UTC(2026, 7, 1, 12, 0);

function figures(cpuAvg: number, memoryMiB: number, cpuMax = cpuAvg): HistoryFigures {
  return {
    cpuAvg,
    cpuMax,
    memoryKiB: memoryMiB * 1024,
    cpuSeconds: 0,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

/** An hour of one-minute points for Domain-0, web and mail; mail is down from minute 20 to 29. */
function hour(): HistoryPoint[] {
  return Array.from({ length: 60 }, (_, i) => {
    const domains: Record<string, HistoryFigures> = {
      'Domain-0': figures(3 + 2 * Math.sin(i / 5), 1024),
      web: figures(25 + 15 * Math.sin(i / 8), 2048 + i * 4, 50),
    };
    if (i < 20 || i >= 30) domains['mail'] = figures(10 + (i % 7), 4096 - i);
    return { at: T0 + i * 60_000, domains };
  });
}

/** Width and height from the IHDR chunk, which must come first, right after the 8-byte signature. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(Buffer.from(png.subarray(12, 16)).toString('latin1')).toBe('IHDR');
  expect(view.getUint32(8)).toBe(13);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** An hour of one-minute points with none from 12:10 to 12:49 (the agent or its xentop stream was down): web at 5 %, then 90 %. */
function hourWithOutage(): HistoryPoint[] {
  const points: HistoryPoint[] = [];
  for (let i = 0; i < 60; i++)
    if (i < 10 || i >= 50) points.push({ at: T0 + i * 60_000, domains: { web: figures(i < 10 ? 5 : 90, 1024) } });
  return points;
}

/** `constructor` ran and stopped: the last point has no figures of it (JSON, as read from Redis). */
function withObjectPropertyNames(): HistoryPoint[] {
  return JSON.parse(
    JSON.stringify([
      { at: T0, domains: { constructor: figures(20, 1024), toString: figures(1, 512), web: figures(5, 1024) } },
      { at: T0 + 60_000, domains: { toString: figures(2, 512), web: figures(6, 1024) } },
    ]),
  ) as HistoryPoint[];
}

describe('renderHostChart', () => {
  it('renders an hour of three domains as a PNG of the requested size', async () => {
    const png = await renderHostChart('xen1', hour(), { width: 640, height: 420 });
    expect([...png.subarray(0, 8)]).toEqual(SIGNATURE);
    expect(pngSize(png)).toEqual({ width: 640, height: 420 });
    expect(png.byteLength).toBeGreaterThan(5_000);
    expect(png.byteLength).toBeLessThan(500_000);
  }, 30_000);

  it('defaults to 800×500', async () => {
    expect(pngSize(await renderHostChart('xen1', hour()))).toEqual({ width: 800, height: 500 });
  }, 30_000);

  it('draws its text (title, legend, axes) with the bundled font', async () => {
    const svg = await renderSvg(chartOption('xen1', hour(), 500), 800, 500);
    expect(svg).toContain('xen1: CPU % and memory per domain, 12:00–12:59 UTC');
    for (const label of ['Domain-0', 'web', 'mail', 'CPU %', 'memory MiB', '12:30']) expect(svg).toContain(`>${label}<`);
    const withText = await svgToPng(svg);
    const withoutText = await svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
    expect(svg.match(/<text/g)?.length ?? 0).toBeGreaterThan(20);
    // Glyphs add a lot of anti-aliased edges; with no usable font resvg drops text and the two would be equal.
    expect(withText.byteLength - withoutText.byteLength).toBeGreaterThan(3_000);
  }, 30_000);

  it('says "no samples yet" when there are no points', async () => {
    const png = await renderHostChart('xen1', [], { width: 400, height: 300 });
    expect(pngSize(png)).toEqual({ width: 400, height: 300 });
    const svg = await renderSvg(chartOption('xen1', [], 300), 400, 300);
    expect(svg).toContain('>no samples yet<');
    const blank = await svgToPng(svg.replace(/<text[^>]*>[^<]*<\/text>/g, ''));
    expect(png.byteLength).toBeGreaterThan(blank.byteLength + 500);
  }, 30_000);

  it('breaks the line where nothing was sampled, instead of drawing across the outage', () => {
    const option = chartOption('xen1', hourWithOutage(), 500) as { series: { name: string; data: [number, number | null][] }[] };
    for (const s of option.series) {
      const between = s.data.filter(([at]) => at > T0 + 9 * 60_000 && at < T0 + 50 * 60_000);
      expect(between.map(([, v]) => v)).toEqual([null]);
    }
    // Points a step apart stay joined: no null in an hour sampled throughout.
    const whole = chartOption('xen1', hour(), 500) as { series: { name: string; data: [number, number | null][] }[] };
    expect(whole.series.find((s) => s.name === 'web')?.data.some(([, v]) => v === null)).toBe(false);
  });

  it('draws a guest named `constructor`, absent from the last point, with no figure there', () => {
    const option = chartOption('xen1', withObjectPropertyNames(), 500) as { series: { name: string; data: [number, number | null][] }[] };
    expect(option.series.filter((s) => s.name === 'constructor').map((s) => s.data)).toEqual([
      [
        [T0, 20],
        [T0 + 60_000, null],
      ],
      [
        [T0, 1024],
        [T0 + 60_000, null],
      ],
    ]);
  });

  it('ends the time axis at the last point while samples still come (the same chart whenever asked for)', () => {
    const option = chartOption('xen1', hour(), 500, T0 + 60 * 60_000) as { xAxis: { max: number }[] };
    expect(option.xAxis.map((a) => a.max)).toEqual([T0 + 59 * 60_000, T0 + 59 * 60_000]);
  });

  it('ends the time axis at `now` when sampling has stopped', async () => {
    const option = chartOption('xen1', hour(), 500, T0 + 75 * 60_000) as { xAxis: { max: number }[]; title: { text: string }[] };
    expect(option.xAxis.map((a) => a.max)).toEqual([T0 + 75 * 60_000, T0 + 75 * 60_000]);
    expect(option.title[0]?.text).toContain('12:00–13:15 UTC');
  });
});

describe('sparklineText', () => {
  it('draws one line per domain on one CPU scale, with now/peak CPU and memory', () => {
    const at = (i: number) => T0 + i * 60_000;
    const points: HistoryPoint[] = [
      { at: at(0), domains: { web: figures(0, 1000), db: figures(10, 2048) } },
      { at: at(1), domains: { web: figures(20, 1000), db: figures(10, 2048) } },
      { at: at(2), domains: { web: figures(40, 1000, 55), db: figures(10, 2048) } },
      { at: at(3), domains: { web: figures(70, 1024.4) } },
    ];
    expect(sparklineText('xen1', points)).toBe(
      [
        'xen1: CPU % over 3 min (4 samples), 12:00–12:03 UTC',
        'db   ▂▂▂   cpu - now / 10.0% peak, mem -',
        'web  ▁▃▅█  cpu 70.0% now / 70.0% peak, mem 1 GiB',
      ].join('\n'),
    );
  });

  it('averages long histories into at most `width` characters', () => {
    const line = sparklineText('xen1', hour(), { width: 30 }).split('\n')[2] ?? '';
    expect(line.startsWith('mail      ')).toBe(true);
    const spark = line.slice(10, 40);
    expect([...spark]).toHaveLength(30);
    // mail was down for minutes 20-29: those buckets (10-14) are blank.
    expect(spark.slice(10, 15)).toBe('     ');
    expect(spark.slice(0, 10)).not.toContain(' ');
  });

  it('spreads the points over their time: an outage stays blank, in the middle of the line', () => {
    const text = sparklineText('xen1', hourWithOutage());
    const [header, line] = text.split('\n');
    expect(header).toBe('xen1: CPU % over 59 min (20 samples), 12:00–12:59 UTC');
    // 30 characters over 59 minutes: 12:00–12:09 in the first five, 12:50–12:59 in the last five, nothing between.
    expect(line).toBe(`web  ${'▁'.repeat(5)}${' '.repeat(20)}${'█'.repeat(5)}  cpu 90.0% now / 90.0% peak, mem 1 GiB`);
  });

  it('shows a guest named `constructor` (or `toString`) absent from the last point with no "now" figure', () => {
    expect(sparklineText('xen1', withObjectPropertyNames()).split('\n')).toEqual([
      'xen1: CPU % over 1 min (2 samples), 12:00–12:01 UTC',
      'constructor  █   cpu - now / 20.0% peak, mem -',
      'toString     ▁▂  cpu 2.0% now / 2.0% peak, mem 512 MiB',
      'web          ▃▃  cpu 6.0% now / 6.0% peak, mem 1 GiB',
    ]);
  });

  it('given the time, says the last figures with their time, not as "now", once sampling has stopped', () => {
    const points: HistoryPoint[] = [
      { at: T0, domains: { web: figures(20, 1000) } },
      { at: T0 + 60_000, domains: { web: figures(40, 1000) } },
    ];
    // Within two steps of the last point: still current.
    expect(sparklineText('xen1', points, { now: T0 + 170_000 }).split('\n')[1]).toContain('cpu 40.0% now /');
    // 50 minutes on: the host stopped reporting; its old figures are not passed off as current.
    expect(sparklineText('xen1', points, { now: T0 + 51 * 60_000 }).split('\n')).toEqual([
      'xen1: CPU % over 1 min (2 samples), 12:00–12:01 UTC; no sample for 50 min',
      'web  ▅█  cpu 40.0% at 12:01 / 40.0% peak, mem 1000 MiB',
    ]);
  });

  it('says so when there are no samples', () => {
    expect(sparklineText('xen2', [])).toBe('xen2: no samples yet');
  });
});
