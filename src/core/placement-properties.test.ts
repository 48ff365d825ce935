import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planEvacuation } from '../../commands/evacuate.ts';
import { planRebalanceRun } from '../../commands/rebalance.ts';
import type { JobSpec } from './define-command.ts';
import type { FleetView } from './fleet-view.ts';
import { DOM0_NAME, migratingName } from './names.ts';
import { type BalanceHost, type CapacityReading, type Guest, isMovable, planRebalance } from './placement.ts';
import type { DomainStatus, ToolstackKind } from './xen.ts';

/**
 * Property tests of the planners against what the README promises an operator (/evacuate, /rebalance): random fleets
 * with frozen hosts, hosts without memory figures, xl and xm mixed, a scope, migration leftovers and Domain-0. A fixed
 * seed keeps every run the same.
 */

const SEED = 20260105;
const RUNS = 300;
const STATUSES: DomainStatus[] = ['running', 'blocked', 'running', 'blocked', 'paused', 'crashed', 'dying', 'shutdown'];
const NAMES = ['web', 'db', 'mail', 'api', 'cache', 'log', DOM0_NAME, 'web--incoming', 'db--migratedaway', '1234'];

interface HostSpec {
  host: string;
  toolstack: ToolstackKind;
  totalMiB: number;
  freeMiB: number;
  guests: Guest[];
  /** known: full figures; listed: `xl info` failed part-way (guests only); down: no answer. */
  figures: 'known' | 'listed' | 'down';
  frozen: boolean;
}

interface Fleet {
  hosts: HostSpec[];
  reserveMiB: number;
  deniedHosts: Set<string>;
  deniedDomains: Set<string>;
}

const guestArb = fc.record({
  name: fc.constantFrom(...NAMES),
  memoryMiB: fc.integer({ min: 0, max: 32 }).map((x) => x * 256),
  cpuPercent: fc.integer({ min: 0, max: 200 }),
  status: fc.constantFrom(...STATUSES),
});

const hostArb = fc.record({
  toolstack: fc.constantFrom<ToolstackKind>('xl', 'xl', 'xl', 'xm'),
  totalMiB: fc.constantFrom(4096, 8192, 16384, 16384, 32768),
  dom0MiB: fc.constantFrom(0, 512, 2048),
  guests: fc.uniqueArray(guestArb, { maxLength: 5, selector: (g) => g.name }),
  figures: fc.constantFrom<HostSpec['figures']>('known', 'known', 'known', 'known', 'listed', 'down'),
  frozen: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
});

const fleetArb: fc.Arbitrary<Fleet> = fc
  .record({
    hosts: fc.array(hostArb, { minLength: 2, maxLength: 6 }),
    reserveMiB: fc.constantFrom(0, 256, 512, 1024),
    deniedHosts: fc.subarray(['h0', 'h1', 'h2', 'h3', 'h4', 'h5'], { maxLength: 2 }),
    deniedDomains: fc.subarray(['web', 'db', 'mail', 'api', 'cache', 'log'], { maxLength: 2 }),
    scoped: fc.boolean(),
  })
  .map(({ hosts, reserveMiB, deniedHosts, deniedDomains, scoped }) => ({
    reserveMiB,
    deniedHosts: new Set(scoped ? deniedHosts : []),
    deniedDomains: new Set(scoped ? deniedDomains : []),
    hosts: hosts.map((h, i) => {
      // Only guests that fit in the host's memory: free never goes negative.
      let free = h.totalMiB - h.dom0MiB;
      const guests: Guest[] = [];
      for (const x of h.guests) {
        if (x.memoryMiB > free) continue;
        free -= x.memoryMiB;
        guests.push(x);
      }
      return { host: `h${i}`, toolstack: h.toolstack, totalMiB: h.totalMiB, freeMiB: free, guests, figures: h.figures, frozen: h.frozen };
    }),
  }));

