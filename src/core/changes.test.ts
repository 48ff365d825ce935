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

describe('diffSnapshots: a guest renamed (xl rename OLD NEW: same domain, same UUID, a new name)', () => {
  const before = snap({ xen1: { domains: [d('web', 'blocked', 'u-web'), d('mail', 'running', 'u-mail')] } });

  it('GIVEN web renamed www THEN one change, "web renamed www", not a stop and an appearance', () => {
    // Its config file web.cfg is still there: web is listed as defined (no UUID) beside the running www.
    const after = snap({ xen1: { domains: [d('www', 'blocked', 'u-web'), d('web', 'defined'), d('mail', 'running', 'u-mail')] } });
    expect(diffSnapshots(before, after)).toEqual([{ kind: 'renamed', host: 'xen1', oldName: 'web', domain: 'www' }]);
    expect(diffSnapshots(before, after).map(describeChange)).toEqual(['✎ web renamed www on xen1']);
    // No config file left behind: the same.
    const bare = snap({ xen1: { domains: [d('www', 'running', 'u-web'), d('mail', 'running', 'u-mail')] } });
    expect(diffSnapshots(before, bare).map(describeChange)).toEqual(['✎ web renamed www on xen1']);
  });

  it('GIVEN a guest gone and another of another UUID (or none known) THEN no rename: never two guests made one', () => {
    const other = snap({ xen1: { domains: [d('www', 'running', 'u-other'), d('mail', 'running', 'u-mail')] } });
    expect(diffSnapshots(before, other).map(describeChange)).toEqual(['+ www appeared on xen1', '− web vanished on xen1']);
    const unknown = snap({ xen1: { domains: [d('web', 'blocked'), d('mail', 'running')] } });
    const renamedUnknown = snap({ xen1: { domains: [d('www', 'blocked'), d('mail', 'running')] } });
    expect(diffSnapshots(unknown, renamedUnknown).map(describeChange)).toEqual(['+ www appeared on xen1', '− web vanished on xen1']);
    // Destroyed and created again under the same name: no change of name, whatever its UUID.
    const again = snap({ xen1: { domains: [d('web', 'running', 'u-new'), d('mail', 'running', 'u-mail')] } });
    expect(diffSnapshots(before, again)).toEqual([]);
  });

  it('GIVEN xl migrate renaming the source web--migratedaway THEN no rename is said', () => {
    const moving = snap({
      xen1: { domains: [d('web--migratedaway', 'shutdown', 'u-web'), d('mail', 'running', 'u-mail')] },
      xen2: { domains: [d('web--incoming', 'paused', 'u-web')] },
    });
    expect(diffSnapshots({ ...before, hosts: { ...before.hosts, xen2: { domains: [] } } }, moving).some((c) => c.kind === 'renamed')).toBe(
      false,
    );
  });

  it('GIVEN a person who may see only one of the names (their snapshots hold only what they may see) THEN the other is never named', () => {
    // Scoped to web only: www is left out of what they see, so web reads as gone, www unnamed.
    const onlyOld = snap({ xen1: { domains: [d('web', 'defined'), d('mail', 'running', 'u-mail')] } });
    expect(diffSnapshots(before, onlyOld).map(describeChange)).toEqual(['▼ web stopped on xen1']);
    // Scoped to www only: web was never in what they saw.
    const scopedBefore = snap({ xen1: { domains: [d('mail', 'running', 'u-mail')] } });
    const onlyNew = snap({ xen1: { domains: [d('www', 'running', 'u-web'), d('mail', 'running', 'u-mail')] } });
    expect(diffSnapshots(scopedBefore, onlyNew).map(describeChange)).toEqual(['+ www appeared on xen1']);
  });
});
