import { migratingName } from '../core/names.ts';
import type { DomainSample, HistoryFigures, HistoryPoint, HostSample } from '../core/samples.ts';
import type { DomainSummary } from '../core/xen.ts';
import type { TopRow } from './parsers/types.ts';

/**
 * Pure sampling logic for the agent's Sampler: xentop rows → HostSample (rates from counter deltas), samples → one
 * history point, and what changed between two samples of one host.
 *
 * Names: the sampler runs `xentop -f`, so rows carry full names (Xen ≥ 4.0). The driver's one-shot `top()` runs
 * without -f and maps 10-character names back through `xl list`; the sampler only does that on hosts whose xentop
 * refuses -f (see sampler.ts). Either way every function here keys domains by the name as given.
 */

/** One parsed iteration and when it was parsed (epoch ms). */
export interface TimedRows<R extends CounterRow = TopRow> {
  at: number;
  rows: readonly R[];
}

/** What the next iteration's rates need of a row: its counters, by name (CPU seconds: whether CPU% is a reading). */
export type CounterRow = Pick<TopRow, 'name' | 'cpuSeconds' | 'netTxKiB' | 'netRxKiB' | 'vbdRd' | 'vbdWr'>;

/**
 * The part of an iteration kept until the next one: a quarter of each row (at 1,000 hosts of 20 domains the whole
 * rows kept between iterations were 5 MiB of the agent's live heap).
 */
export function countersOf(t: TimedRows): TimedRows<CounterRow> {
  return {
    at: t.at,
    rows: t.rows.map(({ name, cpuSeconds, netTxKiB, netRxKiB, vbdRd, vbdWr }) => ({ name, cpuSeconds, netTxKiB, netRxKiB, vbdRd, vbdWr })),
  };
}

/** The rows of xentop's iteration before, by name: what tells whether a row's CPU% is a reading (cpuPercentOf). */
export type CpuBaseline = ReadonlyMap<string, Pick<TopRow, 'cpuSeconds'>>;

export function cpuBaseline(rows: readonly Pick<TopRow, 'name' | 'cpuSeconds'>[] | null): CpuBaseline | null {
  return rows && new Map(rows.map((r) => [r.name, r]));
}

/**
 * The row's CPU%, or null when xentop had no earlier sample of the domain: it prints 0.0 for a domain id it did not
 * see in its iteration before (one just started, or restarted — its CPU time went back). Matched by name: a guest
 * renamed between two iterations (same domain id, a real figure) is unknown once unless the sampler told it renamed
 * (renamedCounters: its figures before, under the new name); a 10-character name of the
 * iteration before (xentop without -f) stands for the full name that starts with it. Null too past what the
 * domain's vCPUs can use: xentop divides by the time on Dom0's clock, and a clock stepped back under it (NTP after a
 * suspend) makes an 80% guest print 4000%, which would be a digest's peak and flatten every other line of a chart.
 */
export function cpuPercentOf(row: Pick<TopRow, 'name' | 'cpuSeconds' | 'cpuPercent' | 'vcpus'>, before: CpuBaseline | null): number | null {
  const then = before?.get(row.name) ?? (row.name.length > 10 ? before?.get(row.name.slice(0, 10)) : undefined);
  if (!then || row.cpuSeconds < then.cpuSeconds || row.cpuPercent === null) return null;
  return row.vcpus > 0 && row.cpuPercent > row.vcpus * 100 * CPU_LEEWAY ? null : row.cpuPercent;
}

/** How far past vCPUs × 100 a CPU% is still taken as a reading (xentop's own timing is not exact). */
const CPU_LEEWAY = 1.1;

