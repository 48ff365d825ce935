import { describe, expect, it } from 'vitest';
import { untilText } from './freeze.ts';
import { parseUntil, type WallReading } from './oncall.ts';

/**
 * An until that is a date alone (`/freeze xen1 2026-12-25 holidays`, `/oncall set bob 2026-12-25`): the start of that
 * day in the zone, as ISO reads a date and as the config's on-call overrides take one; the reply says the end taken.
 */
describe('an until that is a date without a time', () => {
  const NOW = new Date('2026-12-20T10:00:00Z');
  const until = (text: string, zone = 'Europe/Berlin', reading: WallReading = 'end', at = NOW) => {
    const r = parseUntil(text, at, zone, reading);
    return r.ok ? r.until.toISOString() : r.reason;
  };

  it("is that day's 00:00 in the zone, for a freeze and for an on-call override alike", () => {
    expect(until('2026-12-25')).toBe('2026-12-24T23:00:00.000Z');
    expect(until('2026-12-25', 'Europe/Berlin', 'handoff')).toBe('2026-12-24T23:00:00.000Z');
    expect(until('2026-12-25', 'UTC')).toBe('2026-12-25T00:00:00.000Z');
    // The same as the date with 00:00 typed.
    expect(until('2026-12-25 00:00')).toBe(until('2026-12-25'));
  });

  it('where the clocks skip midnight, is the instant they jump (01:00), never the day before', () => {
    // Chile goes to summer time at 24:00 on Saturday 5 September 2026: 6 September starts at 01:00 (-03:00).
    const at = new Date('2026-09-01T00:00:00Z');
    expect(until('2026-09-06', 'America/Santiago', 'end', at)).toBe('2026-09-06T04:00:00.000Z');
    expect(until('2026-09-06', 'America/Santiago', 'handoff', at)).toBe('2026-09-06T04:00:00.000Z');
  });

  it('a date that does not exist is refused as such', () => {
    expect(until('2027-02-29')).toBe('"2027-02-29" is not a valid date');
    expect(until('2026-04-31')).toBe('"2026-04-31" is not a valid date');
  });

  it("the freeze's reply says the exact end it took", () => {
    const r = parseUntil('2026-12-25', NOW, 'Europe/Berlin', 'end');
    expect(r.ok && untilText(r.until.getTime())).toBe('until 2026-12-24 23:00 UTC');
    // In the zone it was typed in, first: "2026-12-24 23:00 UTC" alone reads as the day before.
    expect(r.ok && untilText(r.until.getTime(), 'Europe/Berlin')).toBe('until Fri 25 Dec 00:00 Europe/Berlin (2026-12-24 23:00 UTC)');
  });
});
