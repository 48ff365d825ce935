import { describe, expect, it } from 'vitest';
import { formatWhen, nextHandoff, type OnCallConfig, type OnCallInput, onCallAt, parseUntil, type RuntimeOverride } from './oncall.ts';

const PEOPLE = { alice: { onCall: false }, bob: { onCall: true }, carol: { onCall: false }, dave: { onCall: false } };

function input(oncall: Partial<OnCallConfig> & { rotation?: OnCallConfig['rotation'] }, people = PEOPLE): OnCallInput {
  return { oncall: { timezone: 'Europe/Berlin', overrides: [], ...oncall }, people };
}
/** bob, alice, bob, alice… a day each from Monday 2025-03-03 09:00 in Berlin (08:00 UTC in winter). */
const DAILY = input({ rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '09:00', start: '2025-03-03' } });
const at = (iso: string) => new Date(iso);
/** The status with its dates as ISO strings, for exact comparisons. */
function statusAt(i: OnCallInput, when: string, runtime: RuntimeOverride[] = []) {
  const s = onCallAt(i, runtime, at(when));
  return {
    now: s.now && { ...s.now, until: s.now.until?.toISOString() ?? null },
    next: s.next && { ...s.next, from: s.next.from.toISOString() },
  };
}
const rotation = (person: string, until: string | null) => ({ person, also: [], until, source: 'rotation' });

describe('onCallAt: a daily rotation', () => {
  it('hands off at 09:00 local time, to the millisecond', () => {
    expect(statusAt(DAILY, '2025-03-03T07:59:59.999Z')).toEqual({ now: null, next: { person: 'bob', from: '2025-03-03T08:00:00.000Z' } });
    expect(statusAt(DAILY, '2025-03-03T08:00:00.000Z')).toEqual({
      now: rotation('bob', '2025-03-04T08:00:00.000Z'),
      next: { person: 'alice', from: '2025-03-04T08:00:00.000Z' },
    });
    expect(statusAt(DAILY, '2025-03-04T07:59:59.999Z').now).toEqual(rotation('bob', '2025-03-04T08:00:00.000Z'));
    expect(statusAt(DAILY, '2025-03-04T08:00:00.000Z')).toEqual({
      now: rotation('alice', '2025-03-05T08:00:00.000Z'),
      next: { person: 'bob', from: '2025-03-05T08:00:00.000Z' },
    });
  });

  it('keeps counting shifts weeks later (day 17 is alice, the second person)', () => {
    expect(statusAt(DAILY, '2025-03-20T12:00:00Z')).toEqual({
      now: rotation('alice', '2025-03-21T08:00:00.000Z'),
      next: { person: 'bob', from: '2025-03-21T08:00:00.000Z' },
    });
  });

  it('the day clocks go forward in Berlin (2025-03-30) has a 23-hour shift, and 09:00 stays 09:00', () => {
    // bob's shift began Saturday 09:00 CET (08:00 UTC); alice's begins Sunday 09:00 CEST (07:00 UTC).
    expect(statusAt(DAILY, '2025-03-30T01:30:00Z')).toEqual({
      now: rotation('bob', '2025-03-30T07:00:00.000Z'),
      next: { person: 'alice', from: '2025-03-30T07:00:00.000Z' },
    });
    expect(statusAt(DAILY, '2025-03-30T06:59:59.999Z').now?.person).toBe('bob');
    expect(statusAt(DAILY, '2025-03-30T07:00:00.000Z').now).toEqual(rotation('alice', '2025-03-31T07:00:00.000Z'));
  });

  it('the day clocks go back (2025-10-26) has a 25-hour shift', () => {
    // Saturday 09:00 CEST (07:00 UTC) to Sunday 09:00 CET (08:00 UTC): 236 days after the start, so bob's.
    expect(statusAt(DAILY, '2025-10-25T07:00:00Z').now).toEqual(rotation('bob', '2025-10-26T08:00:00.000Z'));
    expect(statusAt(DAILY, '2025-10-26T07:30:00Z')).toEqual({
      now: rotation('bob', '2025-10-26T08:00:00.000Z'),
      next: { person: 'alice', from: '2025-10-26T08:00:00.000Z' },
    });
  });

  it('a handoff at a time the zone skips happens an hour later that day; one that happens twice, at the second', () => {
    const night = input({ rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '02:30', start: '2025-03-03' } });
    // 2025-03-30 02:30 does not exist in Berlin: the handoff is at 03:30 CEST (01:30 UTC), 24 hours after Saturday's.
    expect(statusAt(night, '2025-03-30T01:29:00Z')).toEqual({
      now: rotation('bob', '2025-03-30T01:30:00.000Z'),
      next: { person: 'alice', from: '2025-03-30T01:30:00.000Z' },
    });
    expect(statusAt(night, '2025-03-30T01:30:00Z').now).toEqual(rotation('alice', '2025-03-31T00:30:00.000Z'));
    // 2025-10-26 02:30 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET): the handoff is at the second.
    expect(statusAt(night, '2025-10-26T00:45:00Z').now).toEqual(rotation('bob', '2025-10-26T01:30:00.000Z'));
  });

  it('in a zone 14 hours ahead of UTC, the first shift begins on the previous UTC day', () => {
    const kiritimati = input({
      timezone: 'Pacific/Kiritimati',
      rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '09:00', start: '2025-03-03' },
    });
    expect(statusAt(kiritimati, '2025-03-02T18:59:59Z')).toEqual({ now: null, next: { person: 'bob', from: '2025-03-02T19:00:00.000Z' } });
    expect(statusAt(kiritimati, '2025-03-02T20:00:00Z')).toEqual({
      now: rotation('bob', '2025-03-03T19:00:00.000Z'),
      next: { person: 'alice', from: '2025-03-03T19:00:00.000Z' },
    });
  });

  it('in the southern hemisphere (Auckland), clocks go back in April: a 25-hour shift there', () => {
    const auckland = input({
      timezone: 'Pacific/Auckland',
      rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '09:00', start: '2025-04-05' },
    });
    // Saturday 09:00 NZDT (+13) = Friday 20:00 UTC; Sunday 09:00 NZST (+12) = Saturday 21:00 UTC.
    expect(statusAt(auckland, '2025-04-05T12:00:00Z')).toEqual({
      now: rotation('bob', '2025-04-05T21:00:00.000Z'),
      next: { person: 'alice', from: '2025-04-05T21:00:00.000Z' },
    });
  });
});

