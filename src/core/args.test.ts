import { describe, expect, it } from 'vitest';
import { consoleCommand } from '../../commands/console.ts';
import { migrate } from '../../commands/migrate.ts';
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

describe('parseArgs', () => {
  it.each(['web --force', 'web force:true', 'web force=yes', '--force web', 'web --force=true'])(
    'reads "%s" as stop web with force',
    (t) => {
      expect(parseArgs(stop, text(t))).toEqual({ domain: 'web', force: true });
    },
  );

  it('defaults force to false and takes Discord-style structured options', () => {
    expect(parseArgs(stop, text('web'))).toEqual({ domain: 'web', force: false });
    expect(parseArgs(stop, { kind: 'options', options: { domain: 'xen1:web', force: true } })).toEqual({ domain: 'xen1:web', force: true });
  });

  it('coerces integers from text and checks their range', () => {
    expect(parseArgs(consoleCommand, text('web 50'))).toEqual({ domain: 'web', lines: 50 });
    expect(parseArgs(consoleCommand, text('web --lines 7'))).toEqual({ domain: 'web', lines: 7 });
    expect(failure(() => parseArgs(consoleCommand, text('web 5000'))).message).toMatch(/^lines: /);
  });

  it('rejects a malformed domain naming it, with the usage', () => {
    const e = failure(() => parseArgs(stop, text('; reboot')));
    expect(e.code).toBe('args.invalid');
    expect(e.message).toContain('";" is not a valid domain name');
    expect(e.context.usage).toBe('/stop <domain> [--force]');
  });

  it.each([
    ['web; reboot', '"web;" is not a valid domain name'],
    ['"web; reboot"', '"web; reboot" is not a valid domain name'],
    ['$(id)', 'not a valid domain name'],
    ['12345', 'all digits'],
    ['web --bogus', 'unknown option --bogus'],
    ['web extra', 'unexpected argument "extra"'],
    ['', 'domain: is required'],
    ['"unterminated', 'a quote is not closed'],
  ])('rejects %j', (t, message) => {
    expect(failure(() => parseArgs(stop, text(t))).message).toContain(message);
  });

  it('requires every positional of migrate and names what is missing', () => {
    expect(parseArgs(migrate, text('web xen2'))).toEqual({ domain: 'web', target: 'xen2' });
    expect(failure(() => parseArgs(migrate, text('web'))).message).toBe('target: is required');
  });
});
