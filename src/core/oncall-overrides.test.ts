import { describe, expect, it } from 'vitest';
import { type OnCallInput, onCallAt, parseUntil } from './oncall.ts';

/** bob, alice… a day each from Monday 2025-03-03 09:00 Berlin time; mallory has left (no longer in people). */
const BERLIN: OnCallInput = {
  oncall: {
    timezone: 'Europe/Berlin',
    rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '09:00', start: '2025-03-03' },
    overrides: [],
  },
  people: { alice: { onCall: false }, bob: { onCall: false } },
};
/** Tuesday 4 March 2025, 11:00 in Berlin: alice's shift. */
const NOW = new Date('2025-03-04T10:00:00Z');

describe('onCallAt: a chat override kept in Redis for someone the config no longer has', () => {
  it('does not put them on call over the rotation (nobody could approve as on call for days)', () => {
    const stale = { person: 'mallory', from: new Date('2025-03-04T09:00:00Z'), until: new Date('2025-03-20T09:00:00Z'), by: 'bob' };
    const s = onCallAt(BERLIN, [stale], NOW);
    expect(s.now).toEqual({ person: 'alice', also: [], until: new Date('2025-03-05T08:00:00Z'), source: 'rotation' });
    expect(s.next).toEqual({ person: 'bob', from: new Date('2025-03-05T08:00:00Z') });
  });

  it('still counts the overrides of people the config has', () => {
    const cover = { person: 'bob', from: new Date('2025-03-04T09:00:00Z'), until: new Date('2025-03-04T12:00:00Z'), by: 'alice' };
    expect(onCallAt(BERLIN, [cover], NOW).now?.person).toBe('bob');
  });
});

describe('parseUntil: a date and a time with a space', () => {
  it('reads "2025-03-04 18:00" as the ISO time it is (the form /freeze documents), in the zone', () => {
    const r = parseUntil('2025-03-04 18:00', NOW, 'Europe/Berlin');
    expect(r).toEqual({ ok: true, until: new Date('2025-03-04T17:00:00Z') });
  });

  it('still refuses a date whose time is not one', () => {
    const r = parseUntil('2025-03-04 25:00', NOW, 'Europe/Berlin');
    expect(r.ok).toBe(false);
  });
});