function readingOf(f: Fleet): CapacityReading {
  const r: CapacityReading = { at: 0, reserveMiB: f.reserveMiB, hosts: {}, unanswered: {}, frozen: {} };
  for (const h of f.hosts) {
    if (h.frozen) r.frozen[h.host] = `${h.host} frozen by test`;
    if (h.figures === 'known')
      r.hosts[h.host] = {
        host: h.host,
        toolstack: h.toolstack,
        totalMiB: h.totalMiB,
        freeMiB: h.freeMiB,
        guests: h.guests,
        cpuSampledAt: 1,
      };
    else if (h.figures === 'listed') {
      r.unanswered[h.host] = `${h.host} did not report total_memory and free_memory`;
      r.listedOnly = { ...r.listedOnly, [h.host]: { host: h.host, toolstack: h.toolstack, guests: h.guests } };
    } else r.unanswered[h.host] = `${h.host} did not answer`;
  }
  return r;
}

const viewOf = (r: CapacityReading): FleetView => ({
  hostNames: [...Object.keys(r.hosts), ...Object.keys(r.unanswered)].sort(),
  capacity: r,
  domains: () => [],
  known: () => true,
});

const mayOf = (f: Fleet) => (_permission: string, host: string, domain?: string) =>
  !f.deniedHosts.has(host) && !(domain !== undefined && f.deniedDomains.has(domain));

/**
 * The guests with a migration leftover (`NAME--incoming`, `NAME--migratedaway`) on the hosts `seen` keeps: every host
 * that listed its guests counts, with memory figures or without, frozen or not.
 */
function leftovers(f: Fleet, seen: (h: HostSpec) => boolean): Set<string> {
  const out = new Set<string>();
  for (const h of f.hosts)
    if (seen(h))
      for (const x of h.guests) {
        const base = migratingName(x.name);
        if (base) out.add(base);
      }
  return out;
}

/** The same figures, the hosts and each host's guests in reverse order. */
function reversed(r: CapacityReading): CapacityReading {
  const rev = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).reverse());
  return {
    ...r,
    hosts: rev(Object.fromEntries(Object.entries(r.hosts).map(([k, h]) => [k, { ...h, guests: [...h.guests].reverse() }]))),
    unanswered: rev(r.unanswered),
    frozen: rev(r.frozen),
    ...(r.listedOnly
      ? {
          listedOnly: rev(Object.fromEntries(Object.entries(r.listedOnly).map(([k, h]) => [k, { ...h, guests: [...h.guests].reverse() }]))),
        }
      : {}),
  };
}

type Migrate = Extract<JobSpec, { op: 'domain.migrate' }>;
const migrations = (jobs: readonly JobSpec[]) => jobs.filter((j): j is Migrate => j.op === 'domain.migrate');

