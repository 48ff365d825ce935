import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatWhen, type OnCallInput, onCallAt, parseInstant, parseUntil } from './oncall.ts';

/**
 * Berlin's clocks go back on Sunday 26 October 2025 at 03:00 CEST (01:00 UTC) to 02:00 CET: 02:30 happens at 00:30 UTC
 * and again at 01:30 UTC. Luxon reads a wall time against the zone's offset at the machine's *current* time, so each
 * case is asked with the machine's clock set to a summer day, a winter day, and the instants of that night.
 */
const CLOCKS = ['2026-07-01T12:00:00Z', '2026-12-07T12:00:00Z', '2025-10-26T00:45:00Z', '2025-10-26T01:10:00Z'];
const PEOPLE = { alice: { onCall: false }, bob: { onCall: false } };
/** bob, alice… a day each, handing off at 02:30 Berlin time; 2025-10-25 is day 236 of it, bob's. */
const NIGHT: OnCallInput = {
  oncall: {
    timezone: 'Europe/Berlin',
    rotation: { people: ['bob', 'alice'], period: 'daily', handoff: '02:30', start: '2025-03-03' },
    overrides: [],
  },
  people: PEOPLE,
};
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

function withClock<T>(clock: string, f: () => T): T {
  vi.useFakeTimers({ now: new Date(clock), toFake: ['Date'] });
  try {
    return f();
  } finally {
    vi.useRealTimers();
  }
}
/** What `f` gives with the machine's clock at each of CLOCKS. */
const underEveryClock = <T>(f: () => T) => CLOCKS.map((clock) => withClock(clock, f));

afterEach(() => {
  vi.useRealTimers();
});

describe('a handoff in the hour clocks go back', () => {
  it('is at the second 02:30 (01:30 UTC) whatever the machine clock says', () => {
    const at0045 = underEveryClock(() => onCallAt(NIGHT, [], new Date('2025-10-26T00:45:00Z')).now);
    for (const now of at0045)
      expect({ person: now?.person, until: iso(now?.until) }).toEqual({ person: 'bob', until: '2025-10-26T01:30:00.000Z' });
  });

  it('asked live through the repeated hour, the person on call does not change and change back', () => {
    // The bot asks with the machine's clock at the moment asked: before the fix, alice at 00:45 UTC, bob at 01:10.
    const live = ['2025-10-26T00:20:00Z', '2025-10-26T00:45:00Z', '2025-10-26T01:10:00Z', '2025-10-26T01:29:59Z'].map((t) =>
      withClock(t, () => onCallAt(NIGHT, [], new Date(t)).now?.person),
    );
    expect(live).toEqual(['bob', 'bob', 'bob', 'bob']);
    expect(withClock('2025-10-26T01:30:00Z', () => onCallAt(NIGHT, [], new Date('2025-10-26T01:30:00Z')).now?.person)).toBe('alice');
  });

  it('a weekly handoff on that night is read the same way', () => {
    const weekly: OnCallInput = {
      oncall: {
        timezone: 'Europe/Berlin',
        rotation: { people: ['bob', 'alice'], period: 'weekly', handoffDay: 'sunday', handoff: '02:30', start: '2025-10-19' },
        overrides: [],
      },
      people: PEOPLE,
    };
    for (const s of underEveryClock(() => onCallAt(weekly, [], new Date('2025-10-26T00:45:00Z'))))
      expect({ now: s.now?.person, until: iso(s.now?.until), next: s.next?.person }).toEqual({
        now: 'bob',
        until: '2025-10-26T01:30:00.000Z',
        next: 'alice',
      });
  });

  it('a config override written without an offset ends at the same instant whatever the machine clock says', () => {
    const cover: OnCallInput = {
      ...NIGHT,
      oncall: {
        ...(NIGHT.oncall as NonNullable<OnCallInput['oncall']>),
        overrides: [{ person: 'alice', from: '2025-10-25T20:00', until: '2025-10-26T02:30' }],
      },
    };
    for (const s of underEveryClock(() => onCallAt(cover, [], new Date('2025-10-26T00:45:00Z'))))
      expect({ now: s.now?.person, until: iso(s.now?.until) }).toEqual({ now: 'alice', until: '2025-10-27T01:30:00.000Z' });
    expect(underEveryClock(() => iso(parseInstant('2025-10-26T02:30', 'Europe/Berlin')))).toEqual(
      Array(4).fill('2025-10-26T01:30:00.000Z'),
    );
    // A time with its own offset is that instant, repeated hour or not.
    expect(iso(parseInstant('2025-10-26T02:30+02:00', 'Europe/Berlin'))).toBe('2025-10-26T00:30:00.000Z');
    expect(iso(parseInstant('2025-10-26T02:30Z', 'Europe/Berlin'))).toBe('2025-10-26T02:30:00.000Z');
  });
});

