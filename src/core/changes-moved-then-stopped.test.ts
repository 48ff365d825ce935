import { describe, expect, it } from 'vitest';
import type { FleetEvent } from '../queue/fleet-events.ts';
import { describeChange, diffSnapshots, type FleetSnapshot, type SnapshotDomain } from './changes.ts';
import type { DomainStatus } from './xen.ts';

/**
 * A guest up on xen1 at the last post and up nowhere now: migrated to xen2 and stopped there meanwhile looks, in two
 * snapshots, like a stop on xen1 (its config stays there). The post must not send the operator to xen1.
 */
const d = (name: string, status: DomainStatus, uuid: string | null = null): SnapshotDomain => ({ name, status, uuid });
const T = Date.UTC(2026, 11, 8, 2, 3, 8);
const snap = (at: number, hosts: FleetSnapshot['hosts']): FleetSnapshot => ({ at, hosts });

const before = snap(T, {
  xen1: { domains: [d('Domain-0', 'running'), d('mail', 'running', 'u-mail'), d('web', 'blocked', 'u-web')] },
  xen2: { domains: [d('Domain-0', 'running'), d('files', 'blocked', 'u-files')] },
});
/** mail migrated to xen2 and stopped there: its config on both hosts now, running on neither. */
const after = snap(T + 60_000, {
  xen1: { domains: [d('Domain-0', 'running'), d('mail', 'defined', 'u-mail'), d('web', 'blocked', 'u-web')] },
  xen2: { domains: [d('Domain-0', 'running'), d('files', 'blocked', 'u-files'), d('mail', 'defined', 'u-mail')] },
});

const ev = (e: Partial<FleetEvent> & Pick<FleetEvent, 'kind'>): FleetEvent =>
  ({ host: 'xen1', domain: 'mail', uuid: 'u-mail', byXenops: true, at: T + 10_000, ...e }) as FleetEvent;

describe('diffSnapshots: a guest migrated, then stopped, between two posts', () => {
  it('GIVEN only the snapshots THEN it is not said stopped on xen1: only that it no longer runs, and where it was', () => {
    expect(diffSnapshots(before, after).map(describeChange)).toEqual(['▼ mail no longer running (was on xen1)']);
  });

  it('GIVEN the fleet events of the migration and the stop THEN both are said, the stop on xen2', () => {
    const events = [
      ev({ kind: 'domain.migrated', host: 'xen2', from: 'xen1', at: T + 10_000 } as Partial<FleetEvent> & Pick<FleetEvent, 'kind'>),
      ev({ kind: 'domain.stopped', host: 'xen2', at: T + 20_000 }),
    ];
    expect(diffSnapshots(before, after, events).map(describeChange)).toEqual(['⇄ mail migrated xen1 → xen2', '▼ mail stopped on xen2']);
  });

  it('GIVEN files evacuated to xen2, then stopped there, its config left on xen1 only THEN never "stopped on xen1"', () => {
    const b = snap(T, { xen1: { domains: [d('files', 'running', 'u-files')] }, xen2: { domains: [] } });
    const a = snap(T + 60_000, { xen1: { domains: [d('files', 'defined', 'u-files')] }, xen2: { domains: [] } });
    const events = [
      ev({ kind: 'domain.migrated', host: 'xen2', from: 'xen1', domain: 'files', uuid: 'u-files' } as never),
      ev({ kind: 'domain.vanished', host: 'xen2', domain: 'files', uuid: 'u-files', at: T + 30_000 }),
    ];
    expect(diffSnapshots(b, a, events).map(describeChange)).toEqual(['⇄ files migrated xen1 → xen2', '− files vanished on xen2']);
  });

  it('GIVEN the guest gone from xen1’s list and defined on xen2, no events THEN no longer running (was on xen1)', () => {
    const a = snap(T + 60_000, {
      xen1: { domains: [d('web', 'blocked', 'u-web')] },
      xen2: { domains: [d('files', 'blocked', 'u-files'), d('mail', 'defined', 'u-mail')] },
    });
    expect(diffSnapshots(before, a).map(describeChange)).toEqual(['▼ mail no longer running (was on xen1)']);
  });

  it('GIVEN a plain stop on xen1, its config on xen1 alone THEN still "stopped on xen1"', () => {
    const a = snap(T + 60_000, {
      xen1: { domains: [d('mail', 'defined', 'u-mail'), d('web', 'blocked', 'u-web')] },
      xen2: { domains: [d('files', 'blocked', 'u-files')] },
    });
    expect(diffSnapshots(before, a).map(describeChange)).toEqual(['▼ mail stopped on xen1']);
  });

  it('GIVEN a plain stop on xen1 with its config on xen2 too, and the event of that stop THEN "stopped on xen1"', () => {
    const events = [ev({ kind: 'domain.stopped', host: 'xen1' })];
    expect(diffSnapshots(before, after, events).map(describeChange)).toEqual(['▼ mail stopped on xen1']);
  });

  it('GIVEN a migration the events tell of that ended before the last post THEN it is not said again', () => {
    // mail came to xen1 before the last post: that event is no hop from xen1.
    const events = [ev({ kind: 'domain.migrated', host: 'xen1', from: 'xen0', at: T - 5_000 } as never)];
    expect(diffSnapshots(before, after, events).map(describeChange)).toEqual(['▼ mail no longer running (was on xen1)']);
  });
});
