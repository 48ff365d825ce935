import { describe, expect, it } from 'vitest';
import { buildCommand, quoteArg } from './quote.ts';

describe('quoteArg', () => {
  it.each([
    ['web', 'web'],
    ['/etc/xen/vm/mail.cfg', '/etc/xen/vm/mail.cfg'],
    ['web; reboot', `'web; reboot'`],
    ['$(id)', `'$(id)'`],
    ['`id`', "'`id`'"],
    ["a'b", `'a'\\''b'`],
    ['', `''`],
    ['two\nlines', `'two\nlines'`],
    ['*', `'*'`],
    ['naïve', `'naïve'`],
  ])('quotes %j as %s', (arg, quoted) => {
    expect(quoteArg(arg)).toBe(quoted);
  });
});

describe('buildCommand', () => {
  it('joins quoted words and adds sudo -n -- when asked', () => {
    expect(buildCommand(['xl', 'shutdown', '-w', 'web'])).toBe('xl shutdown -w web');
    expect(buildCommand(['xl', 'list'], { sudo: true })).toBe('sudo -n -- xl list');
  });

  it('refuses an empty argv and NUL bytes', () => {
    expect(() => buildCommand([])).toThrow('empty argv');
    expect(() => buildCommand(['xl', 'a\0b'])).toThrow('NUL');
  });
});
