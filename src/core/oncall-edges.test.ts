import { describe, expect, it } from 'vitest';
import { nextHandoff, type OnCallInput, onCallAt, parseUntil } from './oncall.ts';

const PEOPLE = { alice: { onCall: false }, bob: { onCall: false }, carol: { onCall: false } };
const rotating = (start: string, people = ['bob', 'alice', 'carol']): OnCallInput => ({
  oncall: { timezone: 'Europe/Berlin', rotation: { people, period: 'daily', handoff: '09:00', start }, overrides: [] },
  people: PEOPLE,
});
const until = (text: string, at: string, zone = 'Europe/Berlin') => {
  const r = parseUntil(text, new Date(at), zone);
  return r.ok ? r.until.toISOString() : r.reason;
};

describe('on call at the edges that already hold', () => {
  it('a start date long past counts whole days across every DST change since (9,559 days from 2000-01-01)', () => {
    // 2026-03-04 is day 9559 of a rotation begun 2000-01-01: 9559 % 3 = 1, alice.
    const s = onCallAt(rotating('2000-01-01'), [], new Date('2026-03-04T12:00:00Z'));
    expect(s.now).toEqual({ person: 'alice', also: [], until: new Date('2026-03-05T08:00:00Z'), source: 'rotation' });
    expect(s.next).toEqual({ person: 'carol', from: new Date('2026-03-05T08:00:00Z') });
  });

  it('a start date ahead: nobody until it, then the first person; /oncall set defaults to that start', () => {
    const future = rotating('2026-01-10');
    expect(onCallAt(future, [], new Date('2025-12-07T12:00:00Z'))).toEqual({
      now: null,
      next: { person: 'bob', from: new Date('2026-01-10T08:00:00Z') },
    });
    expect(nextHandoff(future, new Date('2025-12-07T12:00:00Z'))).toEqual(new Date('2026-01-10T08:00:00Z'));
  });

  it('"18:00" typed at 19:00 is tomorrow\'s; "tomorrow" is the on-call zone\'s tomorrow, not UTC\'s', () => {
    expect(until('18:00', '2025-03-04T18:00:00Z')).toBe('2025-03-05T17:00:00.000Z');
    // 23:30 UTC Tuesday is 00:30 Wednesday in Berlin: tomorrow is Thursday there.
    expect(until('tomorrow 09:00', '2025-03-04T23:30:00Z')).toBe('2025-03-06T08:00:00.000Z');
    expect(until('tomorrow 09:00', '2025-03-04T23:30:00Z', 'UTC')).toBe('2025-03-05T09:00:00.000Z');
  });

  it('"31d" from the last day of a month lands on the same wall time 31 calendar days on', () => {
    expect(until('31d', '2025-01-31T09:00:00Z')).toBe('2025-03-03T09:00:00.000Z');
  });

  it('overlapping chat overrides: the one set last wins, the earlier resumes, then the rotation', () => {
    const r = rotating('2025-03-03', ['bob', 'alice']);
    const chat = [
      { person: 'carol', from: new Date('2025-03-04T10:00:00Z'), until: new Date('2025-03-04T20:00:00Z'), by: 'alice' },
      { person: 'bob', from: new Date('2025-03-04T11:00:00Z'), until: new Date('2025-03-04T12:00:00Z'), by: 'alice' },
    ];
    expect(onCallAt(r, chat, new Date('2025-03-04T11:30:00Z')).next).toEqual({ person: 'carol', from: new Date('2025-03-04T12:00:00Z') });
    expect(onCallAt(r, chat, new Date('2025-03-04T12:30:00Z')).next).toEqual({ person: 'alice', from: new Date('2025-03-04T20:00:00Z') });
  });
});
