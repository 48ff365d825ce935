import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { answered, NOW, rowsOf as text } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

/** A host that answered; its busiest guests from the live sample, or none when its sampler has nothing fresh. */
function host(name: string, busiest: { name: string; cpuPercent: number }[] | null): HostOutcome<'host.status'> {
  return answered(name, {
    domainsByStatus: { running: 3 },
    busiest: (busiest ?? []).map((b) => ({ ...b, memoryKiB: 1_048_576 })),
    sampledAt: busiest ? NOW - 2_000 : null,
  });
}

describe('the busiest domains when a host has no live sample', () => {
  it('GIVEN xen2 answered but its sampler has no fresh sample THEN the post says its guests are not in the ranking', () => {
    const r = status.render([host('xen1', [{ name: 'web', cpuPercent: 3 }]), host('xen2', null)], {}, renderContext({ now: NOW }));
    const t = text(r);
    expect(t).toContain('Busiest domains (samples up to 2 s old)\nweb | xen1 | 3.0 | 1 GiB');
    expect(t).toContain('No live CPU sample from xen2: its guests are not ranked.');
  });

  it('GIVEN many hosts without a sample THEN a few are named and the rest counted, in one line', () => {
    const fleet = [host('xen0', [{ name: 'web', cpuPercent: 3 }]), ...Array.from({ length: 30 }, (_, i) => host(`xen${i + 1}`, null))];
    const t = text(status.render(fleet, {}, renderContext({ now: NOW })));
    expect(t).toContain('No live CPU sample from 30 hosts (xen1, xen2, xen3, xen4, xen5 and 25 more): their guests are not ranked.');
  });

  it('GIVEN every answering host sampled THEN nothing more is said', () => {
    const t = text(status.render([host('xen1', [{ name: 'web', cpuPercent: 3 }])], {}, renderContext({ now: NOW })));
    expect(t).not.toContain('No live CPU sample');
  });
});