describe('onCallAt: a weekly rotation', () => {
  const WEEKLY = input({
    rotation: { people: ['bob', 'alice', 'carol'], period: 'weekly', handoff: '09:00', handoffDay: 'monday', start: '2025-03-03' },
  });

  it('hands off on Mondays at 09:00, round the list', () => {
    expect(statusAt(WEEKLY, '2025-03-09T12:00:00Z')).toEqual({
      now: rotation('bob', '2025-03-10T08:00:00.000Z'),
      next: { person: 'alice', from: '2025-03-10T08:00:00.000Z' },
    });
    expect(statusAt(WEEKLY, '2025-03-10T08:00:00Z').now).toEqual(rotation('alice', '2025-03-17T08:00:00.000Z'));
    expect(statusAt(WEEKLY, '2025-03-24T07:59:00Z')).toEqual({
      now: rotation('carol', '2025-03-24T08:00:00.000Z'),
      next: { person: 'bob', from: '2025-03-24T08:00:00.000Z' },
    });
  });

  it('a week across the change to summer time is an hour short', () => {
    // bob: Monday 24 March 09:00 CET (08:00 UTC) to Monday 31 March 09:00 CEST (07:00 UTC).
    expect(statusAt(WEEKLY, '2025-03-31T06:30:00Z')).toEqual({
      now: rotation('bob', '2025-03-31T07:00:00.000Z'),
      next: { person: 'alice', from: '2025-03-31T07:00:00.000Z' },
    });
  });
});