describe('parseUntil in the hour clocks go back', () => {
  const until = (text: string, at: string) => {
    const r = withClock(at, () => parseUntil(text, new Date(at), 'Europe/Berlin'));
    return r.ok ? r.until.toISOString() : r.reason;
  };

  it('"02:30" is the next time the clock shows 02:30, not tomorrow while the second one is still to come', () => {
    // 02:10 CEST, the first time round: the first 02:30 is 20 minutes away.
    expect(until('02:30', '2025-10-26T00:10:00Z')).toBe('2025-10-26T00:30:00.000Z');
    // 02:40 CEST: the first 02:30 is past, the second (CET) 50 minutes away.
    expect(until('02:30', '2025-10-26T00:40:00Z')).toBe('2025-10-26T01:30:00.000Z');
    // 02:40 CET, the second time round: both are past, so Monday's.
    expect(until('02:30', '2025-10-26T01:40:00Z')).toBe('2025-10-27T01:30:00.000Z');
  });

  it('"tomorrow 02:30" and "2025-10-26 02:30" do not depend on the season the bot runs in', () => {
    expect(underEveryClock(() => parseUntil('tomorrow 02:30', new Date('2025-10-25T12:00:00Z'), 'Europe/Berlin'))).toEqual(
      Array(4).fill({ ok: true, until: new Date('2025-10-26T01:30:00Z') }),
    );
    expect(underEveryClock(() => parseUntil('2025-10-26 02:30', new Date('2025-10-25T12:00:00Z'), 'Europe/Berlin'))).toEqual(
      Array(4).fill({ ok: true, until: new Date('2025-10-26T01:30:00Z') }),
    );
  });

  it('the hour clocks skip still moves on by the gap (02:30 is 03:30 CEST)', () => {
    expect(until('02:30', '2025-03-30T00:00:00Z')).toBe('2025-03-30T01:30:00.000Z');
    expect(until('tomorrow 02:30', '2025-03-29T12:00:00Z')).toBe('2025-03-30T01:30:00.000Z');
  });
});

describe('formatWhen of a time the clock shows twice', () => {
  it('names the offset, so "until 02:30" at 02:45 CEST is not read as past, and says which 02:30', () => {
    expect(formatWhen(new Date('2025-10-26T00:30:00Z'), 'Europe/Berlin')).toBe('Sun 26 Oct 02:30 (UTC+02:00)');
    expect(formatWhen(new Date('2025-10-26T01:30:00Z'), 'Europe/Berlin')).toBe('Sun 26 Oct 02:30 (UTC+01:00)');
    // Any other time is shown as before.
    expect(formatWhen(new Date('2025-10-26T02:30:00Z'), 'Europe/Berlin')).toBe('Sun 26 Oct 03:30');
    expect(formatWhen(new Date('2025-03-30T01:30:00Z'), 'Europe/Berlin')).toBe('Sun 30 Mar 03:30');
  });
});