/**
 * One HostSample from the current iteration and the previous one of the same stream. Rates are per second over the
 * time between the two iterations (the parse times; intervalSeconds when those are not increasing): NETTX/NETRX
 * KiB → KiB/s, VBD_RD/VBD_WR requests → requests/s. A rate is null without a previous row of that name, where either
 * side printed `-`, or when the counter went backwards (the domain restarted). CPU% is xentop's own, null where it
 * was taken against no earlier sample (cpuPercentOf) of `cpuBefore`: xentop's iteration before this one, which is
 * `prev` for a stream.
 */
export function toHostSample(
  host: string,
  prev: TimedRows<CounterRow> | null,
  cur: TimedRows,
  intervalSeconds: number,
  cpuBefore: CpuBaseline | null = cpuBaseline(prev?.rows ?? null),
): HostSample {
  const before = new Map((prev?.rows ?? []).map((r) => [r.name, r]));
  const elapsed = prev && cur.at > prev.at ? (cur.at - prev.at) / 1000 : intervalSeconds;
  const rate = (now: number | null, then: number | null | undefined): number | null => {
    if (now === null || then === null || then === undefined || now < then || elapsed <= 0) return null;
    return round((now - then) / elapsed);
  };
  const domains: DomainSample[] = cur.rows.map((r) => {
    const p = before.get(r.name);
    return {
      name: r.name,
      state: r.state,
      cpuPercent: cpuPercentOf(r, cpuBefore),
      cpuSeconds: r.cpuSeconds,
      memoryKiB: r.memoryKiB,
      maxMemoryKiB: r.maxMemoryKiB,
      vcpus: r.vcpus,
      netTxKiBps: rate(r.netTxKiB, p?.netTxKiB),
      netRxKiBps: rate(r.netRxKiB, p?.netRxKiB),
      vbdRdPerSec: rate(r.vbdRd, p?.vbdRd),
      vbdWrPerSec: rate(r.vbdWr, p?.vbdWr),
    };
  });
  return { host, at: cur.at, intervalSeconds, domains };
}

/**
 * Folds a window of samples (oldest first) into one history point ending at `at`: per domain, the average and
 * highest CPU%, the last memory and cumulative CPU seconds, and the average of each rate over the samples where it
 * is known (null when it never was). A domain present in only part of the window is folded over that part.
 */
export function rollup(samples: readonly HostSample[], at: number): HistoryPoint {
  const window = new RollupWindow();
  for (const s of samples) window.add(s);
  return window.point(at);
}

const RATES = ['netTxKiBps', 'netRxKiBps', 'vbdRdPerSec', 'vbdWrPerSec'] as const;

/**
 * What a window keeps of one domain's samples: sums, counts and the last figures, not the samples — at these offsets
 * of the domain's slot in one array of numbers per window (an object per domain with two 4-tuples was 6 MiB of the
 * agent's live heap at 1,000 hosts of 20 domains; unboxed doubles in one array are a third of that).
 * CPU_KNOWN counts the samples whose CPU% was known: CPU_SUM and CPU_MAX are theirs.
 */
const CPU_KNOWN = 0;
const CPU_SUM = 1;
const CPU_MAX = 2;
const MEMORY = 3;
const CPU_SECONDS = 4;
/** RATES[i]'s sum at RATE_SUM + i, the samples that knew it at RATE_KNOWN + i. */
const RATE_SUM = 5;
const RATE_KNOWN = 9;
const SLOT = 13;

/**
 * rollup() taken as the samples arrive: a host's window holds a few numbers per domain instead of every sample of
 * the minute (at 1,000 hosts the samples held for the rollup were most of the agent's live memory).
 */
