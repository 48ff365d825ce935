import { describe, expect, it } from 'vitest';
import { goingOn, runningTwice } from './split-brain.ts';

const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';

describe('runningTwice', () => {
  it('takes copies as one guest as /start does: the same UUID where both know one, else the same name', () => {
    expect(
      runningTwice([
        { host: 'xen1', name: 'web', uuid: U1 },
        { host: 'xen2', name: 'web', uuid: null },
      ]),
    ).toEqual([{ key: '["web"]', names: ['web'], hosts: ['xen1', 'xen2'], uuids: [U1] }]);
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
    ).toEqual([{ key: '["web","www"]', names: ['web', 'www'], hosts: ['xen1', 'xen3'], uuids: [U1] }]);
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

describe('goingOn', () => {
  const group = (names: string[], uuids: string[] = []) => ({ key: JSON.stringify(names), names, hosts: ['xen1', 'xen2'], uuids });

  it('takes a group not said yet as a said one no longer found when a copy was renamed, or the rename undone', () => {
    expect(goingOn([group(['web', 'www'])], new Map([['["web"]', { hosts: ['xen1', 'xen2'], names: ['web'] }]]))).toEqual(
      new Map([['["web"]', '["web","www"]']]),
    );
    expect(goingOn([group(['web'])], new Map([['["web","www"]', { hosts: ['xen1', 'xen2'], names: ['web', 'www'] }]]))).toEqual(
      new Map([['["web","www"]', '["web"]']]),
    );
    // Both copies renamed between two checks: their UUID tells it.
    expect(goingOn([group(['db'], [U1])], new Map([['["web"]', { hosts: ['xen1', 'xen2'], names: ['web'], uuids: [U1] }]]))).toEqual(
      new Map([['["web"]', '["db"]']]),
    );
  });

  it('takes none where the said one is still found, the group is said, or they are two guests', () => {
    const said = new Map([['["web"]', { hosts: ['xen1', 'xen2'], names: ['web'] }]]);
    expect(goingOn([group(['web']), group(['web', 'www'])], said)).toEqual(new Map());
    expect(
      goingOn([group(['web', 'www'])], new Map([...said, ['["web","www"]', { hosts: ['xen1', 'xen2'], names: ['web', 'www'] }]])),
    ).toEqual(new Map());
    expect(goingOn([group(['db'])], said)).toEqual(new Map());
    // A name in common, but each UUID its own: another guest named alike.
    expect(
      goingOn([group(['web', 'www'], [U2])], new Map([['["web"]', { hosts: ['xen1', 'xen2'], names: ['web'], uuids: [U1] }]])),
    ).toEqual(new Map());
    // A name in common, no UUID known to the record, and no host in common: another guest's split brain elsewhere.
    expect(goingOn([{ ...group(['web', 'webx'], [U2]), hosts: ['xen3', 'xen4'] }], said)).toEqual(new Map());
    // One group goes on for one said at most.
    expect(
      goingOn(
        [group(['web', 'www'])],
        new Map([
          ['["web"]', { hosts: ['xen1', 'xen2'], names: ['web'] }],
          ['["www"]', { hosts: ['xen1', 'xen2'], names: ['www'] }],
        ]),
      ),
    ).toEqual(new Map([['["web"]', '["web","www"]']]));
  });
});
