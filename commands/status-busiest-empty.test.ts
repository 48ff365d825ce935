import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import { status } from './status.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A host whose sampler answered just now, with no guest running (busiest leaves Domain-0 out). */
function sampledButIdle(host: string, sampledAt: number | null): HostOutcome<'host.status'> {
  return {
    host,
    ok: true,
    agent: { where: '1@agent', seenAgoMs: 1_000, alive: true },
    frozen: null,
    result: {
      host,
      reachable: true,
      toolstack: 'xl',
      domainsByStatus: { defined: 2 },
      totalMemoryMiB: 65_536,
      freeMemoryMiB: 60_000,
      xenVersion: '4.17.3',
      domains: [],
      busiest: [],
      sampledAt,
    },
  };
}

const text = (r: Reply) => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');

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