export class RollupWindow {
  /** Each domain's slot in `figures`, in the order they were first seen. */
  private readonly slots = new Map<string, number>();
  private readonly figures: number[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(sample: HostSample): void {
    this.count += 1;
    const f = this.figures;
    for (const d of sample.domains) {
      let at = this.slots.get(d.name);
      if (at === undefined) {
        at = f.length;
        this.slots.set(d.name, at);
        for (let i = 0; i < SLOT; i++) f.push(i === CPU_MAX ? Number.NEGATIVE_INFINITY : 0);
      }
      if (d.cpuPercent !== null) {
        f[at + CPU_KNOWN] = (f[at + CPU_KNOWN] as number) + 1;
        f[at + CPU_SUM] = (f[at + CPU_SUM] as number) + d.cpuPercent;
        f[at + CPU_MAX] = Math.max(f[at + CPU_MAX] as number, d.cpuPercent);
      }
      f[at + MEMORY] = d.memoryKiB;
      f[at + CPU_SECONDS] = d.cpuSeconds;
      for (let i = 0; i < RATES.length; i++) {
        const v = d[RATES[i] as (typeof RATES)[number]];
        if (v === null) continue;
        f[at + RATE_SUM + i] = (f[at + RATE_SUM + i] as number) + v;
        f[at + RATE_KNOWN + i] = (f[at + RATE_KNOWN + i] as number) + 1;
      }
    }
  }

  /**
   * A guest renamed (xl rename) within the window: what was folded under its old name goes on under the new one, so
   * the point holds one guest, not a line that ends and another that starts. Nothing when the new name has figures.
   */
  rename(from: string, to: string): void {
    const at = this.slots.get(from);
    if (at === undefined || this.slots.has(to)) return;
    this.slots.delete(from);
    this.slots.set(to, at);
  }

  /** The history point of the samples added so far (the window itself is left as it is). */
  point(at: number): HistoryPoint {
    const f = this.figures;
    const domains: Record<string, HistoryFigures> = {};
    for (const [name, slot] of this.slots) {
      // Only unknown CPU% in the window (the domain's first sample): no figure to give, and 0 would be a false one.
      const cpuKnown = f[slot + CPU_KNOWN] as number;
      if (cpuKnown === 0) continue;
      const rate = (i: number) => {
        const known = f[slot + RATE_KNOWN + i] as number;
        return known === 0 ? null : round((f[slot + RATE_SUM + i] as number) / known);
      };
      domains[name] = {
        cpuAvg: round((f[slot + CPU_SUM] as number) / cpuKnown),
        cpuMax: f[slot + CPU_MAX] as number,
        memoryKiB: f[slot + MEMORY] as number,
        cpuSeconds: f[slot + CPU_SECONDS] as number,
        netTxKiBps: rate(0),
        netRxKiBps: rate(1),
        vbdRdPerSec: rate(2),
        vbdWrPerSec: rate(3),
      };
    }
    return { at, domains };
  }
}

export interface RawChange {
  kind: 'appeared' | 'disappeared' | 'crashed';
  domain: string;
}

/** xl's temporary names while a domain migrates: `web--incoming` on the target, `web--migratedaway` on the source. */
export function isTransitionalName(name: string): boolean {
  return migratingName(name) !== null;
}

/** Domain-0 and xl's temporary migration names are never reported. */
function watched(name: string): boolean {
  return name !== 'Domain-0' && !isTransitionalName(name);
}

/** xentop's state letters are d s b c p r: position 3 is "crashed". */
function isCrashed(state: string): boolean {
  return state[3] === 'c';
}

/**
 * What changed between two samples of one host: domains that appeared, disappeared, or went into the crashed state
 * (only on the transition: a domain that stays crashed is reported once). A domain that appears already crashed is
 * reported as both appeared and crashed. The first sample is the baseline: of it, only the domains already crashed
 * are reported (a guest that crashed while no agent watched, kept crashed by on_crash="preserve", would never be).
 * Domain-0 and `--incoming` / `--migratedaway` names are ignored.
 */
export function detectChanges(prev: readonly DomainSample[] | null, cur: readonly DomainSample[]): RawChange[] {
  if (!prev) return cur.filter((d) => watched(d.name) && isCrashed(d.state)).map((d) => ({ kind: 'crashed', domain: d.name }));
  const before = new Map(prev.filter((d) => watched(d.name)).map((d) => [d.name, d]));
  const now = new Map(cur.filter((d) => watched(d.name)).map((d) => [d.name, d]));
  const changes: RawChange[] = [];
  for (const [name, d] of now) {
    const p = before.get(name);
    if (!p) changes.push({ kind: 'appeared', domain: name });
    if (isCrashed(d.state) && !(p && isCrashed(p.state))) changes.push({ kind: 'crashed', domain: name });
  }
  for (const name of before.keys()) if (!now.has(name)) changes.push({ kind: 'disappeared', domain: name });
  return changes;
}

/** Who a running guest is, beyond its name: what `xl rename` keeps. */
export interface DomainIdentity {
  uuid: string;
  /** null where the list printed none (never for a running domain of xl list). */
  id: number | null;
}

/** The running guests of a list with a UUID, by name (defined-only ones have neither a UUID nor an id). */
export function identitiesOf(list: readonly DomainSummary[]): Map<string, DomainIdentity> {
  const out = new Map<string, DomainIdentity>();
  for (const d of list) if (d.status !== 'defined' && d.uuid) out.set(d.name, { uuid: d.uuid, id: d.id });
  return out;
}

/**
 * New name → old name of the guests renamed between two iterations (`xl rename`): a name that disappeared whose
 * guest, as the list before knew it (`known`), has the UUID and domain id of a name that appeared, as the list now
 * shows it running, the old name running no more. xentop prints neither, so nothing is paired without both lists:
 * two guests are never taken for one — a guest destroyed and another created with its UUID has a new domain id, and
 * a name either side could stand for (two alike) pairs neither.
 */
export function pairRenames(
  changes: readonly RawChange[],
  listed: ReadonlyMap<string, Pick<DomainSummary, 'uuid' | 'id' | 'status'>>,
  known: ReadonlyMap<string, DomainIdentity> | null,
): Map<string, string> {
  const out = new Map<string, string>();
  if (!known) return out;
  // Gone for good: the list does not show it running (xentop may miss a row of one still running).
  const goneNames = changes
    .filter((c) => c.kind === 'disappeared')
    .map((c) => c.domain)
    .filter((n) => {
      const now = listed.get(n);
      return now === undefined || now.status === 'defined';
    });
  for (const c of changes) {
    if (c.kind !== 'appeared') continue;
    const now = listed.get(c.domain);
    if (!now?.uuid || now.status === 'defined') continue;
    const same = goneNames.filter((n) => {
      const was = known.get(n);
      return was?.uuid === now.uuid && (was.id === null || now.id === null || was.id === now.id);
    });
    const [oldName] = same;
    if (same.length === 1 && oldName !== undefined && ![...out.values()].includes(oldName)) out.set(c.domain, oldName);
  }
  return out;
}

/** The counters of the iteration before, a renamed guest's (new name → old) under its new name. */
export function renamedCounters<R extends CounterRow>(t: TimedRows<R>, renames: ReadonlyMap<string, string>): TimedRows<R> {
  const to = new Map([...renames].map(([n, o]) => [o, n]));
  const present = new Set(t.rows.map((r) => r.name));
  return {
    at: t.at,
    rows: t.rows.map((r) => (to.has(r.name) && !present.has(to.get(r.name) as string) ? { ...r, name: to.get(r.name) as string } : r)),
  };
}

/** A CPU baseline with a renamed guest's (new name → old) row under its new name too. */
export function renamedBaseline(b: CpuBaseline, renames: ReadonlyMap<string, string>): CpuBaseline {
  const out = new Map(b);
  for (const [to, from] of renames) {
    const row = b.get(from);
    if (row && !b.has(to)) out.set(to, row);
  }
  return out;
}

/** Two decimals are plenty for rates and averages (and keep the JSON in Redis short). */
function round(n: number): number {
  return Math.round(n * 100) / 100;
}
