import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BalanceHost, type Guest, inFlight, isMovable, planRebalance } from './placement.ts';

const g = (name: string, memoryMiB: number, cpuPercent = 0, status: Guest['status'] = 'blocked'): Guest => ({
  name,
  memoryMiB,
  cpuPercent,
  status,
});

/** 1,000 hosts of 128 GiB with 20 guests each (the fleet the README measures), unevenly loaded. */
function bigFleet(): BalanceHost[] {
  return Array.from({ length: 1000 }, (_, i) => {
    const guests = Array.from({ length: 20 }, (_, j) => g(`g${i}-${j}`, 512 + ((i * 7 + j * 13) % 8) * 256, (i + j) % 50));
    const used = guests.reduce((s, x) => s + x.memoryMiB, 2048) + (i % 10) * 4096;
    return { host: `h${String(i).padStart(4, '0')}`, toolstack: 'xl' as const, totalMiB: 131072, freeMiB: 131072 - used, guests };
  });
}

describe('planRebalance on a large fleet (the bot plans it on its event loop)', () => {
  it('GIVEN 1,000 hosts of 20 guests THEN `allowed` (an authorization) is asked only about moves that would be the best so far', () => {
    let asked = 0;
    const plan = planRebalance(bigFleet(), {
      reserveMiB: 512,
      allowed: () => {
        asked++;
        return true;
      },
    });
    expect(plan.moves).toHaveLength(10);
    expect(plan.stoppedBy).toBe('move-limit');
    // One authorization per (guest, target) pair was 20 million per round: the bot stood still for minutes.
    // (How long the plan takes is the scan's business: on the old code 43 s here, now well under one; not asserted in a
    // test, which runs on a loaded machine.)
    expect(asked).toBeLessThan(20_000);
  }, 120_000);
});

/** Every move the documented rules allow from a state, and the measures the planner compares them by. */
function feasible(hosts: BalanceHost[], moved: Set<string>, reserve: number) {
  const n = hosts.length;
  const u = hosts.map((h) => (h.totalMiB > 0 ? (100 * (h.totalMiB - h.freeMiB)) / h.totalMiB : 0));
  const cpu = hosts.map((h) => h.guests.reduce((s, x) => s + x.cpuPercent, 0));
  const variance = (xs: number[]) => {
    const mean = xs.reduce((a, x) => a + x, 0) / n;
    return xs.reduce((a, x) => a + (x - mean) ** 2, 0);
  };
  const score = variance(u);
  const spread = Math.max(...u) - Math.min(...u);
  const out: { domain: string; from: string; to: string; score: number; cpu: number }[] = [];
  hosts.forEach((from, a) => {
    for (const x of from.guests) {
      if (moved.has(x.name) || !isMovable(x)) continue;
      hosts.forEach((to, b) => {
        if (a === b || to.toolstack !== from.toolstack || to.freeMiB - x.memoryMiB < reserve) return;
        if (to.guests.some((y) => y.name === x.name)) return;
        const v = [...u];
        const c = [...cpu];
        v[a] = (100 * (from.totalMiB - from.freeMiB - x.memoryMiB)) / from.totalMiB;
        v[b] = (100 * (to.totalMiB - to.freeMiB + x.memoryMiB)) / to.totalMiB;
        c[a] = (c[a] as number) - x.cpuPercent;
        c[b] = (c[b] as number) + x.cpuPercent;
        const next = variance(v);
        if (next >= score - 1e-6 || Math.max(...v) - Math.min(...v) > spread + 1e-6) return;
        out.push({ domain: x.name, from: from.host, to: to.host, score: next, cpu: variance(c) });
      });
    }
  });
  return out;
}

describe('planRebalance still takes the best move each round (guard for the faster search)', () => {
  it('property: every move is the best feasible one by measure, then CPU, then names — on fleets with many identical hosts', () => {
    const hostArb = fc.record({
      total: fc.constantFrom(8192, 16384, 16384, 32768),
      guests: fc.array(fc.record({ m: fc.constantFrom(512, 1024, 2048, 4096), cpu: fc.constantFrom(0, 0, 10, 40) }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(hostArb, { minLength: 2, maxLength: 6 }), fc.constantFrom(0, 512), (specs, reserve) => {
        let k = 0;
        const hosts: BalanceHost[] = specs.map((s, i) => {
          const guests: Guest[] = [];
          let free = s.total;
          for (const x of s.guests) {
            if (x.m > free) break;
            free -= x.m;
            guests.push(g(`d${k++}`, x.m, x.cpu));
          }
          return { host: `h${i}`, toolstack: 'xl', totalMiB: s.total, freeMiB: free, guests };
        });
        const plan = planRebalance(hosts, { reserveMiB: reserve, maxMoves: 100, tolerancePct: 0 });
        const state = hosts.map((h) => ({ ...h, guests: [...h.guests] }));
        const moved = new Set<string>();
        for (const m of plan.moves) {
          const options = feasible(state, moved, reserve);
          const bestScore = Math.min(...options.map((o) => o.score));
          const top = options.filter((o) => o.score - bestScore < 1e-6);
          const bestCpu = Math.min(...top.map((o) => o.cpu));
          const expected = top
            .filter((o) => o.cpu - bestCpu < 1e-6)
            .sort((x, y) => (x.domain < y.domain ? -1 : x.domain > y.domain ? 1 : x.to < y.to ? -1 : 1))[0];
          expect({ domain: m.domain, from: m.from, to: m.to }).toEqual({
            domain: expected?.domain,
            from: expected?.from,
            to: expected?.to,
          });
          const from = state.find((h) => h.host === m.from) as BalanceHost;
          const to = state.find((h) => h.host === m.to) as BalanceHost;
          const guest = from.guests.find((x) => x.name === m.domain) as Guest;
          from.guests = from.guests.filter((x) => x !== guest);
          to.guests = [...to.guests, guest];
          from.freeMiB += guest.memoryMiB;
          to.freeMiB -= guest.memoryMiB;
          moved.add(guest.name);
        }
        if (plan.stoppedBy === 'no-improving-move') expect(feasible(state, moved, reserve)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe('a guest whose migration is under way', () => {
  it('GIVEN web--incoming on xen2 (a migration of web running now) THEN /rebalance does not move web again', () => {
    const plan = planRebalance(
      [
        // web (6144) to xen3 would be the best move: both hosts at 37.5%.
        { host: 'xen1', toolstack: 'xl', totalMiB: 16384, freeMiB: 4096, guests: [g('web', 6144), g('db', 1024)] },
        { host: 'xen2', toolstack: 'xl', totalMiB: 16384, freeMiB: 8192, guests: [g('web--incoming', 6144, 0, 'paused')] },
        { host: 'xen3', toolstack: 'xl', totalMiB: 16384, freeMiB: 16384, guests: [] },
      ],
      { reserveMiB: 512 },
    );
    expect(plan.moves.map((m) => `${m.domain}→${m.to}`)).toEqual(['db→xen3']);
  });

  it('says where the leftover is', () => {
    const busy = inFlight([
      { host: 'xen1', guests: [g('web', 1), g('mail--migratedaway', 1)] },
      { host: 'xen2', guests: [g('web--incoming', 1)] },
    ]);
    expect(busy('web')).toBe('a migration of it is under way or left unfinished: web--incoming on xen2');
    expect(busy('mail')).toBe('a migration of it is under way or left unfinished: mail--migratedaway on xen1');
    expect(busy('db')).toBeNull();
  });
});
