import { describe, expect, it } from 'vitest';
import { planEvacuation } from '../../commands/evacuate.ts';
import type { CapacityReading, Guest } from './placement.ts';

/**
 * /evacuate and /rebalance plans against what a real target holds. shared/xen-toolstack.md §3: a domain name is unique
 * per host, and a domain powered off by `xl shutdown` stays listed as `---s--` (a crashed one kept by
 * on_crash=preserve as `--psc-`) until it is cleared away, holding its name; §4 / xl_migrate.c migrate_receive: the
 * receiver renames NAME--incoming to NAME only after the whole memory image is copied, and when that rename fails the
 * migration fails "due to problems at target" (exit 1) — in a plan, the step fails and the plan stops there.
 */

const g = (name: string, memoryMiB: number, status: Guest['status'] = 'blocked'): Guest => ({ name, memoryMiB, cpuPercent: 0, status });

function reading(): CapacityReading {
  return {
    at: Date.UTC(2026, 0, 5, 12, 0, 3),
    reserveMiB: 512,
    hosts: {
      xen1: { host: 'xen1', toolstack: 'xl', totalMiB: 32768, freeMiB: 28160, guests: [g('web', 2048)], cpuSampledAt: null },
      // A powered-off `web` still listed there (not cleared away): it holds the name.
      xen2: { host: 'xen2', toolstack: 'xl', totalMiB: 16384, freeMiB: 3072, guests: [g('web', 2048, 'shutdown')], cpuSampledAt: null },
      xen3: { host: 'xen3', toolstack: 'xl', totalMiB: 16384, freeMiB: 10240, guests: [g('db', 4096)], cpuSampledAt: null },
    },
    unanswered: {},
    frozen: {},
  };
}

describe('plans that send a guest where its name is taken', () => {
  it('/evacuate does not place web on a host that already lists a domain named web', () => {
    const plan = planEvacuation({ host: 'xen1', 'shutdown-rest': false } as never, { capacity: reading() } as never, {} as never);
    expect('jobs' in plan).toBe(true);
    if (!('jobs' in plan)) return;
    const targets = plan.jobs.filter((j) => j.op === 'domain.migrate').map((j) => ('target' in j ? j.target : null));
    // Best fit picked xen2 (the tightest), where xl's final rename to "web" must fail after the full copy.
    expect(targets).toEqual(['xen3']);
  });
});

describe('/rebalance and the names a target holds', () => {
  it('never moves a guest to a host that lists a domain of that name; a paused guest is not moved at all', async () => {
    const { planRebalance, whyNotMovable } = await import('./placement.ts');
    const host = (name: string, freeMiB: number, guests: Guest[]) => ({
      host: name,
      toolstack: 'xl' as const,
      totalMiB: 16384,
      freeMiB,
      guests,
    });
    // xen1 is full (web, api, cache), xen2 nearly empty but holds a powered-off `web`: the best move would be web.
    const plan = planRebalance(
      [host('xen1', 2048, [g('web', 8192), g('api', 2048), g('cache', 4096, 'paused')]), host('xen2', 14336, [g('web', 0, 'shutdown')])],
      { reserveMiB: 512 },
    );
    expect(plan.moves.map((m) => m.domain)).not.toContain('web');
    expect(plan.moves.map((m) => m.domain)).not.toContain('cache');
    expect(plan.moves.map((m) => m.domain)).toContain('api');
    expect(whyNotMovable({ name: 'cache', status: 'paused' })).toBe('paused (a migration would unpause it)');
  });
});
