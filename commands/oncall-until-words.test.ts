import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import { UserError } from '../src/core/errors.ts';
import { parseUntil } from '../src/core/oncall.ts';
import { oncall } from './oncall.ts';

const parse = (text: string) => parseArgs(oncall, { kind: 'text', text });

// `/freeze xen1 tomorrow 09:00 …` freezes until tomorrow 09:00, but `/oncall set alice tomorrow 09:00` was refused
// ("in quotes when typed"), and `/oncall set alice 2025-03-04 18:00` was told `unexpected argument "18:00"`: the same
// until, typed the same way, read by one command and not the other.
describe('/oncall set with an until of two words, unquoted', () => {
  it('reads "tomorrow 09:00" and "2025-03-04 18:00" as one until, as /freeze does', () => {
    expect(parse('set alice tomorrow 09:00')).toEqual({ action: 'set', person: 'alice', until: 'tomorrow 09:00' });
    expect(parse('set alice 2025-03-04 18:00')).toEqual({ action: 'set', person: 'alice', until: '2025-03-04 18:00' });
    const at = new Date('2025-03-04T10:00:00Z');
    expect(parseUntil('2025-03-04 18:00', at, 'Europe/Berlin')).toEqual({ ok: true, until: new Date('2025-03-04T17:00:00Z') });
  });

  it('still refuses words that are no until, naming all of them', () => {
    try {
      parse('set alice 18:00 sharp');
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(UserError);
      expect((error as UserError).message).toBe(
        'until: expected HH:MM, a duration (2h, 90m, 1h30m, 2d), "tomorrow HH:MM" or an ISO time (2025-03-04T18:00); got "18:00 sharp"',
      );
    }
  });
});

describe('/oncall set with "until" or "for" before the until, as it is said', () => {
  it('reads "until 18:00" and "for 2h" as the until', () => {
    const at = new Date('2025-03-04T10:00:00Z');
    expect(parseUntil('until 18:00', at, 'Europe/Berlin')).toEqual({ ok: true, until: new Date('2025-03-04T17:00:00Z') });
    expect(parseUntil('for 2h', at, 'Europe/Berlin')).toEqual({ ok: true, until: new Date('2025-03-04T12:00:00Z') });
    expect(parse('set alice until 18:00')).toEqual({ action: 'set', person: 'alice', until: 'until 18:00' });
  });
});
