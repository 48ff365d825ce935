import { describe, expect, it } from 'vitest';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { status } from './status.ts';

const NOW = Date.UTC(2026, 10, 25, 8, 0, 5);

const xen1: HostOutcome<'host.status'> = {
  host: 'xen1',
  ok: true,
  agent: { where: '1@agent', seenAgoMs: 1_000, alive: true },
  frozen: null,
  result: {
    host: 'xen1',
    reachable: true,
    toolstack: 'xl',
    domainsByStatus: { running: 2 },
    totalMemoryMiB: 65_536,
    freeMemoryMiB: 16_384,
    xenVersion: '4.17.3',
    domains: [],
    busiest: [],
    sampledAt: NOW - 1_000,
  },
};

describe('when the changes of a scheduled status post start', () => {
  it('GIVEN a daily post whose last one was yesterday THEN the date is said, not a time that reads as today', () => {
    const r = status.render(
      [xen1],
      {},
      renderContext({ now: NOW, changes: [{ kind: 'started', host: 'xen1', domain: 'web' }], changesSince: NOW - 86_400_000 }),
    );
    expect(r.blocks[0]).toEqual({ type: 'text', text: 'Changes since the last post (2026-11-24 08:00:05 UTC):\n▲ web started on xen1' });
    const none = status.render([xen1], {}, renderContext({ now: NOW, changes: [], changesSince: NOW - 86_400_000 }));
    expect(none.blocks[0]).toEqual({ type: 'text', text: 'No changes since the last post (2026-11-24 08:00:05 UTC).' });
  });

  it('GIVEN the last post was earlier today THEN the time alone, as before', () => {
    const r = status.render([xen1], {}, renderContext({ now: NOW, changes: [], changesSince: NOW - 300_000 }));
    expect(r.blocks[0]).toEqual({ type: 'text', text: 'No changes since the last post (07:55:05 UTC).' });
  });
});
