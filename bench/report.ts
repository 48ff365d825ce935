/**
 * Pure statistics and reporting for the bench: percentiles, the targets of issue #11, whether each is met and by how
 * much, the table and the JSON object. No I/O.
 */

/**
 * The p-th percentile (0–100) by linear interpolation between closest ranks (numpy's default, "type 7"): p50 of an
 * even count is the mean of the middle two. NaN for no samples.
 */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  min: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const n = samples.length;
  return {
    n,
    p50: percentile(samples, 50),
    p90: percentile(samples, 90),
    p99: percentile(samples, 99),
    min: n ? Math.min(...samples) : Number.NaN,
    max: n ? Math.max(...samples) : Number.NaN,
    mean: n ? samples.reduce((s, x) => s + x, 0) / n : Number.NaN,
  };
}

/** Rounds for display and JSON: 2 decimals below 100, 1 below 1,000, whole numbers above. */
export function round(x: number): number {
  const a = Math.abs(x);
  const d = a < 100 ? 100 : a < 1000 ? 10 : 1;
  return Math.round(x * d) / d;
}

export const KEYS = [
  'listP50Ms',
  'listP99Ms',
  'directExecP50Ms',
  'overheadP50Ms',
  'sshdListP50Ms',
  'freshOpenSshP50Ms',
  'speedupVsFreshSsh',
  'fleetStatus100Ms',
  'fleetStatus1000Ms',
  'readJobsPerSecond',
  'botRedisConnections1000',
  'agentRedisConnections1000',
  'botRssMiB1000',
  'agentRssMiB1000',
  'botRssGrowthPct',
  'discordDeferP99Ms',
] as const;

export type Key = (typeof KEYS)[number];

export interface Target {
  key: Key;
  label: string;
  unit: 'ms' | 'x' | '/s' | '' | 'MiB' | '%';
  /** Absent: measured for context (a component of another figure), no target of its own. */
  goal?: { op: '<=' | '>='; limit: number };
}

/** The targets of issue #11, in the order the table shows them. */
export const TARGETS: readonly Target[] = [
  { key: 'listP50Ms', label: '/list HOST p50, whole pipeline (sim)', unit: 'ms', goal: { op: '<=', limit: 5 } },
  { key: 'listP99Ms', label: '/list HOST p99, whole pipeline (sim)', unit: 'ms' },
  { key: 'directExecP50Ms', label: 'same xl list, warm SSH, p50', unit: 'ms' },
  { key: 'overheadP50Ms', label: 'pipeline overhead p50 (list - direct)', unit: 'ms', goal: { op: '<=', limit: 2 } },
  { key: 'sshdListP50Ms', label: '/list HOST p50 against OpenSSH sshd', unit: 'ms', goal: { op: '<=', limit: 15 } },
  { key: 'freshOpenSshP50Ms', label: 'ssh HOST xl list, fresh process, p50', unit: 'ms' },
  { key: 'speedupVsFreshSsh', label: 'speed-up vs fresh ssh (fresh / sshd list)', unit: 'x', goal: { op: '>=', limit: 20 } },
  { key: 'fleetStatus100Ms', label: '/status, 100 hosts x 20 domains, warm', unit: 'ms', goal: { op: '<=', limit: 200 } },
  { key: 'fleetStatus1000Ms', label: '/status, 1,000 hosts x 20 domains, warm', unit: 'ms', goal: { op: '<=', limit: 1000 } },
  { key: 'readJobsPerSecond', label: '/list throughput, 100 hosts, 1 bot + 1 agent', unit: '/s', goal: { op: '>=', limit: 1500 } },
  { key: 'botRedisConnections1000', label: 'bot Redis connections, 1,000 hosts', unit: '', goal: { op: '<=', limit: 10 } },
  { key: 'agentRedisConnections1000', label: 'agent Redis connections, 1,000 hosts', unit: '', goal: { op: '<=', limit: 10 } },
  { key: 'botRssMiB1000', label: 'bot RSS, 1,000 hosts connected', unit: 'MiB', goal: { op: '<=', limit: 150 } },
  { key: 'agentRssMiB1000', label: 'agent RSS, 1,000 hosts connected', unit: 'MiB', goal: { op: '<=', limit: 250 } },
  { key: 'botRssGrowthPct', label: 'bot RSS growth over 10,000 requests', unit: '%', goal: { op: '<=', limit: 10 } },
  { key: 'discordDeferP99Ms', label: 'Discord interaction -> defer p99, under load', unit: 'ms', goal: { op: '<=', limit: 10 } },
];

