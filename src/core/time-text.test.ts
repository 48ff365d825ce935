import { describe, expect, it } from 'vitest';
import { ago, clockUtc, dateTimeUtc } from './time-text.ts';

/**
 * Times come from other processes and platforms (Telegram's `date`, a heartbeat, a stored deadline): a formatter says
 * any number it is given, never throws — Date's toISOString throws RangeError past ±8.64e15 ms and for NaN.
 */
describe('time formatters on numbers that are no time', () => {
  const notTimes = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -1e18, 8.64e15 + 1, 1e300];

  it('clockUtc and dateTimeUtc say the number is no time', () => {
    for (const n of notTimes) {
      expect(clockUtc(n)).toBe(`an unreadable time (${n})`);
      expect(dateTimeUtc(n)).toBe(`an unreadable time (${n})`);
    }
  });

  it('times in range, the earliest and latest Date holds among them, read as before', () => {
    expect(clockUtc(0)).toBe('00:00 UTC');
    expect(dateTimeUtc(-1)).toBe('1969-12-31 23:59 UTC');
    expect(dateTimeUtc(8.64e15)).toBe('+275760-09-13 00:00 UTC');
    expect(dateTimeUtc(-8.64e15)).toBe('-271821-04-20 00:00 UTC');
    expect(clockUtc(Date.UTC(2026, 0, 2, 9, 12, 59))).toBe('09:12 UTC');
  });

  it('ago says an age it cannot count as unknown, and one in the future as 0 s', () => {
    expect(ago(Number.NaN)).toBe('at an unknown time');
    expect(ago(Number.POSITIVE_INFINITY)).toBe('at an unknown time');
    expect(ago(Number.NEGATIVE_INFINITY)).toBe('at an unknown time');
    expect(ago(-5_000)).toBe('0 s ago');
    expect(ago(72 * 3_600_000)).toBe('72 h ago');
  });
});