describe('onCallAt: overrides', () => {
  /** carol covers alice's Tuesday from 12:00 to 15:00 Berlin time (no offset: read in the zone). */
  const COVER = input({
    rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '09:00', start: '2025-03-03' },
    overrides: [{ person: 'carol', from: '2025-03-04T12:00', until: '2025-03-04T15:00' }],
  });
  const chat = (person: string, from: string, until: string, by = 'alice'): RuntimeOverride => ({
    person,
    from: at(from),
    until: at(until),
    by,
  });

  it('an override wins over the rotation while it lasts and ends mid-shift, back to the rotation', () => {
    expect(statusAt(COVER, '2025-03-04T10:00:00Z')).toEqual({
      now: rotation('alice', '2025-03-04T11:00:00.000Z'),
      next: { person: 'carol', from: '2025-03-04T11:00:00.000Z' },
    });
    expect(statusAt(COVER, '2025-03-04T12:00:00Z')).toEqual({
      now: { person: 'carol', also: [], until: '2025-03-04T14:00:00.000Z', source: 'override' },
      next: { person: 'alice', from: '2025-03-04T14:00:00.000Z' },
    });
    expect(statusAt(COVER, '2025-03-04T14:00:00Z')).toEqual({
      now: rotation('alice', '2025-03-05T08:00:00.000Z'),
      next: { person: 'bob', from: '2025-03-05T08:00:00.000Z' },
    });
  });

  it('an override set in chat beats one in the config, says who set it, and hands back to it', () => {
    const runtime = [chat('dave', '2025-03-04T11:30:00Z', '2025-03-04T13:00:00Z')];
    expect(statusAt(COVER, '2025-03-04T12:00:00Z', runtime)).toEqual({
      now: { person: 'dave', also: [], until: '2025-03-04T13:00:00.000Z', source: 'override', by: 'alice' },
      next: { person: 'carol', from: '2025-03-04T13:00:00.000Z' },
    });
    // Even when the config's override began later than the chat one.
    const earlier = [chat('dave', '2025-03-04T10:00:00Z', '2025-03-04T16:00:00Z')];
    expect(statusAt(COVER, '2025-03-04T12:00:00Z', earlier)).toEqual({
      now: { person: 'dave', also: [], until: '2025-03-04T16:00:00.000Z', source: 'override', by: 'alice' },
      next: { person: 'alice', from: '2025-03-04T16:00:00.000Z' },
    });
  });

  it('among overrides set in chat, the one that began last wins; the earlier one resumes after it', () => {
    const runtime = [
      chat('bob', '2025-03-04T10:00:00Z', '2025-03-04T18:00:00Z'),
      chat('carol', '2025-03-04T11:00:00Z', '2025-03-04T12:00:00Z', 'bob'),
    ];
    expect(statusAt(DAILY, '2025-03-04T11:30:00Z', runtime)).toEqual({
      now: { person: 'carol', also: [], until: '2025-03-04T12:00:00.000Z', source: 'override', by: 'bob' },
      next: { person: 'bob', from: '2025-03-04T12:00:00.000Z' },
    });
    expect(statusAt(DAILY, '2025-03-04T12:30:00Z', runtime)).toEqual({
      now: { person: 'bob', also: [], until: '2025-03-04T18:00:00.000Z', source: 'override', by: 'alice' },
      next: { person: 'alice', from: '2025-03-04T18:00:00.000Z' },
    });
  });

  it("an override that runs into the same person's own shift: until is the end of that shift", () => {
    const runtime = [chat('bob', '2025-03-04T20:00:00Z', '2025-03-05T08:00:00Z')];
    expect(statusAt(DAILY, '2025-03-04T21:00:00Z', runtime)).toEqual({
      now: { person: 'bob', also: [], until: '2025-03-06T08:00:00.000Z', source: 'override', by: 'alice' },
      next: { person: 'alice', from: '2025-03-06T08:00:00.000Z' },
    });
  });

  it('an override that has ended counts for nothing', () => {
    const runtime = [chat('dave', '2025-03-04T09:00:00Z', '2025-03-04T10:00:00Z')];
    expect(statusAt(DAILY, '2025-03-04T10:00:00Z', runtime)).toEqual(statusAt(DAILY, '2025-03-04T10:00:00Z'));
  });
});

describe('onCallAt: without a rotation', () => {
  it('the people with onCall: true are on call, with no end', () => {
    expect(statusAt({ people: PEOPLE }, '2025-03-04T12:00:00Z')).toEqual({
      now: { person: 'bob', also: [], until: null, source: 'static' },
      next: null,
    });
    const two = { ...PEOPLE, carol: { onCall: true } };
    expect(statusAt({ people: two }, '2025-03-04T12:00:00Z').now).toEqual({
      person: 'bob',
      also: ['carol'],
      until: null,
      source: 'static',
    });
  });

  it('nobody, when nobody is marked onCall', () => {
    expect(statusAt({ people: { alice: { onCall: false } } }, '2025-03-04T12:00:00Z')).toEqual({ now: null, next: null });
  });

  it('overrides still apply, handing back to the onCall people', () => {
    const i = input({ overrides: [{ person: 'carol', from: '2025-03-04T12:00', until: '2025-03-04T15:00' }] });
    expect(statusAt(i, '2025-03-04T10:00:00Z')).toEqual({
      now: { person: 'bob', also: [], until: '2025-03-04T11:00:00.000Z', source: 'static' },
      next: { person: 'carol', from: '2025-03-04T11:00:00.000Z' },
    });
    expect(statusAt(i, '2025-03-04T12:00:00Z')).toEqual({
      now: { person: 'carol', also: [], until: '2025-03-04T14:00:00.000Z', source: 'override' },
      next: { person: 'bob', from: '2025-03-04T14:00:00.000Z' },
    });
  });

  it('with a rotation, onCall: true is not a fallback: before the rotation starts nobody is on call', () => {
    expect(statusAt(DAILY, '2025-03-01T12:00:00Z')).toEqual({ now: null, next: { person: 'bob', from: '2025-03-03T08:00:00.000Z' } });
  });

  it('a one-person rotation never hands over: no until, no next', () => {
    const solo = input({ rotation: { people: ['bob'], period: 'daily', handoff: '09:00', start: '2025-03-03' } });
    expect(statusAt(solo, '2025-03-04T12:00:00Z')).toEqual({ now: rotation('bob', null), next: null });
    // …until an override, however far ahead.
    const cover = input({ ...solo.oncall, overrides: [{ person: 'carol', from: '2027-01-01T00:00', until: '2027-01-02T00:00' }] });
    expect(statusAt(cover, '2025-03-04T12:00:00Z')).toEqual({
      now: rotation('bob', '2026-12-31T23:00:00.000Z'),
      next: { person: 'carol', from: '2026-12-31T23:00:00.000Z' },
    });
  });
});

