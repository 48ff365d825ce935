import { describe, expect, it } from 'vitest';
import { onConfiguredHost, parseDomainRef } from './domain-ref.ts';

const HOSTS = new Set(['xen1', 'xen2']);
const resolve = (text: string) => onConfiguredHost(parseDomainRef(text), (h) => HOSTS.has(h));

describe('onConfiguredHost: a prefix names a host only when there is one', () => {
  it('reads xen1:web as web on xen1 and xen1:mail:smtp as mail:smtp on xen1', () => {
    expect(resolve('xen1:web')).toEqual({ host: 'xen1', domain: 'web' });
    expect(resolve('xen1:mail:smtp')).toEqual({ host: 'xen1', domain: 'mail:smtp' });
  });

  it('reads mail:smtp as one name when mail is no configured host', () => {
    expect(resolve('mail:smtp')).toEqual({ domain: 'mail:smtp' });
    expect(resolve('web')).toEqual({ domain: 'web' });
  });

  it('keeps the host reading when the whole text is no usable name (refused then as an unknown host)', () => {
    expect(resolve(`xen9:${'a'.repeat(64)}`)).toEqual({ host: 'xen9', domain: 'a'.repeat(64) });
  });
});
