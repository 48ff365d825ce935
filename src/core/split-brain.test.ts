import { describe, expect, it } from 'vitest';
import { runningTwice } from './split-brain.ts';

const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';

describe('runningTwice', () => {
  it('takes copies as one guest as /start does: the same UUID where both know one, else the same name', () => {
    expect(
      runningTwice([
        { host: 'xen1', name: 'web', uuid: U1 },
        { host: 'xen2', name: 'web', uuid: null },
      ]),
    ).toEqual([{ key: '["web"]', names: ['web'], hosts: ['xen1', 'xen2'] }]);
    // Two guests an operator named alike, each with its own UUID.
    expect(
      runningTwice([
        { host: 'xen1', name: 'web', uuid: U1 },
        { host: 'xen2', name: 'web', uuid: U2 },
      ]),
    ).toEqual([]);
    // One copy renamed on a host: the same UUID.
    expect(
      runningTwice([
        { host: 'xen1', name: 'web', uuid: U1 },
        { host: 'xen3', name: 'www', uuid: U1.toUpperCase() },
      ]),
    ).toEqual([{ key: '["web","www"]', names: ['web', 'www'], hosts: ['xen1', 'xen3'] }]);
  });

  it("never takes Domain-0, nor xl's two halves of a migration under way", () => {
    expect(
      runningTwice([
        { host: 'xen1', name: 'Domain-0', uuid: '00000000-0000-0000-0000-000000000000' },
        { host: 'xen2', name: 'Domain-0', uuid: '00000000-0000-0000-0000-000000000000' },
        { host: 'xen1', name: 'web', uuid: U1 },
        { host: 'xen2', name: 'web--incoming', uuid: U1 },
        { host: 'xen3', name: 'web--migratedaway', uuid: U1 },
      ]),
    ).toEqual([]);
  });
});
