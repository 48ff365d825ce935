import { describe, expect, it } from 'vitest';
import { describeChange, diffSnapshots, type FleetSnapshot, type SnapshotDomain } from './changes.ts';
import type { DomainStatus } from './xen.ts';

const d = (name: string, status: DomainStatus, uuid: string | null = null): SnapshotDomain => ({ name, status, uuid });
const snap = (hosts: FleetSnapshot['hosts']): FleetSnapshot => ({ at: 0, hosts });

describe('diffSnapshots', () => {
  const before = snap({
    xen1: { domains: [d('Domain-0', 'running'), d('web', 'blocked', 'u-web'), d('mail', 'defined'), d('db', 'running')] },
    xen2: { domains: [d('files', 'blocked'), d('old', 'defined')] },
  });

  it('GIVEN nothing changed THEN no changes (idle and running alike are up)', () => {
    const same = snap({
      xen1: { domains: [d('Domain-0', 'running'), d('web', 'running', 'u-web'), d('mail', 'defined'), d('db', 'blocked')] },
      xen2: before.hosts['xen2'] as { domains: SnapshotDomain[] },
    });
    expect(diffSnapshots(before, same)).toEqual([]);
  });

  it('GIVEN a start, a stop, a crash, a migration, a new guest and a vanished one THEN each is named once', () => {
    const after = snap({
      xen1: { domains: [d('Domain-0', 'running'), d('mail', 'blocked'), d('db', 'crashed')] },
      xen2: { domains: [d('files', 'defined'), d('web', 'blocked', 'u-web'), d('new', 'running')] },
    });
    expect(diffSnapshots(before, after).map(describeChange)).toEqual([
      '▲ mail started on xen1',
      '✖ db crashed on xen1',
      '⇄ web migrated xen1 → xen2',
      '+ new appeared on xen2',
      '▼ files stopped on xen2',
      '− old vanished on xen2',
    ]);
  });

  it('GIVEN a running guest gone with no trace THEN vanished; GIVEN a host that stopped answering THEN only that', () => {
    const after = snap({
      xen1: { domains: [d('Domain-0', 'running'), d('web', 'blocked', 'u-web'), d('mail', 'defined')] },
      xen2: { domains: null },
    });
    expect(diffSnapshots(before, after)).toEqual([
      { kind: 'vanished', host: 'xen1', domain: 'db' },
      { kind: 'unreachable', host: 'xen2' },
    ]);
    // Never seen before, anywhere: it appeared (a start is of a guest known as defined).
    expect(diffSnapshots(after, before)).toEqual([
      { kind: 'appeared', host: 'xen1', domain: 'db' },
      { kind: 'reachable', host: 'xen2' },
    ]);
  });
});
