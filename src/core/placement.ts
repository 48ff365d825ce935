import type { JobResult } from '../queue/jobs.ts';
import { DOM0_NAME, migratingName, TargetDomainName } from './names.ts';
import { mib } from './sizes.ts';
import type { DomainStatus, ToolstackKind } from './xen.ts';

/**
 * Where guests go: the evacuation planner (best-fit decreasing, keeping a memory reserve on every target) and the
 * rebalancing planner (greedy moves that even out memory use, CPU as the tie-breaker). Pure and deterministic: the
 * same figures always give the same plan, whatever order they arrive in.
 */

/** A guest as the planners see it. */
export interface Guest {
  name: string;
  memoryMiB: number;
  /** CPU% from the live sample (of one CPU, as xentop counts); 0 when the sample does not name it. */
  cpuPercent: number;
  status: DomainStatus;
}

/** One host's capacity as read right before a plan is made (a host.status job: `xl info`, `xl list`, live CPU). */
export interface HostCapacity {
  host: string;
  toolstack: ToolstackKind;
  /** `xl info` total_memory and free_memory, MiB. */
  totalMiB: number;
  freeMiB: number;
  /** Every domain it runs except Domain-0 (defined-only ones are left out). */
  guests: Guest[];
  /** When the live CPU sample was taken; null = no sample (every guest's CPU counts as 0). */
  cpuSampledAt: number | null;
}

/** What the bot read for a plan, right before making it: only these figures are planned from. */
export interface CapacityReading {
  /** Epoch ms the reading finished. */
  at: number;
  /** Free memory every target keeps after a guest lands (config `fleet.memoryReserveMiB`). */
  reserveMiB: number;
  /** The hosts that answered with usable figures. */
  hosts: Record<string, HostCapacity>;
  /** Hosts that were asked and gave no usable answer, with why (no agent, unreachable, no memory figures). */
  unanswered: Record<string, string>;
  /** Hosts that are frozen (/freeze or a maintenance window), with the freeze as /status says it. */
  frozen: Record<string, string>;
  /**
   * Hosts in `unanswered` only for their memory figures (`xl info` failed part-way), with the guests they listed: no
   * target, but a host being evacuated needs no figure of its own.
   */
  listedOnly?: Record<string, HostGuests>;
}

/** A host's guests as read, without its memory figures. */
export type HostGuests = Pick<HostCapacity, 'host' | 'toolstack' | 'guests'>;

/**
 * Guests a live migration can move: running or idle. Crashed, dying and shut-down ones cannot; a paused one would
 * arrive running (xl migrate unpauses it on the target), undoing whoever paused it.
 */
export const MOVABLE: readonly DomainStatus[] = ['running', 'blocked'];

export function isMovable(g: Pick<Guest, 'status' | 'name'>): boolean {
  // A name xenops may not act on (a migration leftover like web--incoming, all digits…) is never planned: the agent
  // would refuse that step after the earlier ones had run.
  return MOVABLE.includes(g.status) && TargetDomainName.safeParse(g.name).success;
}

/** Why a guest is not movable, for the plan's "cannot be migrated" list. */
export function whyNotMovable(g: Pick<Guest, 'status' | 'name'>): string {
  if (MOVABLE.includes(g.status)) return 'a name xenops does not act on';
  return g.status === 'paused' ? 'paused (a migration would unpause it)' : g.status;
}

/**
 * Guests with a migration of theirs under way, or left unfinished: xl names the copy on the target `NAME--incoming`
 * while it arrives and the source's `NAME--migratedaway` at the end (a failed final handshake leaves either). A plan
 * that moved such a guest would start a second migration beside the first, or stop at that step after the earlier
 * ones had run (the agent refuses to migrate beside a leftover). The answer is why, naming the leftovers; null: free.
 */
export function inFlight(hosts: readonly { host: string; guests: readonly Pick<Guest, 'name'>[] }[]): (name: string) => string | null {
  const seen = new Map<string, string[]>();
  for (const h of hosts)
    for (const g of h.guests) {
      const base = migratingName(g.name);
      if (base) seen.set(base, [...(seen.get(base) ?? []), `${g.name} on ${h.host}`]);
    }
  return (name) => {
    const where = seen.get(name);
    return where ? `a migration of it is under way or left unfinished: ${where.join(', ')}` : null;
  };
}

