import { createRequire } from 'node:module';
import type { EChartsOption, LineSeriesOption, TitleComponentOption, XAXisComponentOption, YAXisComponentOption } from 'echarts';
import type { HistoryFigures, HistoryPoint } from '../core/samples.ts';
import { mib } from '../core/sizes.ts';

/**
 * Host charts: a PNG (echarts rendered server-side to SVG, rasterised by resvg with a bundled font, so the output
 * does not depend on the machine's fonts and nothing is built natively) and a text fallback of Unicode sparklines.
 * echarts and resvg are imported on first use: the bot starts without loading either.
 */

export interface ChartOptions {
  width?: number;
  height?: number;
  /** The time axis ends here (epoch ms); default: the last point's time. */
  now?: number;
}

const FONT_FAMILY = 'Inter';
/** One color per domain, the same in both panels. */
const PALETTE = ['#1565c0', '#c62828', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#4e342e', '#546e7a', '#9e9d24'];

let fontFile: string | null = null;
/** The bundled TTF (SIL OFL), resolved from node_modules wherever the package is installed. */
function font(): string {
  fontFile ??= createRequire(import.meta.url).resolve('@expo-google-fonts/inter/400Regular/Inter_400Regular.ttf');
  return fontFile;
}

/** Domain names across all points, sorted (Domain-0 first, as it sorts before lowercase names). */
function domainNames(points: readonly HistoryPoint[]): string[] {
  return [...new Set(points.flatMap((p) => Object.keys(p.domains)))].sort();
}

/** A domain's figures in a point; own keys only, so a guest named `constructor` never reads Object's. */
function figuresOf(p: HistoryPoint, name: string): HistoryFigures | undefined {
  return Object.hasOwn(p.domains, name) ? p.domains[name] : undefined;
}

/**
 * The history's own step (one point per `sampling.historyEverySeconds`), read from the points so the charts need no
 * config: the lower median of the steps between them, which an outage (one long step) does not move. Null with
 * fewer than two distinct times.
 */
function stepOf(sorted: readonly HistoryPoint[]): number | null {
  const steps: number[] = [];
  for (let i = 1; i < sorted.length; i++) {
    const step = (sorted[i] as HistoryPoint).at - (sorted[i - 1] as HistoryPoint).at;
    if (step > 0) steps.push(step);
  }
  steps.sort((a, b) => a - b);
  return steps[Math.floor((steps.length - 1) / 2)] ?? null;
}

/**
 * How long nothing has been sampled at `now`, when that is longer than two of the points' steps (a minute when there
 * is one point): the sampling stopped (the host unreachable, the agent gone), and the last point is not current. 0
 * while samples still come, or without `now`.
 */
function silentFor(sorted: readonly HistoryPoint[], now: number | undefined): number {
  const last = sorted.at(-1);
  if (now === undefined || !last) return 0;
  const silent = now - last.at;
  return silent > 2 * (stepOf(sorted) ?? 60_000) ? silent : 0;
}

/** The shortest time axis drawn (a single sample, or a few seconds of them). */
const MIN_SPAN_MS = 5 * 60_000;

/** HH:MM in UTC. */
function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

const LEGEND_TOP = 38;
const LEGEND_SIDE = 12;
const LEGEND_ICON = 14;
/** Between an icon and its name (echarts' own), and between items. */
const LEGEND_ICON_GAP = 5;
const LEGEND_GAP = 10;
/** From one legend row to the next (a 12 px line and the item gap). */
const LEGEND_ROW = 22;
/** A name longer than this is cut with …, so one name never takes a row of its own. */
const LEGEND_TEXT_MAX = 200;
const BOTTOM = 36;
const GAP = 44;
/** The height a panel keeps however many legend rows there are (renderHostChart grows the image for it). */
const MIN_PANEL = 120;

/**
 * Roughly how wide a name is at 12 px: Inter's Latin letters are about 7 px, other scripts (CJK) about a whole em.
 * Only the legend's box width comes of it: a name a little wider is cut with …, never drawn over a panel.
 */
function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) w += ch.charCodeAt(0) < 0x2000 ? 7 : 12;
  return w;
}

/** The legend's name width and how many rows it takes across `width`. */
function legendLayout(names: readonly string[], width: number): { textWidth: number; rows: number } {
  const text = Math.min(LEGEND_TEXT_MAX, Math.max(24, ...names.map(textWidth)));
  const item = LEGEND_ICON + LEGEND_ICON_GAP + text + LEGEND_GAP;
  const perRow = Math.max(1, Math.floor((width - 2 * LEGEND_SIDE + LEGEND_GAP) / item));
  return { textWidth: text, rows: Math.max(1, Math.ceil(names.length / perRow)) };
}

/** The image height that keeps both panels at least MIN_PANEL tall under the legend of these points. */
export function chartHeight(points: readonly HistoryPoint[], width: number, height: number): number {
  if (points.length === 0) return height;
  const { rows } = legendLayout(domainNames(points), width);
  return Math.max(height, LEGEND_TOP + rows * LEGEND_ROW + 32 + 2 * MIN_PANEL + GAP + BOTTOM);
}

