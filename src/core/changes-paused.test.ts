import { describe, expect, it } from 'vitest';
import { describeChange, diffSnapshots, type FleetSnapshot, type SnapshotDomain } from './changes.ts';
import type { DomainStatus } from './xen.ts';

const d = (name: string, status: DomainStatus, uuid: string | null = null): SnapshotDomain => ({ name, status, uuid });
const snap = (hosts: FleetSnapshot['hosts']): FleetSnapshot => ({ at: 0, hosts });
const said = (prev: FleetSnapshot, cur: FleetSnapshot) => diffSnapshots(prev, cur).map(describeChange);

describe('diffSnapshots: a guest paused or unpaused (xl pause / unpause: up before and after, its vCPUs held)', () => {
  const before = snap({ xen1: { domains: [d('Domain-0', 'running'), d('web', 'blocked', 'u-web'), d('mail', 'running', 'u-mail')] } });
  const paused = snap({ xen1: { domains: [d('Domain-0', 'running'), d('web', 'paused', 'u-web'), d('mail', 'running', 'u-mail')] } });

  it('GIVEN web paused THEN "web paused", not "no changes" beside a table counting it paused', () => {
    expect(diffSnapshots(before, paused)).toEqual([{ kind: 'paused', host: 'xen1', domain: 'web' }]);
    expect(said(before, paused)).toEqual(['⏸ web paused on xen1']);
  });

  it('GIVEN web unpaused THEN "web unpaused", idle (blocked) or running alike', () => {
    expect(diffSnapshots(paused, before)).toEqual([{ kind: 'unpaused', host: 'xen1', domain: 'web' }]);
    const running = snap({ xen1: { domains: [d('web', 'running', 'u-web'), d('mail', 'running', 'u-mail')] } });
    expect(said(paused, running)).toEqual(['▶ web unpaused on xen1']);
  });

  it('GIVEN a guest paused in both posts THEN nothing; started paused (xl create -p) THEN only started', () => {
    expect(diffSnapshots(paused, paused)).toEqual([]);
    const defined = snap({ xen1: { domains: [d('web', 'defined'), d('mail', 'running', 'u-mail')] } });
    const startedPaused = snap({ xen1: { domains: [d('web', 'paused', 'u-web'), d('mail', 'running', 'u-mail')] } });
    expect(said(defined, startedPaused)).toEqual(['▲ web started on xen1']);
    // A paused guest shut down: stopped, as any other.
    expect(said(paused, snap({ xen1: { domains: [d('web', 'defined'), d('mail', 'running', 'u-mail')] } }))).toEqual([
      '▼ web stopped on xen1',
    ]);
  });

  it('GIVEN a guest renamed and paused between two posts THEN both are said', () => {
    const after = snap({ xen1: { domains: [d('www', 'paused', 'u-web'), d('mail', 'running', 'u-mail')] } });
    expect(said(before, after)).toEqual(['✎ web renamed www on xen1', '⏸ www paused on xen1']);
  });

  it('GIVEN a migration that left the guest paused (xl migrate -p) or ran a paused one THEN the migration and the pause or unpause', () => {
    const two = (a: SnapshotDomain[], b: SnapshotDomain[]) => snap({ xen1: { domains: a }, xen2: { domains: b } });
    expect(said(two([d('web', 'running', 'u-web')], []), two([], [d('web', 'paused', 'u-web')]))).toEqual([
      '⇄ web migrated xen1 → xen2',
      '⏸ web paused on xen2',
    ]);
    expect(said(two([d('web', 'paused', 'u-web')], []), two([], [d('web', 'blocked', 'u-web')]))).toEqual([
      '⇄ web migrated xen1 → xen2',
      '▶ web unpaused on xen2',
    ]);
    // Mid-migration the receiving side is paused under xl's name for it: that is the migration, no pause.
    const moving = two([d('web--migratedaway', 'running', 'u-web')], [d('web--incoming', 'paused', 'u-web')]);
    expect(diffSnapshots(two([d('web', 'running', 'u-web')], []), moving).some((c) => c.kind === 'paused')).toBe(false);
  });

  it('GIVEN a person who may see only web (their snapshots hold only what they may see) THEN mail paused too is never named', () => {
    const onlyWeb = (s: DomainStatus) => snap({ xen1: { domains: [d('web', s, 'u-web')] } });
    // Both paused meanwhile: their view says web's pause only.
    expect(said(onlyWeb('blocked'), onlyWeb('paused'))).toEqual(['⏸ web paused on xen1']);
    expect(said(onlyWeb('paused'), onlyWeb('running'))).toEqual(['▶ web unpaused on xen1']);
  });
});