describe('nextHandoff', () => {
  it('is the next shift start, the start itself before it, and null without a rotation', () => {
    expect(nextHandoff(DAILY, at('2025-03-04T10:00:00Z'))?.toISOString()).toBe('2025-03-05T08:00:00.000Z');
    expect(nextHandoff(DAILY, at('2025-03-30T06:00:00Z'))?.toISOString()).toBe('2025-03-30T07:00:00.000Z');
    expect(nextHandoff(DAILY, at('2025-02-01T00:00:00Z'))?.toISOString()).toBe('2025-03-03T08:00:00.000Z');
    expect(nextHandoff({ people: PEOPLE }, at('2025-03-04T10:00:00Z'))).toBeNull();
  });
});

describe('parseUntil', () => {
  // 01:30 CET on the night clocks go forward in Berlin.
  const NOW = at('2025-03-30T00:30:00Z');
  const until = (text: string) => {
    const r = parseUntil(text, NOW, 'Europe/Berlin');
    return r.ok ? r.until.toISOString() : r.reason;
  };

  it('reads times of day, durations, tomorrow and ISO times in the zone', () => {
    expect(until('18:00')).toBe('2025-03-30T16:00:00.000Z'); // today, CEST
    expect(until('01:00')).toBe('2025-03-30T23:00:00.000Z'); // past today: tomorrow's
    expect(until('2h')).toBe('2025-03-30T02:30:00.000Z'); // two real hours
    expect(until('1h30m')).toBe('2025-03-30T02:00:00.000Z');
    expect(until('90m')).toBe('2025-03-30T02:00:00.000Z');
    expect(until('2d')).toBe('2025-03-31T23:30:00.000Z'); // two calendar days: 01:30 local, 47 hours
    expect(until('tomorrow 09:00')).toBe('2025-03-31T07:00:00.000Z');
    expect(until('2025-04-01T18:00')).toBe('2025-04-01T16:00:00.000Z');
    expect(until('2025-04-01T18:00Z')).toBe('2025-04-01T18:00:00.000Z');
  });

  it('gives a one-line reason for anything else', () => {
    expect(until('soon')).toBe(
      'expected HH:MM, a duration (2h, 90m, 1h30m, 2d), "tomorrow HH:MM" or an ISO time (2025-03-04T18:00); got "soon"',
    );
    expect(until('tomorrow')).toBe('tomorrow needs a time of day: tomorrow 09:00');
    expect(until('tomorrow 9pm')).toBe('"9pm" is not a time of day (00:00 to 23:59)');
    expect(until('25:00')).toBe('25:00 is not a time of day (00:00 to 23:59)');
    expect(until('0m')).toBe('a duration must be longer than 0, got "0m"');
    expect(until('2025-02-30T10:00')).toBe('"2025-02-30T10:00" is not a valid ISO date-time');
  });
});

describe('formatWhen', () => {
  it('shows the time in the zone, with the year only when it is not the reference year', () => {
    expect(formatWhen(at('2025-03-04T08:00:00Z'), 'Europe/Berlin')).toBe('Tue 4 Mar 09:00');
    expect(formatWhen(at('2025-03-04T08:00:00Z'), 'Europe/Berlin', at('2024-12-31T12:00:00Z'))).toBe('Tue 4 Mar 2025 09:00');
  });
});
