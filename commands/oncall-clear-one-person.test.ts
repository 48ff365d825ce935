import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/core/args.ts';
import { UserError } from '../src/core/errors.ts';
import { oncall } from './oncall.ts';

const USAGE = '/oncall [<action>] [<person>] [<until>]';

function refusal(raw: Parameters<typeof parseArgs>[1]): string {
  try {
    parseArgs(oncall, raw);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).context.usage).toBe(USAGE);
    return (error as UserError).message;
  }
  throw new Error(`${JSON.stringify(raw)} was accepted`);
}

/**
 * `/oncall clear alice bob` was refused as `until: expected HH:MM, a duration … got "bob"`: the second person read as
 * an until, which clear does not take. It is said as what it is: clear takes one person.
 */
describe('/oncall clear with more than one word after it', () => {
  it.each(['clear alice bob', 'clear alice bob carol', 'clear alice 18:00', 'clear alice tomorrow 09:00'])(
    '"/oncall %s" is told clear takes one person',
    (text) => {
      expect(refusal({ kind: 'text', text })).toBe('clear takes one person: /oncall clear [<person>]');
    },
  );

  it('so is an until given as an option (Discord)', () => {
    expect(refusal({ kind: 'options', options: { action: 'clear', person: 'alice', until: 'bob' } })).toBe(
      'clear takes one person: /oncall clear [<person>]',
    );
  });

  it('clear with one person or none is read as before, and set still names a bad until', () => {
    expect(parseArgs(oncall, { kind: 'text', text: 'clear alice' })).toEqual({ action: 'clear', person: 'alice' });
    expect(parseArgs(oncall, { kind: 'text', text: 'clear' })).toEqual({ action: 'clear' });
    expect(refusal({ kind: 'text', text: 'set alice bob' })).toBe(
      'until: expected HH:MM, a duration (2h, 90m, 1h30m, 2d), "tomorrow HH:MM" or an ISO time (2025-03-04T18:00); got "bob"',
    );
    expect(refusal({ kind: 'text', text: 'show alice 25:00' })).toBe('until: 25:00 is not a time of day (00:00 to 23:59)');
  });
});
