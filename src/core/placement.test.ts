import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JobResult } from '../queue/jobs.ts';
import {
  type BalanceHost,
  capacityFromStatus,
  describeUnplaced,
  type Guest,
  isMovable,
  placeGuests,
  planRebalance,
  REBALANCE_TOLERANCE_PCT,
  whyNotMovable,
} from './placement.ts';

const g = (name: string, memoryMiB: number, cpuPercent = 0, status: Guest['status'] = 'blocked'): Guest => ({
  name,
  memoryMiB,
  cpuPercent,
  status,
});

describe('placeGuests: best-fit decreasing with a reserve', () => {
  it('places the largest guest first, each where it fits most tightly, and counts what earlier guests took', () => {
    const plan = placeGuests(
      [g('small', 512), g('big', 4096), g('mid', 2048)],
      [
        { host: 'roomy', freeMiB: 16384 },
        { host: 'tight', freeMiB: 5000 },
      ],
      512,
    );
    // big: tight leaves 904 ≥ 512 (tighter than roomy's 12288); mid: tight has 904 left — too little — so roomy;
    // small: tight would leave 392 < 512, so roomy again.
    expect(plan.placements).toEqual([
      { domain: 'big', memoryMiB: 4096, target: 'tight', freeBeforeMiB: 5000, freeAfterMiB: 904 },
      { domain: 'mid', memoryMiB: 2048, target: 'roomy', freeBeforeMiB: 16384, freeAfterMiB: 14336 },
      { domain: 'small', memoryMiB: 512, target: 'roomy', freeBeforeMiB: 14336, freeAfterMiB: 13824 },
    ]);
    expect(plan.unplaced).toEqual([]);
  });

  it('keeps the reserve exactly: free − memory = reserve fits, one MiB less does not', () => {
    expect(placeGuests([g('a', 1000)], [{ host: 'h', freeMiB: 1512 }], 512).placements).toHaveLength(1);
    const refused = placeGuests([g('a', 1000)], [{ host: 'h', freeMiB: 1511 }], 512);
    expect(refused.placements).toEqual([]);
    expect(refused.unplaced).toEqual([{ domain: 'a', memoryMiB: 1000, needMiB: 1512, best: { host: 'h', freeMiB: 1511 } }]);
  });

  it('names a guest too big for any host with its figures, and places the others', () => {
    const plan = placeGuests(
      [g('huge', 65536), g('web', 2048)],
      [
        { host: 'xen2', freeMiB: 10240 },
        { host: 'xen3', freeMiB: 8192 },
      ],
      512,
    );
    expect(plan.placements.map((p) => [p.domain, p.target])).toEqual([['web', 'xen3']]);
    expect(plan.unplaced).toEqual([{ domain: 'huge', memoryMiB: 65536, needMiB: 66048, best: { host: 'xen2', freeMiB: 10240 } }]);
    expect(describeUnplaced(plan.unplaced[0] as never, 512)).toBe(
      'huge (64 GiB) fits nowhere: it needs 64.5 GiB free (64 GiB + 512 MiB reserve); the most free on a target is 10 GiB on xen2',
    );
  });

  it('breaks ties by name: equal guests by domain name, equally tight hosts by host name, whatever the input order', () => {
    const hosts = [
      { host: 'b', freeMiB: 4096 },
      { host: 'a', freeMiB: 4096 },
    ];
    const one = placeGuests([g('y', 1024), g('x', 1024)], hosts, 0);
    const two = placeGuests([g('x', 1024), g('y', 1024)], [...hosts].reverse(), 0);
    expect(one).toEqual(two);
    expect(one.placements.map((p) => `${p.domain}@${p.target}`)).toEqual(['x@a', 'y@a']);
  });

  it('places a guest only where `allowed` says it may go, and says when it may go nowhere', () => {
    const plan = placeGuests(
      [g('web', 1024), g('db', 1024)],
      [
        { host: 'xen2', freeMiB: 8192 },
        { host: 'xen3', freeMiB: 2048 },
      ],
      0,
      (domain, host) => (domain === 'web' ? host === 'xen3' : false),
    );
    expect(plan.placements.map((p) => `${p.domain}@${p.target}`)).toEqual(['web@xen3']);
    expect(plan.unplaced).toEqual([{ domain: 'db', memoryMiB: 1024, needMiB: 1024, best: null }]);
    expect(describeUnplaced(plan.unplaced[0] as never, 0)).toContain('there is no target it may go to');
  });

  it('property: every placement keeps the reserve on its target, and no target is over-committed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 8192 }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 32768 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 1024 }),
        (mems, frees, reserve) => {
          const guests = mems.map((m, i) => g(`d${i}`, m));
          const hosts = frees.map((f, i) => ({ host: `h${i}`, freeMiB: f }));
          const plan = placeGuests(guests, hosts, reserve);
          expect(plan.placements.length + plan.unplaced.length).toBe(guests.length);
          for (const h of hosts) {
            const taken = plan.placements.filter((p) => p.target === h.host).reduce((s, p) => s + p.memoryMiB, 0);
            if (taken > 0) expect(h.freeMiB - taken).toBeGreaterThanOrEqual(reserve);
          }
          for (const p of plan.placements) expect(p.freeAfterMiB).toBe(p.freeBeforeMiB - p.memoryMiB);
        },
      ),
    );
  });
});

