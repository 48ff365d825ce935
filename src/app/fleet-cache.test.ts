import { describe, expect, it } from 'vitest';
import type { DomainSummary } from '../core/xen.ts';
import { FleetCache } from './fleet-cache.ts';

const d = (name: string, status: DomainSummary['status'] = 'blocked'): DomainSummary => ({
  name,
  uuid: null,
  id: status === 'defined' ? null : 1,
  status,
  flags: status === 'defined' ? '' : '-b----',
  memoryMiB: 1,
  vcpus: 1,
  cpuSeconds: 0,
  configPath: `/etc/xen/vm/${name}.cfg`,
});

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

  it('knows which hosts it never heard from', () => {
    const cache = new FleetCache(['xen1', 'xen2']);
    cache.update('xen1', []);
    expect(cache.coldHosts()).toEqual(['xen2']);
    expect(cache.known('xen1')).toBe(true);
  });
});
