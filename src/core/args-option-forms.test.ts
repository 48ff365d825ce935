import { describe, expect, it } from 'vitest';
import { deny } from '../../commands/deny.ts';
import { evacuate } from '../../commands/evacuate.ts';
import { freeze } from '../../commands/freeze.ts';
import { list } from '../../commands/list.ts';
import { schedule } from '../../commands/schedule.ts';
import { stop } from '../../commands/stop.ts';
import { parseArgs } from './args.ts';
import { UserError } from './errors.ts';

const text = (t: string) => ({ kind: 'text' as const, text: t });

function failure(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error('expected a UserError');
}

describe('option forms', () => {
  it('takes name:value for an option whose name has a hyphen, as --name does', () => {
    expect(parseArgs(evacuate, text('xen1 shutdown-rest:true'))).toEqual(parseArgs(evacuate, text('xen1 --shutdown-rest')));
  });

  // Phones turn a typed `--` into a dash.
  it.each(['web —force', 'web –force'])('reads %j as --force', (t) => {
    expect(parseArgs(stop, text(t))).toEqual(parseArgs(stop, text('web --force')));
  });

  it('reads a dash before a word that is no option of the command as text, not as an option', () => {
    expect(parseArgs(deny, text('K7Q2XM —too risky'))).toEqual({ id: 'K7Q2XM', reason: '—too risky' });
  });

  it('accepts the same option twice with the same meaning', () => {
    expect(parseArgs(stop, text('web --force --force'))).toEqual(parseArgs(stop, text('web --force')));
    expect(parseArgs(stop, text('web --force force:yes'))).toEqual(parseArgs(stop, text('web --force')));
  });

  it.each([
    ['web --reason a --reason b', '--reason is given twice ("a" and "b")'],
    ['web force:false --force', '--force is given twice (false and true)'],
  ])('refuses %j rather than keep only one of them', (t, message) => {
    const e = failure(() => parseArgs(stop, text(t)));
    expect(e.message).toContain(message);
    expect(e.context.usage).toBe('/stop <domain> [--force] [--reason <reason>]');
  });

  it('does not take the next option as the value of one that needs a value', () => {
    expect(failure(() => parseArgs(stop, text('web --reason --force'))).message).toBe('--reason needs a value');
  });

  it('says a value of several words goes in quotes', () => {
    expect(failure(() => parseArgs(stop, text('web --reason kernel upgrade'))).message).toBe(
      'unexpected argument "upgrade" (a value of several words goes in quotes: --reason "…")',
    );
  });
});

describe('a free-text reason is what was typed', () => {
  it('an option-like word inside it is text', () => {
    expect(parseArgs(deny, text('K7Q2XM use --force instead'))).toEqual({ id: 'K7Q2XM', reason: 'use --force instead' });
    expect(parseArgs(freeze, text('all until the -rc2 kernel is out'))).toEqual({ hosts: 'all', reason: 'until the -rc2 kernel is out' });
  });

  it('an option before it is still an option', () => {
    expect(parseArgs(deny, text('K7Q2XM --reason "too risky"'))).toEqual({ id: 'K7Q2XM', reason: 'too risky' });
  });
});

describe('Discord options and typed text', () => {
  it('give /schedule the same cron pattern, quotes or not', () => {
    const typed = parseArgs(schedule, text('add digest cron "0 8 * * *" tz:Europe/Berlin'));
    for (const spec of ['digest cron "0 8 * * *"', 'digest cron “0 8 * * *”', 'digest cron 0 8 * * *'])
      expect(parseArgs(schedule, { kind: 'options', options: { action: 'add', spec, tz: 'Europe/Berlin' } })).toEqual(typed);
  });
});

describe('look-alike and invisible characters in names', () => {
  it('names a Cyrillic letter in a domain name', () => {
    const e = failure(() => parseArgs(stop, text('wеb')));
    expect(e.message).toContain('U+0435');
    expect(e.message).toContain('not ASCII');
  });

  it('names a Cyrillic letter in a host name, with the value', () => {
    const e = failure(() => parseArgs(list, text('xеn1')));
    expect(e.message).toContain('"xеn1"');
    expect(e.message).toContain('U+0435');
  });

  it('shows an invisible character it refuses', () => {
    const e = failure(() => parseArgs(stop, text('web\u200b')));
    expect(e.message).toContain('"web\\u200b"');
    expect(e.message).toContain('U+200B');
  });

  it('says nothing of characters that are not the problem', () => {
    expect(failure(() => parseArgs(stop, text('wé;b'))).message).not.toContain('U+00E9');
  });
});