const host = (name: string, totalMiB: number, guests: Guest[], dom0MiB = 0, toolstack: 'xl' | 'xm' = 'xl'): BalanceHost => ({
  host: name,
  toolstack,
  totalMiB,
  freeMiB: totalMiB - dom0MiB - guests.reduce((s, x) => s + x.memoryMiB, 0),
  guests,
});

describe('planRebalance', () => {
  it('suggests the moves with known numbers: before/after per host and a narrower spread', () => {
    // xen1: 2048 Dom0 + 4096 + 4096 + 2048 = 12288 of 16384 (75%); xen2: 2048 Dom0 of 16384 (12.5%).
    const plan = planRebalance([host('xen1', 16384, [g('a', 4096), g('b', 4096), g('c', 2048)], 2048), host('xen2', 16384, [], 2048)], {
      reserveMiB: 512,
    });
    expect(plan.moves).toEqual([{ domain: 'a', memoryMiB: 4096, cpuPercent: 0, from: 'xen1', to: 'xen2' }]);
    expect(plan.before.map((f) => [f.host, f.usedMiB, f.usedPct])).toEqual([
      ['xen1', 12288, 75],
      ['xen2', 2048, 12.5],
    ]);
    expect(plan.after.map((f) => [f.host, f.usedMiB, f.freeMiB, f.usedPct, f.guests])).toEqual([
      ['xen1', 8192, 8192, 50, 2],
      ['xen2', 6144, 10240, 37.5, 1],
    ]);
    expect(plan.spreadBefore).toBe(62.5);
    expect(plan.spreadAfter).toBe(12.5);
    // Moving c too (50/37.5 → 37.5/50) only mirrors the spread: not an improvement, so it stops.
    expect(plan.stoppedBy).toBe('no-improving-move');
  });

  it('CPU breaks ties between moves that even memory out equally, before names do', () => {
    // Two targets with the same memory figures: the guest goes to the one with less CPU load, not to the first name.
    const target = planRebalance(
      [host('src', 8192, [g('web', 2048, 40)], 2048), host('a-busy', 8192, [g('p', 512, 150)]), host('b-calm', 8192, [g('q', 512, 5)])],
      { reserveMiB: 0 },
    );
    expect(target.moves[0]).toMatchObject({ domain: 'web', from: 'src', to: 'b-calm' });
    // Two guests of one size: moving b (10%) leaves CPU 90 vs 60, moving a (90%) would leave 10 vs 140.
    const guest = planRebalance([host('hot', 8192, [g('a', 2048, 90), g('b', 2048, 10)]), host('idle', 8192, [g('x', 512, 50)])], {
      reserveMiB: 0,
    });
    expect(guest.moves).toEqual([{ domain: 'b', memoryMiB: 2048, cpuPercent: 10, from: 'hot', to: 'idle' }]);
    expect(guest.after.map((f) => [f.host, f.cpuPercent])).toEqual([
      ['hot', 90],
      ['idle', 60],
    ]);
  });

  it('is already balanced within the tolerance: no move', () => {
    const plan = planRebalance([host('a', 8192, [g('x', 2048)]), host('b', 8192, [g('y', 2048), g('z', 256)])], { reserveMiB: 0 });
    expect(plan.spreadBefore).toBeLessThanOrEqual(REBALANCE_TOLERANCE_PCT);
    expect(plan.moves).toEqual([]);
    expect(plan.stoppedBy).toBe('balanced');
  });

  it('respects the reserve, the toolstack and `allowed`: no move is suggested that breaks one of them', () => {
    const hosts = [host('full', 8192, [g('a', 4096), g('b', 3072)]), host('xm', 8192, [], 0, 'xm'), host('small', 4096, [], 0)];
    expect(planRebalance(hosts, { reserveMiB: 0, allowed: () => false }).moves).toEqual([]);
    const moves = planRebalance(hosts, { reserveMiB: 1024 }).moves;
    expect(moves.every((m) => m.to !== 'xm')).toBe(true);
    // small has 4096 free: b (3072) leaves 1024 = the reserve; a (4096) would leave 0.
    expect(moves).toEqual([{ domain: 'b', memoryMiB: 3072, cpuPercent: 0, from: 'full', to: 'small' }]);
  });

  it('never moves a guest twice, nor crashed guests or Domain-0 figures', () => {
    const plan = planRebalance(
      [host('a', 8192, [g('dead', 4096, 0, 'crashed'), g('ok', 2048)]), host('b', 8192, []), host('c', 8192, [])],
      { reserveMiB: 0 },
    );
    expect(plan.moves.map((m) => m.domain)).toEqual(['ok']);
  });

  it('stops at the move limit and says so', () => {
    const guests = Array.from({ length: 8 }, (_, i) => g(`d${i}`, 512));
    const plan = planRebalance([host('a', 8192, guests), host('b', 8192, [])], { reserveMiB: 0, maxMoves: 2, tolerancePct: 0 });
    expect(plan.moves).toHaveLength(2);
    expect(plan.stoppedBy).toBe('move-limit');
  });

  it('property: converges, each move strictly evens memory out, the spread never widens, and a second run finds nothing', () => {
    const hostArb = fc.record({
      total: fc.integer({ min: 2048, max: 65536 }),
      guests: fc.array(fc.integer({ min: 128, max: 8192 }), { maxLength: 6 }),
      toolstack: fc.constantFrom('xl' as const, 'xl' as const, 'xm' as const),
    });
    fc.assert(
      fc.property(fc.array(hostArb, { minLength: 2, maxLength: 5 }), fc.integer({ min: 0, max: 1024 }), (specs, reserve) => {
        let n = 0;
        const hosts = specs.map((s, i) => {
          const guests: Guest[] = [];
          let free = s.total;
          for (const m of s.guests) {
            if (m > free) break;
            free -= m;
            guests.push(g(`g${n++}`, m, (m * 7) % 100));
          }
          return { host: `h${i}`, toolstack: s.toolstack, totalMiB: s.total, freeMiB: free, guests };
        });
        const plan = planRebalance(hosts, { reserveMiB: reserve, maxMoves: 100 });
        expect(plan.spreadAfter).toBeLessThanOrEqual(plan.spreadBefore + 1e-9);
        expect(new Set(plan.moves.map((m) => m.domain)).size).toBe(plan.moves.length);
        // Replay the moves one at a time: each keeps the reserve and lowers the spread-of-squares measure.
        const state = new Map(hosts.map((h) => [h.host, { ...h }]));
        const measure = () => {
          const u = [...state.values()].map((h) => (100 * (h.totalMiB - h.freeMiB)) / h.totalMiB);
          const mean = u.reduce((a, x) => a + x, 0) / u.length;
          return u.reduce((a, x) => a + (x - mean) ** 2, 0);
        };
        let last = measure();
        for (const m of plan.moves) {
          const from = state.get(m.from) as BalanceHost;
          const to = state.get(m.to) as BalanceHost;
          expect(from.toolstack).toBe(to.toolstack);
          expect(to.freeMiB - m.memoryMiB).toBeGreaterThanOrEqual(reserve);
          from.freeMiB += m.memoryMiB;
          to.freeMiB -= m.memoryMiB;
          const now = measure();
          expect(now).toBeLessThan(last);
          last = now;
        }
        // Converged: planning again from the result (with the limit lifted) suggests nothing more.
        const again = planRebalance(
          plan.after.map((f) => ({
            host: f.host,
            toolstack: hosts.find((h) => h.host === f.host)?.toolstack ?? 'xl',
            totalMiB: f.totalMiB,
            freeMiB: f.freeMiB,
            guests: [],
          })),
          { reserveMiB: reserve },
        );
        expect(again.moves).toEqual([]);
      }),
    );
  });
});