/** The echarts option for the two panels (CPU % on top, memory MiB below), or the "no samples" card. */
export function chartOption(host: string, points: readonly HistoryPoint[], height: number, now?: number, width = 800): EChartsOption {
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const first = sorted[0];
  const last = sorted.at(-1);
  const textStyle = { fontFamily: FONT_FAMILY };
  const title: TitleComponentOption = {
    text: host,
    left: 12,
    top: 8,
    textStyle: { fontFamily: FONT_FAMILY, fontSize: 16, fontWeight: 'normal' as const },
  };
  if (!first || !last) {
    return {
      animation: false,
      backgroundColor: '#ffffff',
      textStyle,
      title: [
        title,
        {
          text: 'no samples yet',
          left: 'center',
          top: 'middle',
          textStyle: { fontFamily: FONT_FAMILY, fontSize: 22, color: '#757575', fontWeight: 'normal' as const },
        },
      ],
    };
  }
  // A chart of a host still sampled ends at its last point (drawn the same whenever it is asked for); one whose
  // sampling stopped ends now, the silence drawn as such.
  const end = silentFor(sorted, now) > 0 ? (now as number) : last.at;
  // One instant is no span: echarts would stretch the axis over days around it.
  const start = Math.min(first.at, end - MIN_SPAN_MS);
  const names = domainNames(sorted);
  const legend = legendLayout(names, width);
  const top = LEGEND_TOP + legend.rows * LEGEND_ROW + 32;
  const panel = Math.max(40, (height - top - BOTTOM - GAP) / 2);
  const xAxis = (gridIndex: number, labels: boolean): XAXisComponentOption => ({
    type: 'time',
    gridIndex,
    min: start,
    max: end,
    splitNumber: 6,
    axisLabel: { show: labels, formatter: (v: number) => hhmm(v), fontFamily: FONT_FAMILY, color: '#424242', hideOverlap: true },
    axisTick: { show: labels },
    splitLine: { show: true, lineStyle: { color: '#eeeeee' } },
  });
  const yAxis = (gridIndex: number, name: string): YAXisComponentOption => ({
    type: 'value',
    gridIndex,
    name,
    min: 0,
    nameTextStyle: { fontFamily: FONT_FAMILY, color: '#424242', align: 'left' },
    axisLabel: { fontFamily: FONT_FAMILY, color: '#424242' },
    splitLine: { lineStyle: { color: '#eeeeee' } },
  });
  const usual = stepOf(sorted);
  const series = (index: number, value: (f: HistoryFigures) => number): LineSeriesOption[] =>
    names.map((name, i) => {
      const data = sorted.flatMap((p, k) => {
        const f = figuresOf(p, name);
        const point: [number, number | null] = [p.at, f ? Math.round(value(f) * 10) / 10 : null];
        const prev = sorted[k - 1];
        // Points more than two steps apart: nothing was sampled between them (the agent or its xentop stream was
        // down). A null there breaks the line, instead of drawing across the time nobody measured.
        return prev && usual !== null && p.at - prev.at > 2 * usual ? [[prev.at + usual, null], point] : [point];
      });
      // A figure with no neighbour (a single sample, a guest seen once) makes no line: it gets a dot, or the chart
      // would look empty where something was measured.
      const alone = (k: number) => data[k]?.[1] != null && data[k - 1]?.[1] == null && data[k + 1]?.[1] == null;
      return {
        type: 'line',
        name,
        xAxisIndex: index,
        yAxisIndex: index,
        symbol: (_value: unknown, params: { dataIndex: number }) => (alone(params.dataIndex) ? 'circle' : 'none'),
        symbolSize: 5,
        connectNulls: false,
        lineStyle: { width: 1.5 },
        color: PALETTE[i % PALETTE.length] ?? '#000000',
        data,
      };
    });
  return {
    animation: false,
    backgroundColor: '#ffffff',
    textStyle,
    title: [{ ...title, text: `${host}: CPU % and memory per domain, ${hhmm(start)}–${hhmm(end)} UTC` }],
    legend: {
      type: 'plain',
      top: LEGEND_TOP,
      left: LEGEND_SIDE,
      right: LEGEND_SIDE,
      icon: 'roundRect',
      itemWidth: LEGEND_ICON,
      itemHeight: 8,
      itemGap: LEGEND_GAP,
      // Every name in a box of one width (a longer one cut with …): the legend's rows are known here, and the panels
      // start below them instead of under the names.
      textStyle: { fontFamily: FONT_FAMILY, width: legend.textWidth, overflow: 'truncate' },
    },
    grid: [
      { left: 64, right: 24, top, height: panel },
      { left: 64, right: 24, top: top + panel + GAP, height: panel },
    ],
    xAxis: [xAxis(0, false), xAxis(1, true)],
    yAxis: [yAxis(0, 'CPU %'), yAxis(1, 'memory MiB')],
    series: [...series(0, (f) => f.cpuAvg), ...series(1, (f) => f.memoryKiB / 1024)],
  };
}

