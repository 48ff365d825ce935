import { describe, expect, it } from 'vitest';
import type { DomainSummary } from '../agent/toolstack/types.ts';
import { FleetCache, resolveDomain } from './fleet-cache.ts';

const d = (name: string): DomainSummary => ({
  name,
  id: 1,
  status: 'blocked',
  flags: '-b----',
  memoryMiB: 1,
  vcpus: 1,
  cpuSeconds: 0,
  configPath: null,
});

describe('resolveDomain', () => {
  const cache = new FleetCache(['xen1', 'xen2']);
  cache.update('xen1', [d('web'), d('db')]);
  cache.update('xen2', [d('db'), d('files')]);

  it('finds a unique domain on its host', () => {
    expect(resolveDomain(cache, { host: null, domain: 'files' })).toEqual({ ok: true, host: 'xen2', domain: 'files' });
  });

  it('names the hosts when a name is ambiguous', () => {
    expect(resolveDomain(cache, { host: null, domain: 'db' })).toEqual({
      ok: false,
      code: 'domain.ambiguous',
      message: 'db exists on xen1 and xen2; say which: xen1:db or xen2:db',
    });
    expect(resolveDomain(cache, { host: 'xen2', domain: 'db' })).toEqual({ ok: true, host: 'xen2', domain: 'db' });
  });

  it('says not found, naming the hosts searched', () => {
    expect(resolveDomain(cache, { host: null, domain: 'nope' })).toMatchObject({
      ok: false,
      code: 'domain.notFound',
      message: expect.stringContaining('xen1, xen2'),
    });
    expect(resolveDomain(cache, { host: 'xen9', domain: 'web' })).toMatchObject({ ok: false, code: 'domain.notFound' });
  });
});