describe('capacityFromStatus', () => {
  const status = (over: Partial<JobResult<'host.status'>> = {}): JobResult<'host.status'> => ({
    host: 'xen1',
    reachable: true,
    toolstack: 'xl',
    domainsByStatus: {},
    totalMemoryMiB: 32768,
    freeMemoryMiB: 28160,
    xenVersion: '4.17',
    domains: [
      { name: 'Domain-0', uuid: null, status: 'running', memoryMiB: 2048 },
      { name: 'web', uuid: null, status: 'blocked', memoryMiB: 2048 },
      { name: 'mail', uuid: null, status: 'defined', memoryMiB: null },
    ],
    busiest: [{ name: 'web', cpuPercent: 12.5, memoryKiB: 2097152 }],
    sampledAt: 1000,
    ...over,
  });

  it('keeps the guests (not Domain-0, not defined-only ones) with their live CPU', () => {
    expect(capacityFromStatus(status())).toEqual({
      host: 'xen1',
      toolstack: 'xl',
      totalMiB: 32768,
      freeMiB: 28160,
      guests: [{ name: 'web', memoryMiB: 2048, cpuPercent: 12.5, status: 'blocked' }],
      cpuSampledAt: 1000,
    });
  });

  it('says why figures cannot be planned with: no memory figures, no domain list, a guest of unknown size', () => {
    expect(capacityFromStatus(status({ freeMemoryMiB: null }))).toBe('xen1 did not report free_memory');
    expect(capacityFromStatus(status({ domains: undefined as never }))).toMatch(/did not list its domains/);
    expect(capacityFromStatus(status({ domains: [{ name: 'web', uuid: null, status: 'running', memoryMiB: null }] }))).toBe(
      'xen1 did not report the memory of web',
    );
  });
});

describe('isMovable', () => {
  it('GIVEN a running guest with a name xenops may act on THEN it may be moved; a migration leftover or an all-digit name may not', () => {
    expect(isMovable({ name: 'web', status: 'running' })).toBe(true);
    expect(isMovable({ name: 'web', status: 'crashed' })).toBe(false);
    expect(isMovable({ name: 'web--incoming', status: 'running' })).toBe(false);
    expect(isMovable({ name: '1234', status: 'blocked' })).toBe(false);
    expect(whyNotMovable({ name: 'web--incoming', status: 'running' })).toBe('a name xenops does not act on');
    expect(whyNotMovable({ name: 'web', status: 'crashed' })).toBe('crashed');
  });
});
