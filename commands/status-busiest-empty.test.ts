import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { answered, NOW, textOf as text } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

/** A host whose sampler answered just now, with no guest running (busiest leaves Domain-0 out). */
function sampledButIdle(host: string, sampledAt: number | null): HostOutcome<'host.status'> {
  return answered(host, { domainsByStatus: { defined: 2 }, freeMemoryMiB: 60_000, busiest: [], sampledAt });
}

describe('the busiest domains of a status post when no guest runs', () => {
  it('GIVEN fresh samples with no guest in them THEN it says no guest was sampled, not that there are no samples yet', () => {
    const t = text(status.render([sampledButIdle('xen1', NOW - 2_000)], {}, renderContext({ now: NOW })));
    expect(t).not.toContain('No live CPU samples yet');
    expect(t).toContain('No guest in the live samples (2 s old)');
  });

  it('GIVEN no sample at all THEN still says none has come yet', () => {
    const t = text(status.render([sampledButIdle('xen1', null)], {}, renderContext({ now: NOW })));
    expect(t).toContain('No live CPU samples yet');
  });
});