/** One figure: its value, or null and why it could not be had; `why` explains a value where the bench can tell. */
export interface Measured {
  value: number | null;
  /** Why the value is null (the measurement failed or was skipped). */
  reason?: string;
  /** What the value is made of, or what makes it what it is. */
  why?: string;
}

export type Results = Partial<Record<Key, Measured>>;

export type Status = 'met' | 'NOT MET' | 'info' | 'no value';

export interface Verdict {
  status: Status;
  /** How far from the goal, in words ('' when met or without a goal). */
  by: string;
}

function fmt(x: number, unit: Target['unit']): string {
  const r = round(x);
  const s = Math.abs(r) >= 1000 ? r.toLocaleString('en-US') : String(r);
  if (unit === '') return s;
  if (unit === 'x') return `${s}x`;
  if (unit === '/s' || unit === '%') return `${s}${unit}`;
  return `${s} ${unit}`;
}

/** Met or not, and by how much: "+3.5 ms over (1.7x the limit)", "1,180/s short (needs 4.7x)". */
export function verdict(target: Target, value: number | null): Verdict {
  if (value === null || !Number.isFinite(value)) return { status: 'no value', by: '' };
  const goal = target.goal;
  if (!goal) return { status: 'info', by: '' };
  if (goal.op === '<=') {
    if (value <= goal.limit) return { status: 'met', by: `${fmt(goal.limit - value, target.unit)} to spare` };
    const times = goal.limit > 0 ? ` (${round(value / goal.limit)}x the limit)` : '';
    return { status: 'NOT MET', by: `+${fmt(value - goal.limit, target.unit)} over${times}` };
  }
  if (value >= goal.limit) return { status: 'met', by: `${fmt(value - goal.limit, target.unit)} above` };
  const needs = value > 0 ? ` (needs ${round(goal.limit / value)}x)` : '';
  return { status: 'NOT MET', by: `${fmt(goal.limit - value, target.unit)} short${needs}` };
}

export function goalText(target: Target): string {
  return target.goal ? `${target.goal.op === '<=' ? '<=' : '>='} ${fmt(target.goal.limit, target.unit)}` : '-';
}

/** Pads to a width counted in code points (every character the table uses is one column wide). */
function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - [...s].length));
}

/** A plain-text table: one row per target, with the reason in the "why" column when there is no value. */
export function formatTable(results: Results): string {
  const header = ['key', 'what', 'measured', 'target', 'status', 'by how much', 'why'];
  const rows = TARGETS.map((t) => {
    const m = results[t.key];
    const value = m?.value ?? null;
    const v = verdict(t, value);
    return [
      t.key,
      t.label,
      value === null ? 'null' : fmt(value, t.unit),
      goalText(t),
      v.status,
      v.by,
      value === null ? `not measured: ${m?.reason ?? 'not run'}` : (m?.why ?? ''),
    ];
  });
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] as string)].length)));
  // The last column is not padded: long reasons stay on their line.
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i] as number)))
      .join(' | ')
      .trimEnd();
  const sep = widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? Math.min(w, 40) : w)).join('-+-');
  return [line(header), sep, ...rows.map(line)].join('\n');
}

export interface Tally {
  met: number;
  notMet: number;
  noValue: number;
}

export function tally(results: Results): Tally {
  const t: Tally = { met: 0, notMet: 0, noValue: 0 };
  for (const target of TARGETS) {
    if (!target.goal) continue;
    const v = verdict(target, results[target.key]?.value ?? null);
    if (v.status === 'met') t.met++;
    else if (v.status === 'NOT MET') t.notMet++;
    else t.noValue++;
  }
  return t;
}

/**
 * The one JSON object `npm run bench -- --json` prints: every key of KEYS (a number, or null), then `reasons` (why
 * each null is null), `why` (what explains each value), and `meta` (how the run was made).
 */
export function toJson(results: Results, meta: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const reasons: Record<string, string> = {};
  const why: Record<string, string> = {};
  for (const key of KEYS) {
    const m = results[key];
    const value = m?.value ?? null;
    out[key] = value === null || !Number.isFinite(value) ? null : round(value);
    if (out[key] === null) reasons[key] = m?.reason ?? 'not run';
    if (m?.why) why[key] = m.why;
  }
  return { ...out, reasons, why, meta };
}