/** A host.status result as planner figures, or why it cannot be planned with (no memory figures). */
export function capacityFromStatus(r: JobResult<'host.status'>): HostCapacity | string {
  const listed = guestsFromStatus(r);
  if (typeof listed === 'string') return listed;
  if (r.totalMemoryMiB === null || r.freeMemoryMiB === null) return memoryUnknown(r);
  return { ...listed, totalMiB: r.totalMemoryMiB, freeMiB: r.freeMemoryMiB, cpuSampledAt: r.sampledAt ?? null };
}

/** Why a host.status result has no memory figures, in xl's own note when it gave one ("libxl_physinfo failed."). */
function memoryUnknown(r: JobResult<'host.status'>): string {
  const missing = [...(r.totalMemoryMiB === null ? ['total_memory'] : []), ...(r.freeMemoryMiB === null ? ['free_memory'] : [])];
  return `${r.host} did not report ${missing.join(' and ')}${r.notes && r.notes.length > 0 ? ` — ${r.notes.join('; ')}` : ''}`;
}

/**
 * A host.status result's guests (memory figures or not), or why they cannot be planned with. The host being
 * evacuated needs only these: `xl info` failing part-way there does not keep its guests from moving.
 */
export function guestsFromStatus(r: JobResult<'host.status'>): HostGuests | string {
  if (!r.domains) return `${r.host}'s agent did not list its domains (an older agent)`;
  const cpu = new Map((r.busiest ?? []).map((b) => [b.name, b.cpuPercent]));
  const up = r.domains.filter((d) => d.name !== DOM0_NAME && d.status !== 'defined');
  const unknown = up.find((d) => d.memoryMiB === null);
  if (unknown) return `${r.host} did not report the memory of ${unknown.name}`;
  const guests = up.map((d) => ({ name: d.name, memoryMiB: d.memoryMiB ?? 0, cpuPercent: cpu.get(d.name) ?? 0, status: d.status }));
  return { host: r.host, toolstack: r.toolstack, guests };
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------------------------
// Evacuation: best-fit decreasing with a reserve
// ---------------------------------------------------------------------------------------------------------------

export interface Candidate {
  host: string;
  freeMiB: number;
}

/** One guest's place in an evacuation plan, with the target's free memory before and after it lands. */
export interface Placement {
  domain: string;
  memoryMiB: number;
  target: string;
  freeBeforeMiB: number;
  freeAfterMiB: number;
}

/** A guest that fits on no candidate, with the figures that say why. */
export interface Unplaced {
  domain: string;
  memoryMiB: number;
  /** Its memory plus the reserve: what a target must have free. */
  needMiB: number;
  /** The allowed candidate with the most free memory at that point of the plan (null: none it may go to). */
  best: { host: string; freeMiB: number } | null;
}

export interface EvacuationPlan {
  /** In the order the migrations run: largest guest first. */
  placements: Placement[];
  unplaced: Unplaced[];
}

/**
 * Places every guest on a candidate: largest first (ties by name), each on the candidate it fits most tightly (the
 * least free memory left after it, still at least `reserveMiB`; ties by host name), so the big holes stay open for
 * the big guests. A placed guest's memory is taken off its target before the next guest is placed. `allowed`
 * narrows the candidates per guest (the asker's scope may differ per domain).
 */
export function placeGuests(
  guests: readonly { name: string; memoryMiB: number }[],
  candidates: readonly Candidate[],
  reserveMiB: number,
  allowed: (domain: string, host: string) => boolean = () => true,
): EvacuationPlan {
  const free = new Map(candidates.map((c) => [c.host, c.freeMiB]));
  const hosts = [...free.keys()].sort(byName);
  const order = [...guests].sort((a, b) => b.memoryMiB - a.memoryMiB || byName(a.name, b.name));
  const placements: Placement[] = [];
  const unplaced: Unplaced[] = [];
  for (const g of order) {
    const mine = hosts.filter((h) => allowed(g.name, h));
    let pick: string | null = null;
    for (const h of mine) {
      const left = (free.get(h) ?? 0) - g.memoryMiB;
      if (left < reserveMiB) continue;
      if (pick === null || left < (free.get(pick) ?? 0) - g.memoryMiB) pick = h;
    }
    if (pick === null) {
      let best: string | null = null;
      for (const h of mine) if (best === null || (free.get(h) ?? 0) > (free.get(best) ?? 0)) best = h;
      unplaced.push({
        domain: g.name,
        memoryMiB: g.memoryMiB,
        needMiB: g.memoryMiB + reserveMiB,
        best: best === null ? null : { host: best, freeMiB: free.get(best) ?? 0 },
      });
      continue;
    }
    const before = free.get(pick) ?? 0;
    free.set(pick, before - g.memoryMiB);
    placements.push({ domain: g.name, memoryMiB: g.memoryMiB, target: pick, freeBeforeMiB: before, freeAfterMiB: before - g.memoryMiB });
  }
  return { placements, unplaced };
}

/** "web (2 GiB) fits nowhere: it needs 2.5 GiB free (2 GiB + 512 MiB reserve); the most free is 1 GiB on xen2". */
export function describeUnplaced(u: Unplaced, reserveMiB: number): string {
  const need = `it needs ${mib(u.needMiB)} free (${mib(u.memoryMiB)} + ${mib(reserveMiB)} reserve)`;
  const best = u.best ? `the most free on a target is ${mib(u.best.freeMiB)} on ${u.best.host}` : 'there is no target it may go to';
  return `${u.domain} (${mib(u.memoryMiB)}) fits nowhere: ${need}; ${best}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Rebalancing: greedy moves that strictly even out memory use, never widening the spread
// ---------------------------------------------------------------------------------------------------------------

export interface BalanceHost {
  host: string;
  toolstack: ToolstackKind;
  totalMiB: number;
  freeMiB: number;
  guests: readonly Guest[];
}

export interface Move {
  domain: string;
  memoryMiB: number;
  cpuPercent: number;
  from: string;
  to: string;
}

/** A host's figures before or after the suggested moves. */
export interface HostFigures {
  host: string;
  totalMiB: number;
  usedMiB: number;
  freeMiB: number;
  /** used / total, in percent. */
  usedPct: number;
  /** The sum of its guests' CPU% (of one CPU each). */
  cpuPercent: number;
  guests: number;
}

export interface RebalancePlan {
  moves: Move[];
  before: HostFigures[];
  after: HostFigures[];
  /** max − min of usedPct over the hosts, in percentage points. */
  spreadBefore: number;
  spreadAfter: number;
  /** Why it stopped: spread within the tolerance, no move improves, or the move limit was reached. */
  stoppedBy: 'balanced' | 'no-improving-move' | 'move-limit';
}

export interface RebalanceOptions {
  reserveMiB: number;
  /** A spread (max − min used%) at or under this is balanced enough: no more moves (default 5 points). */
  tolerancePct?: number;
  /** At most this many moves in one plan (default 10). */
  maxMoves?: number;
  /** Whether a guest may move between two hosts (the asker's scope); default: any. */
  allowed?: (domain: string, from: string, to: string) => boolean;
  /** Hosts read but not planned with (frozen, no memory figures): a migration leftover listed there still counts. */
  alsoRead?: readonly { host: string; guests: readonly Pick<Guest, 'name'>[] }[];
}

export const REBALANCE_TOLERANCE_PCT = 5;
export const REBALANCE_MAX_MOVES = 10;
const EPS = 1e-9;

interface State {
  host: string;
  toolstack: ToolstackKind;
  total: number;
  free: number;
  cpu: number;
  guests: Guest[];
  /** Every name it lists (even powered off, not cleared away): a guest of that name cannot land there. */
  names: Set<string>;
}

function figures(s: State): HostFigures {
  const used = s.total - s.free;
  return {
    host: s.host,
    totalMiB: s.total,
    usedMiB: used,
    freeMiB: s.free,
    usedPct: pct(used, s.total),
    cpuPercent: Math.round(s.cpu * 10) / 10,
    guests: s.guests.length,
  };
}

function pct(used: number, total: number): number {
  return total > 0 ? (100 * used) / total : 0;
}

/** Σ(x − mean)² from the sum and the sum of squares. */
function sumSquares(s1: number, s2: number, n: number): number {
  return n > 0 ? Math.max(0, s2 - (s1 * s1) / n) : 0;
}

/**
 * The hosts as targets, in groups of one toolstack and one total memory, each from the most free to the least. Within
 * a group a guest raises every host's used% by the same amount, so the measure after the move grows with the host's
 * used% before it (it is a constant plus 2·Δ·used%), and so does the chance of breaking the reserve: scanning a group
 * in this order, the first host that does not improve on the best so far ends the group. That keeps a round near one
 * look per guest and group instead of one per guest and host (at 1,000 hosts of 20 guests, 20 million per round).
 */
function targetGroups(states: readonly State[]): { toolstack: ToolstackKind; members: number[] }[] {
  const groups = new Map<string, { toolstack: ToolstackKind; members: number[] }>();
  states.forEach((s, i) => {
    const key = `${s.toolstack}/${s.total}`;
    const group = groups.get(key) ?? { toolstack: s.toolstack, members: [] };
    group.members.push(i);
    groups.set(key, group);
  });
  const all = [...groups.values()];
  for (const g of all) g.members.sort((x, y) => (states[y] as State).free - (states[x] as State).free || x - y);
  return all;
}

/** One candidate move, as the round compares them. */
interface MoveCandidate {
  guest: Guest;
  a: number;
  b: number;
  score: number;
  cpu: number;
}

/**
 * Suggests live migrations that even out memory use (used/total per host, as `xl info` counts it, Domain-0
 * included). Each round takes the single move that lowers the sum of squared deviations of used% the most, among
 * moves that keep `reserveMiB` free on the target, stay between hosts of one toolstack, do not widen the spread
 * (max − min used%) and move a guest that has not moved yet (no guest moves twice). Moves that even memory out
 * equally are told apart by the same measure over CPU% (the sum of each host's guests' live CPU%), then by domain
 * and target name. Every accepted move strictly lowers the measure and each guest moves at most once, so it always
 * ends: when the spread is within `tolerancePct`, when no move improves, or after `maxMoves`. A guest with a
 * migration under way (`inFlight`) is not moved. `allowed` is asked only about a move that would be the best so far.
 */
export function planRebalance(hosts: readonly BalanceHost[], options: RebalanceOptions): RebalancePlan {
  const tolerance = options.tolerancePct ?? REBALANCE_TOLERANCE_PCT;
  const maxMoves = options.maxMoves ?? REBALANCE_MAX_MOVES;
  const allowed = options.allowed ?? (() => true);
  const states: State[] = [...hosts]
    .sort((a, b) => byName(a.host, b.host))
    .map((h) => ({
      host: h.host,
      toolstack: h.toolstack,
      total: h.totalMiB,
      free: h.freeMiB,
      cpu: h.guests.reduce((s, g) => s + g.cpuPercent, 0),
      guests: [...h.guests],
      names: new Set(h.guests.map((g) => g.name)),
    }));
  const busy = inFlight([...hosts, ...(options.alsoRead ?? [])]);
  // Checked once per guest, not once per guest and round: it is a schema parse.
  const movable = new Set(states.flatMap((s) => s.guests.filter((g) => isMovable(g) && !busy(g.name))));
  const before = states.map(figures);
  const moved = new Set<Guest>();
  const moves: Move[] = [];
  const n = states.length;
  let stoppedBy: RebalancePlan['stoppedBy'] = 'no-improving-move';
  for (;;) {
    const u = states.map((s) => pct(s.total - s.free, s.total));
    const spread = n > 0 ? Math.max(...u) - Math.min(...u) : 0;
    if (spread <= tolerance + EPS) {
      stoppedBy = 'balanced';
      break;
    }
    if (moves.length >= maxMoves) {
      stoppedBy = 'move-limit';
      break;
    }
    const s1 = u.reduce((a, x) => a + x, 0);
    const s2 = u.reduce((a, x) => a + x * x, 0);
    const score = sumSquares(s1, s2, n);
    const c = states.map((s) => s.cpu);
    const c1 = c.reduce((a, x) => a + x, 0);
    const c2 = c.reduce((a, x) => a + x * x, 0);
    // The three highest and lowest used%, so the spread after a move (which changes two hosts) is O(1).
    const ranked = u.map((x, i) => ({ x, i })).sort((a, b) => a.x - b.x);
    const low = ranked.slice(0, 3);
    const high = ranked.slice(-3).reverse();
    const groups = targetGroups(states);
    let best: MoveCandidate | null = null;
    for (let a = 0; a < n; a++) {
      const from = states[a] as State;
      const ua0 = u[a] as number;
      const ca0 = c[a] as number;
      for (const g of from.guests) {
        if (moved.has(g) || !movable.has(g)) continue;
        const ua = pct(from.total - from.free - g.memoryMiB, from.total);
        for (const group of groups) {
          if (group.toolstack !== from.toolstack) continue;
          for (const b of group.members) {
            if (b === a) continue;
            const to = states[b] as State;
            // The rest of the group has no more free memory than this host, and would even memory out no better.
            if (to.free - g.memoryMiB < options.reserveMiB) break;
            const ub0 = u[b] as number;
            const ub = pct(to.total - to.free + g.memoryMiB, to.total);
            const next = sumSquares(s1 - ua0 - ub0 + ua + ub, s2 - ua0 * ua0 - ub0 * ub0 + ua * ua + ub * ub, n);
            if (next >= score - EPS || (best !== null && next > best.score + EPS)) break;
            // A domain of that name there (even powered off, not cleared away): the migration would fail at the target.
            if (to.names.has(g.name)) continue;
            const after =
              Math.max(other(high, a, b, Number.NEGATIVE_INFINITY), ua, ub) - Math.min(other(low, a, b, Number.POSITIVE_INFINITY), ua, ub);
            if (after > spread + EPS) continue;
            const cb0 = c[b] as number;
            const ca = ca0 - g.cpuPercent;
            const cb = cb0 + g.cpuPercent;
            const cpu = sumSquares(c1 - ca0 - cb0 + ca + cb, c2 - ca0 * ca0 - cb0 * cb0 + ca * ca + cb * cb, n);
            if (best !== null && !better(g.name, to.host, next, cpu, best, states)) continue;
            if (!allowed(g.name, from.host, to.host)) continue;
            best = { guest: g, a, b, score: next, cpu };
          }
        }
      }
    }
    if (best === null) {
      stoppedBy = 'no-improving-move';
      break;
    }
    const from = states[best.a] as State;
    const to = states[best.b] as State;
    const g = best.guest;
    from.guests = from.guests.filter((x) => x !== g);
    from.names.delete(g.name);
    to.guests = [...to.guests, g];
    to.names.add(g.name);
    from.free += g.memoryMiB;
    to.free -= g.memoryMiB;
    from.cpu -= g.cpuPercent;
    to.cpu += g.cpuPercent;
    moved.add(g);
    moves.push({ domain: g.name, memoryMiB: g.memoryMiB, cpuPercent: g.cpuPercent, from: from.host, to: to.host });
  }
  const after = states.map(figures);
  const spreadOf = (f: HostFigures[]) => (f.length > 0 ? Math.max(...f.map((x) => x.usedPct)) - Math.min(...f.map((x) => x.usedPct)) : 0);
  return { moves, before, after, spreadBefore: spreadOf(before), spreadAfter: spreadOf(after), stoppedBy };
}

/** Whether moving `domain` to `to` (its measures `score` and `cpu`) beats the best move so far. */
function better(domain: string, to: string, score: number, cpu: number, y: MoveCandidate, states: readonly State[]): boolean {
  if (Math.abs(score - y.score) > EPS) return score < y.score;
  if (Math.abs(cpu - y.cpu) > EPS) return cpu < y.cpu;
  if (domain !== y.guest.name) return domain < y.guest.name;
  return to < (states[y.b] as State).host;
}

/** The first of the ranked used% that is neither host of the move (`none` when every one is). */
function other(ranked: readonly { x: number; i: number }[], a: number, b: number, none: number): number {
  for (const r of ranked) if (r.i !== a && r.i !== b) return r.x;
  return none;
}