describe('/evacuate plans (planEvacuation) on random fleets', () => {
  it('property: targets are only usable hosts, the reserve holds step by step, no guest twice, nothing dropped silently', () => {
    fc.assert(
      fc.property(
        fleetArb,
        fc.nat(5),
        fc.boolean(),
        fc.option(fc.subarray(['h0', 'h1', 'h2', 'h3', 'h4', 'h5'], { minLength: 1 })),
        (f, pick, rest, to) => {
          const source = f.hosts[pick % f.hosts.length] as HostSpec;
          const r = readingOf(f);
          const may = mayOf(f);
          const args = { host: source.host, 'shutdown-rest': rest, ...(to ? { to } : {}) };
          const plan = planEvacuation(args as never, viewOf(r), { view: viewOf(r), visible: [], may });
          // The same figures in another order plan the same.
          // (Refusals and the card name guests in the order `xl list` gave them: only the jobs are compared.)
          const again = planEvacuation(args as never, viewOf(reversed(r)), { view: viewOf(r), visible: [], may });
          expect('jobs' in again ? again.jobs : 'refused').toEqual('jobs' in plan ? plan.jobs : 'refused');
          if (!('jobs' in plan)) return;
          const busy = leftovers(f, (h) => h.figures !== 'down');
          const free = new Map(Object.values(r.hosts).map((h) => [h.host, h.freeMiB]));
          const names = new Map(f.hosts.map((h) => [h.host, new Set(h.guests.map((x) => x.name))]));
          const seen = new Set<string>();
          for (const j of migrations(plan.jobs)) {
            const t = j.target;
            const target = r.hosts[t];
            expect(j.host).toBe(source.host);
            expect(t).not.toBe(source.host);
            expect(target, `${t} has memory figures`).toBeDefined();
            expect(r.frozen[t], `${t} is not frozen`).toBeUndefined();
            expect(target?.toolstack).toBe(source.toolstack);
            if (to) expect(to).toContain(t);
            expect(may('domain.migrate', t, j.domain) && may('domain.migrate', source.host, j.domain)).toBe(true);
            const guest = source.guests.find((x) => x.name === j.domain) as Guest;
            expect(guest, `${j.domain} runs on ${source.host}`).toBeDefined();
            expect(isMovable(guest)).toBe(true);
            expect(j.domain).not.toBe(DOM0_NAME);
            expect(migratingName(j.domain)).toBeNull();
            expect(busy.has(j.domain), `${j.domain} has a migration leftover on a host read`).toBe(false);
            expect(names.get(t)?.has(j.domain), `${t} lists no domain named ${j.domain}`).toBe(false);
            expect(seen.has(j.domain)).toBe(false);
            seen.add(j.domain);
            const left = (free.get(t) ?? 0) - guest.memoryMiB;
            expect(left).toBeGreaterThanOrEqual(f.reserveMiB);
            expect(j.keepFreeMiB).toBe(f.reserveMiB);
            free.set(t, left);
            names.get(t)?.add(j.domain);
          }
          const stops = plan.jobs.filter((j) => j.op === 'domain.stop');
          if (!rest) expect(stops).toEqual([]);
          for (const s of stops) {
            expect(s.host).toBe(source.host);
            expect(seen.has(s.domain as string)).toBe(false);
            seen.add(s.domain as string);
          }
          // Shutdowns only: only with --shutdown-rest, and only when some target may take a guest but has no room.
          if (migrations(plan.jobs).length === 0) expect(rest && stops.length > 0).toBe(true);
          expect(plan.jobs.at(-1)).toEqual({ op: 'domain.list', host: source.host });
          // Every guest the asker may see that is not moved nor shut down is named on the card with a reason.
          const card = (plan.summary ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('\n');
          for (const x of source.guests)
            if (!seen.has(x.name) && may('host.evacuate', source.host, x.name))
              expect(card).toMatch(new RegExp(`${x.name.replace(/[.+]/g, '\\$&')} \\(`));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

/** The sum of squared deviations of used% over the hosts: what every accepted move must lower. */
function measure(hosts: readonly BalanceHost[]): number {
  const u = hosts.map((h) => (100 * (h.totalMiB - h.freeMiB)) / h.totalMiB);
  const mean = u.reduce((a, x) => a + x, 0) / u.length;
  return u.reduce((a, x) => a + (x - mean) ** 2, 0);
}

/** The hosts after the plan's moves, replayed one by one (checking each against the documented rules). */
function apply(hosts: readonly BalanceHost[], moves: ReturnType<typeof planRebalance>['moves'], reserve: number): BalanceHost[] {
  const state = new Map(hosts.map((h) => [h.host, { ...h, guests: [...h.guests] }]));
  for (const m of moves) {
    const from = state.get(m.from) as BalanceHost;
    const to = state.get(m.to) as BalanceHost;
    const guest = from.guests.find((x) => x.name === m.domain) as Guest;
    expect(guest, `${m.domain} is on ${m.from}`).toBeDefined();
    expect(to.guests.some((x) => x.name === m.domain)).toBe(false);
    expect(from.toolstack).toBe(to.toolstack);
    expect(to.freeMiB - guest.memoryMiB).toBeGreaterThanOrEqual(reserve);
    from.guests = from.guests.filter((x) => x !== guest);
    to.guests = [...to.guests, guest];
    from.freeMiB += guest.memoryMiB;
    to.freeMiB -= guest.memoryMiB;
  }
  return [...state.values()];
}

const balanceHosts = (f: Fleet): BalanceHost[] =>
  f.hosts.map((h) => ({ host: h.host, toolstack: h.toolstack, totalMiB: h.totalMiB, freeMiB: h.freeMiB, guests: h.guests }));

describe('/rebalance plans (planRebalance) on random fleets', () => {
  it('property: allowed, movable, reserve-keeping moves; each lowers the measure; same plan in any order; replanning ends', () => {
    fc.assert(
      fc.property(fleetArb, (f) => {
        const hosts = balanceHosts(f);
        const may = mayOf(f);
        const allowed = (d: string, from: string, to: string) => may('domain.migrate', from, d) && may('domain.migrate', to, d);
        const plan = planRebalance(hosts, { reserveMiB: f.reserveMiB, allowed });
        const shuffled = [...hosts].reverse().map((h) => ({ ...h, guests: [...h.guests].reverse() }));
        expect(planRebalance(shuffled, { reserveMiB: f.reserveMiB, allowed })).toEqual(plan);
        const busy = leftovers(f, () => true);
        const moved = new Set<string>();
        for (const m of plan.moves) {
          expect(allowed(m.domain, m.from, m.to)).toBe(true);
          expect(busy.has(m.domain)).toBe(false);
          const guest = hosts.find((h) => h.host === m.from)?.guests.find((x) => x.name === m.domain) as Guest;
          expect(isMovable(guest)).toBe(true);
          expect(moved.has(`${m.from}/${m.domain}`)).toBe(false);
          moved.add(`${m.to}/${m.domain}`);
        }
        expect(plan.spreadAfter).toBeLessThanOrEqual(plan.spreadBefore + 1e-9);
        // The busiest host never gets busier (another, smaller host may end above it: the measure is the spread).
        const top = Math.max(...plan.before.map((x) => x.usedPct));
        for (const b of plan.before.filter((x) => x.usedPct === top))
          expect(plan.after.find((x) => x.host === b.host)?.usedPct).toBeLessThanOrEqual(top + 1e-9);
        expect(plan.moves.length).toBeLessThanOrEqual(10);
        if (plan.stoppedBy === 'balanced') expect(plan.spreadAfter).toBeLessThanOrEqual(5 + 1e-9);
        // Replay, then plan again from the result, until nothing is left: every plan lowers the measure, so it ends.
        let state = hosts;
        let last = measure(state);
        // The figures after are those of the moves replayed.
        const replayed = new Map(apply(hosts, plan.moves, f.reserveMiB).map((h) => [h.host, h]));
        for (const a of plan.after) expect(a.freeMiB).toBe(replayed.get(a.host)?.freeMiB);
        for (let round = 0; round < 40; round++) {
          const p = round === 0 ? plan : planRebalance(state, { reserveMiB: f.reserveMiB, allowed });
          if (p.moves.length === 0) return;
          state = apply(state, p.moves, f.reserveMiB);
          const now = measure(state);
          expect(now).toBeLessThan(last);
          last = now;
        }
        throw new Error('planning again from each result did not end within 40 rounds');
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe('/rebalance --run plans (planRebalanceRun) on random fleets', () => {
  it('property: never from or to a frozen, unread or unnamed host, nor a guest with a migration leftover on a host read', () => {
    fc.assert(
      fc.property(fleetArb, fc.option(fc.subarray(['h0', 'h1', 'h2', 'h3', 'h4', 'h5'], { minLength: 2 })), (f, named) => {
        // Only the hosts named are read (`capacity`): a leftover elsewhere is not seen.
        if (named) f = { ...f, hosts: f.hosts.filter((h) => named.includes(h.host)) };
        const r = readingOf(f);
        const may = mayOf(f);
        const args = { run: true, ...(named ? { hosts: named } : {}) };
        const plan = planRebalanceRun(args as never, viewOf(r), { view: viewOf(r), visible: [], may });
        if (!('jobs' in plan)) return;
        const busy = leftovers(f, (h) => h.figures !== 'down');
        for (const j of migrations(plan.jobs)) {
          for (const h of [j.host, j.target]) {
            expect(r.hosts[h]).toBeDefined();
            expect(r.frozen[h]).toBeUndefined();
            if (named) expect(named).toContain(h);
            expect(may('domain.migrate', h, j.domain)).toBe(true);
          }
          expect(busy.has(j.domain), `${j.domain} has a migration leftover on a host read`).toBe(false);
          expect(j.keepFreeMiB).toBe(f.reserveMiB);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

/** Every move the documented rules allow from a state (scope, names, toolstacks, leftovers), by brute force. */
function bestMove(
  hosts: readonly BalanceHost[],
  moved: Set<string>,
  reserve: number,
  allowed: (d: string, a: string, b: string) => boolean,
) {
  const busy = new Set(hosts.flatMap((h) => h.guests.map((x) => migratingName(x.name)).filter((x): x is string => x !== null)));
  const n = hosts.length;
  const u = hosts.map((h) => (100 * (h.totalMiB - h.freeMiB)) / h.totalMiB);
  const cpu = hosts.map((h) => h.guests.reduce((s, x) => s + x.cpuPercent, 0));
  const variance = (xs: number[]) => {
    const mean = xs.reduce((a, x) => a + x, 0) / n;
    return xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  };
  const score = variance(u);
  const spread = Math.max(...u) - Math.min(...u);
  let best: { domain: string; from: string; to: string; score: number; cpu: number } | null = null;
  hosts.forEach((from, a) => {
    for (const x of from.guests) {
      if (moved.has(`${from.host}/${x.name}`) || !isMovable(x) || busy.has(x.name)) continue;
      hosts.forEach((to, b) => {
        if (a === b || to.toolstack !== from.toolstack || to.freeMiB - x.memoryMiB < reserve) return;
        if (to.guests.some((y) => y.name === x.name) || !allowed(x.name, from.host, to.host)) return;
        const v = [...u];
        const c = [...cpu];
        v[a] = (100 * (from.totalMiB - from.freeMiB - x.memoryMiB)) / from.totalMiB;
        v[b] = (100 * (to.totalMiB - to.freeMiB + x.memoryMiB)) / to.totalMiB;
        c[a] = (c[a] as number) - x.cpuPercent;
        c[b] = (c[b] as number) + x.cpuPercent;
        const o = { domain: x.name, from: from.host, to: to.host, score: variance(v), cpu: variance(c) };
        if (o.score >= score - 1e-6 || Math.max(...v) - Math.min(...v) > spread + 1e-6) return;
        const wins =
          best === null ||
          (Math.abs(o.score - best.score) > 1e-6
            ? o.score < best.score
            : Math.abs(o.cpu - best.cpu) > 1e-6
              ? o.cpu < best.cpu
              : o.domain !== best.domain
                ? o.domain < best.domain
                : o.to < best.to);
        if (wins) best = o;
      });
    }
  });
  return best as { domain: string; from: string; to: string } | null;
}

describe('planRebalance takes the best allowed move each round', () => {
  it('property: with a scope, names held, leftovers and xm hosts mixed, each move is the brute-force best', () => {
    fc.assert(
      fc.property(fleetArb, (f) => {
        const may = mayOf(f);
        const allowed = (d: string, from: string, to: string) => may('domain.migrate', from, d) && may('domain.migrate', to, d);
        let state = balanceHosts(f).sort((a, b) => (a.host < b.host ? -1 : 1));
        const plan = planRebalance(state, { reserveMiB: f.reserveMiB, allowed, tolerancePct: 0, maxMoves: 100 });
        const moved = new Set<string>();
        for (const m of plan.moves) {
          const expected = bestMove(state, moved, f.reserveMiB, allowed);
          expect({ domain: m.domain, from: m.from, to: m.to }).toEqual(
            expected && { domain: expected.domain, from: expected.from, to: expected.to },
          );
          state = apply(state, [m], f.reserveMiB);
          moved.add(`${m.to}/${m.domain}`);
        }
        if (plan.stoppedBy === 'no-improving-move') expect(bestMove(state, moved, f.reserveMiB, allowed)).toBeNull();
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
