import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import type { Reply } from '../src/core/reply.ts';
import { status } from './status.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A host that answered; its busiest guests from the live sample, or none when its sampler has nothing fresh. */
function host(name: string, busiest: { name: string; cpuPercent: number }[] | null): HostOutcome<'host.status'> {
  return {
    host: name,
    ok: true,
    agent: { where: '1@agent', seenAgoMs: 1_000, alive: true },
    frozen: null,
    result: {
      host: name,
      reachable: true,
      toolstack: 'xl',
      domainsByStatus: { running: 3 },
      totalMemoryMiB: 65_536,
      freeMemoryMiB: 16_384,
      xenVersion: '4.17.3',
      domains: [],
      busiest: (busiest ?? []).map((b) => ({ ...b, memoryKiB: 1_048_576 })),
      sampledAt: busiest ? NOW - 2_000 : null,
    },
  };
}

const text = (r: Reply) =>
  r.blocks
    .map((b) =>
      b.type === 'table' ? [b.caption ?? '', ...b.table.rows.map((row) => row.join(' | '))].join('\n') : 'text' in b ? b.text : '',
    )
    .join('\n');

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
