import { describe, expect, it } from 'vitest';
import { domainSummary } from '../../test/helpers/domains.ts';
import type { DomainSummary } from '../core/xen.ts';
import { FleetCache } from './fleet-cache.ts';

const d = (name: string, status: DomainSummary['status'] = 'blocked'): DomainSummary => domainSummary(name, status);

describe('the fleet cache between refreshes', () => {
  it("a status result teaches the host's toolstack (an approval preview of a plan made on it shows one form, not both)", () => {
    const cache = new FleetCache(['xen1']);
    expect(cache.toolstackOf('xen1')).toBeUndefined();
    cache.applyResult('host.status', 'xen1', {
      host: 'xen1',
      reachable: true,
      toolstack: 'xm',
      domainsByStatus: {},
      totalMemoryMiB: 1,
      freeMemoryMiB: 1,
      xenVersion: null,
    });
    expect(cache.toolstackOf('xen1')).toBe('xm');
  });

  it('a migration result moves the domain: defined at the source, running at the target', () => {
    const cache = new FleetCache(['xen1', 'xen2']);
    cache.update('xen1', [d('web'), d('gateway')]);
    cache.update('xen2', [d('files')]);
    cache.applyResult('domain.migrate', 'xen1', { host: 'xen1', outcome: 'migrated', target: 'xen2', domain: d('web'), transcript: [] });
    expect(cache.domains('xen1').find((x) => x.name === 'web')?.status).toBe('defined');
    expect(cache.domains('xen2').find((x) => x.name === 'web')?.status).toBe('blocked');
  });

  it('a stop result marks the domain defined; a start result running', () => {
    const cache = new FleetCache(['xen1']);
    cache.update('xen1', [d('web'), d('mail', 'defined')]);
    cache.applyResult('domain.stop', 'xen1', { host: 'xen1', outcome: 'shut-down', domain: d('web', 'defined') });
    cache.applyResult('domain.start', 'xen1', { host: 'xen1', outcome: 'started', domain: d('mail', 'running') });
    expect(
      cache
        .domains('xen1')
        .map((x) => `${x.name}:${x.status}`)
        .sort(),
    ).toEqual(['mail:running', 'web:defined']);
  });

  it('a stop read back as gone entirely (no config file there) leaves nothing of that name on the host', () => {
    const cache = new FleetCache(['xen1']);
    cache.update('xen1', [d('scratch'), d('web')]);
    cache.applyResult('domain.stop', 'xen1', { host: 'xen1', outcome: 'shut-down', domain: null }, 'scratch');
    expect(cache.domains('xen1').map((x) => x.name)).toEqual(['web']);
    expect(cache.hostsOf('scratch')).toEqual([]);
  });

  it('a guest found not running where it was heard to run makes the lists heard before it unknown for that name', () => {
    const cache = new FleetCache(['xen1', 'xen2']);
    cache.update('xen1', [d('web'), d('mail', 'defined')]);
    cache.update('xen2', [d('files')]);
    // /show web read xen1: only its stopped copy is there (migrated by hand, the config file left behind).
    cache.applyResult('domain.show', 'xen1', { host: 'xen1', name: 'web', summary: d('web', 'defined') }, 'web');
    expect(cache.domains('xen1').find((x) => x.name === 'web')?.status).toBe('defined');
    expect([cache.known('xen1', 'web'), cache.known('xen2', 'web'), cache.known('xen2', 'files'), cache.known('xen2')]).toEqual([
      false,
      false,
      true,
      true,
    ]);
    cache.update('xen2', [d('files'), d('web')]);
    expect(cache.known('xen2', 'web')).toBe(true);
    // A guest xenops itself found stopped where it was heard stopped tells nothing new.
    cache.applyResult(
      'domain.reboot',
      'xen1',
      { host: 'xen1', outcome: 'not-running', previousId: null, domain: d('mail', 'defined') },
      'mail',
    );
    expect(cache.known('xen2', 'mail')).toBe(true);
  });

  it('a stop, reboot or console that finds no running guest where it was heard to run says so too', () => {
    const cache = new FleetCache(['xen1', 'xen2']);
    cache.update('xen1', [d('web'), d('db'), d('app')]);
    cache.update('xen2', []);
    cache.applyResult('domain.stop', 'xen1', { host: 'xen1', outcome: 'already-stopped', domain: d('web', 'defined') }, 'web');
    cache.applyResult('domain.reboot', 'xen1', { host: 'xen1', outcome: 'not-running', previousId: null, domain: null }, 'db');
    cache.applyResult('domain.console', 'xen1', { host: 'xen1', domain: 'app', source: 'log', lines: [], status: 'absent' }, 'app');
    expect(['web', 'db', 'app'].map((n) => cache.known('xen2', n))).toEqual([false, false, false]);
    // The reboot found no copy at all on xen1: nothing of that name is left there.
    expect(cache.hostsOf('db')).toEqual([]);
    expect(cache.domains('xen1').find((x) => x.name === 'app')?.status).toBe('defined');
  });

  it('knows which hosts it never heard from', () => {
    const cache = new FleetCache(['xen1', 'xen2']);
    cache.update('xen1', []);
    expect(cache.coldHosts()).toEqual(['xen2']);
    expect(cache.known('xen1')).toBe(true);
  });
});
