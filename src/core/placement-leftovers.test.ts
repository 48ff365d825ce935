import { describe, expect, it } from 'vitest';
import { planEvacuation } from '../../commands/evacuate.ts';
import { planRebalanceRun } from '../../commands/rebalance.ts';
import type { FleetView } from './fleet-view.ts';
import type { CapacityReading, Guest, HostCapacity } from './placement.ts';

const g = (name: string, memoryMiB: number, status: Guest['status'] = 'running'): Guest => ({ name, memoryMiB, cpuPercent: 0, status });
const host = (name: string, totalMiB: number, freeMiB: number, guests: Guest[]): HostCapacity => ({
  host: name,
  toolstack: 'xl',
  totalMiB,
  freeMiB,
  guests,
  cpuSampledAt: null,
});
const viewOf = (r: CapacityReading): FleetView => ({ hostNames: [], capacity: r, domains: () => [], known: () => true });
const moved = (p: ReturnType<typeof planEvacuation>) =>
  'jobs' in p ? p.jobs.filter((j) => j.op === 'domain.migrate').map((j) => j.domain) : [];

describe('a migration leftover on a host read but not planned with', () => {
  it('GIVEN web--incoming on xen2, whose xl info failed part-way (listed only) THEN /evacuate xen1 does not move web', () => {
    const r: CapacityReading = {
      at: 0,
      reserveMiB: 512,
      hosts: { xen1: host('xen1', 16384, 8192, [g('web', 2048)]), xen3: host('xen3', 16384, 16384, []) },
      unanswered: { xen2: 'xen2 did not report total_memory and free_memory' },
      listedOnly: { xen2: { host: 'xen2', toolstack: 'xl', guests: [g('web--incoming', 2048, 'paused')] } },
      frozen: {},
    };
    expect(moved(planEvacuation({ host: 'xen1', 'shutdown-rest': false } as never, viewOf(r), { view: viewOf(r), visible: [] }))).toEqual(
      [],
    );
  });

  it('GIVEN web--incoming on a frozen xen2 THEN /rebalance --run does not move web', () => {
    const r: CapacityReading = {
      at: 0,
      reserveMiB: 512,
      hosts: {
        xen1: host('xen1', 16384, 4096, [g('web', 2048)]),
        xen2: host('xen2', 16384, 14336, [g('web--incoming', 2048, 'paused')]),
        xen3: host('xen3', 16384, 16384, []),
      },
      unanswered: {},
      frozen: { xen2: 'xen2 frozen' },
    };
    expect(moved(planRebalanceRun({ run: true } as never, viewOf(r), { view: viewOf(r), visible: [] }))).toEqual([]);
  });
});