/** An SVG string for an echarts option, rendered server-side with animation off. */
export async function renderSvg(option: EChartsOption, width: number, height: number): Promise<string> {
  const echarts = await import('echarts');
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(option);
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** Rasterises an SVG with the bundled font only (no system fonts: same pixels on every machine). */
export async function svgToPng(svg: string): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'original' },
    background: '#ffffff',
    font: {
      fontFiles: [font()],
      loadSystemFonts: false,
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
      serifFamily: FONT_FAMILY,
      monospaceFamily: FONT_FAMILY,
    },
  });
  const png = resvg.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/**
 * A PNG of one host's CPU % (window averages) and memory (MiB) per domain over `points` (the caller passes the
 * last hour): two stacked panels sharing a UTC time axis, a legend of domain names, the host in the title.
 * No points: a PNG that says "no samples yet". Default 800×500.
 */
export async function renderHostChart(
  host: string,
  points: HistoryPoint[],
  options: { width?: number; height?: number; now?: number } = {},
): Promise<Uint8Array> {
  const width = options.width ?? 800;
  const height = chartHeight(points, width, options.height ?? 500);
  return svgToPng(await renderSvg(chartOption(host, points, height, options.now, width), width, height));
}

const BARS = '▁▂▃▄▅▆▇█';

/**
 * The averages of timed values in equal stretches of time from the first to the last (null where a stretch has no
 * value): one per step of the history, at most `width`. A stretch with no point — nothing sampled then — is null,
 * so an outage stays blank instead of the line closing up around it.
 */
function buckets(values: readonly { at: number; v: number | null }[], width: number, usual: number | null): (number | null)[] {
  const first = values[0];
  const last = values.at(-1);
  if (!first || !last) return [];
  const span = last.at - first.at;
  const n = usual === null || span === 0 ? 1 : Math.min(width, Math.round(span / usual) + 1);
  const sums = Array.from({ length: n }, () => ({ sum: 0, count: 0 }));
  for (const { at, v } of values) {
    const bucket = sums[span === 0 ? 0 : Math.round(((at - first.at) / span) * (n - 1))];
    if (bucket && v !== null) {
      bucket.sum += v;
      bucket.count++;
    }
  }
  return sums.map((b) => (b.count > 0 ? b.sum / b.count : null));
}

function percent(n: number): string {
  return `${n.toFixed(1)}%`;
}

/**
 * The text fallback of the chart: a header, then one line per domain —
 * `name  ▁▂▃▅▇  cpu 12.5% now / 48.0% peak, mem 1 GiB`. The sparkline is the CPU % (window averages, at most
 * 30 characters, spread over the time the points span) on one scale for all domains, from 0 to the highest average,
 * so lines compare; a blank is a stretch where the domain was not running, or nothing was sampled. "now" is the last
 * point (given `now`, one older than two steps is said with its time, and the header says how long nothing came); a
 * domain missing from it shows "-".
 */
export function sparklineText(host: string, points: HistoryPoint[], options: { width?: number; now?: number } = {}): string {
  const { width = 30, now } = options;
  const sorted = [...points].sort((a, b) => a.at - b.at);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (!first || !last) return `${host}: no samples yet`;
  const names = domainNames(sorted);
  const usual = stepOf(sorted);
  const silent = silentFor(sorted, now);
  const lastWord = silent > 0 ? `at ${hhmm(last.at)}` : 'now';
  const minutes = Math.round((last.at - first.at) / 60_000);
  const scale = Math.max(...sorted.flatMap((p) => Object.values(p.domains).map((f) => f.cpuAvg)), 0);
  const pad = Math.max(...names.map((n) => n.length));
  const lines = names.map((name) => {
    const series = buckets(
      sorted.map((p) => ({ at: p.at, v: figuresOf(p, name)?.cpuAvg ?? null })),
      width,
      usual,
    );
    const spark = series
      .map((v) => (v === null ? ' ' : BARS[scale > 0 ? Math.min(7, Math.round((Math.max(0, v) / scale) * 7)) : 0]))
      .join('');
    const peak = Math.max(...sorted.map((p) => figuresOf(p, name)?.cpuMax ?? 0));
    const latest = figuresOf(last, name);
    const cpu = `cpu ${latest ? percent(latest.cpuAvg) : '-'} ${lastWord} / ${percent(peak)} peak`;
    const mem = `mem ${latest ? mib(Math.round(latest.memoryKiB / 1024)) : '-'}`;
    return `${name.padEnd(pad)}  ${spark}  ${cpu}, ${mem}`;
  });
  const since = silent > 0 ? `; no sample for ${Math.round(silent / 60_000)} min` : '';
  return [`${host}: CPU % over ${minutes} min (${sorted.length} samples), ${hhmm(first.at)}–${hhmm(last.at)} UTC${since}`, ...lines].join(
    '\n',
  );
}
