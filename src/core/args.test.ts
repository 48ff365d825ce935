import { describe, expect, it } from 'vitest';
import { audit } from '../../commands/audit.ts';
import { consoleCommand } from '../../commands/console.ts';
import { deny } from '../../commands/deny.ts';
import { freeze } from '../../commands/freeze.ts';
import { migrate } from '../../commands/migrate.ts';
import { stop } from '../../commands/stop.ts';
import { echoValue, parseArgs } from './args.ts';
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
  // Compared with what the command's own schema makes of structured input, so the test holds whatever shape
  // the schema gives a parsed domain.
  it.each(['web --force', 'web force:true', 'web force=yes', '--force web', 'web --force=true'])(
    'reads "%s" as stop web with force',
    (t) => {
      expect(parseArgs(stop, text(t))).toEqual(stop.args.parse({ domain: 'web', force: true }));
    },
  );

  it('defaults force to false and takes Discord-style structured options', () => {
    expect(parseArgs(stop, text('web'))).toEqual(stop.args.parse({ domain: 'web', force: false }));
    expect(parseArgs(stop, { kind: 'options', options: { domain: 'xen1:web', force: true } })).toEqual(
      stop.args.parse({ domain: 'xen1:web', force: true }),
    );
  });

  it('coerces integers from text', () => {
    expect(parseArgs(consoleCommand, text('web 50'))).toEqual(consoleCommand.args.parse({ domain: 'web', lines: 50 }));
    expect(parseArgs(consoleCommand, text('web --lines 7'))).toEqual(consoleCommand.args.parse({ domain: 'web', lines: 7 }));
    expect(parseArgs(audit, text('200'))).toEqual({ n: 200 });
  });

  it('rejects a malformed domain naming it, with the usage', () => {
    const e = failure(() => parseArgs(stop, text('; reboot')));
    expect(e.code).toBe('args.invalid');
    expect(e.message).toContain('";" is not a valid domain name');
    expect(e.context.usage).toBe('/stop <domain> [--force] [--reason <reason>]');
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
    // Found by the fuzz test: split around the quotes, the two halves joined into "\u{103ff}", which the text never had.
    ['\ud800"\udfff"a', 'the text has a broken character in it'],
    ['web\udc00', 'the text has a broken character in it'],
  ])('rejects %j', (t, message) => {
    expect(failure(() => parseArgs(stop, text(t))).message).toContain(message);
  });

  it('uses the domain part of host:domain as it checked it, trimmed (found by the fuzz test: " web" went through)', () => {
    for (const domain of ['xen1: web', 'xen1:web\r', ' xen1: web '])
      expect(parseArgs(stop, { kind: 'options', options: { domain } })['domain']).toEqual({ host: 'xen1', domain: 'web' });
  });

  it('requires every positional of migrate and names what is missing', () => {
    expect(parseArgs(migrate, text('web xen2'))).toEqual(migrate.args.parse({ domain: 'web', target: 'xen2' }));
    expect(failure(() => parseArgs(migrate, text('web'))).message).toBe('target: is required');
  });
});

describe('argument errors say what is wrong', () => {
  const byName = { console: consoleCommand, audit, stop } as const;
  const usage = {
    console: '/console <domain> [<lines>]',
    audit: '/audit [<n>] [--person <person>] [--domain <domain>] [--host <host>] [--command <command>] [--since <since>]',
    stop: '/stop <domain> [--force] [--reason <reason>]',
  } as const;

  it.each([
    ['console', 'web abc', 'lines must be a whole number from 1 to 2000, got "abc"'],
    ['console', 'web 1e3', 'lines must be a whole number from 1 to 2000, got "1e3"'],
    ['console', 'web 0x10', 'lines must be a whole number from 1 to 2000, got "0x10"'],
    ['console', 'web --lines=twenty', 'lines must be a whole number from 1 to 2000, got "twenty"'],
    ['console', 'web 5000', 'lines must be a whole number from 1 to 2000, got 5000'],
    ['console', 'web 0', 'lines must be a whole number from 1 to 2000, got 0'],
    ['console', 'web -3', 'lines must be a whole number from 1 to 2000, got -3'],
    ['console', 'web 99999999999999999999', 'lines must be a whole number from 1 to 2000, got 99999999999999999999'],
    ['audit', '2.5', 'n must be a whole number from 1 to 200, got "2.5"'],
    ['audit', 'n:many', 'n must be a whole number from 1 to 200, got "many"'],
    ['stop', 'web force:maybe', 'force must be true or false, got "maybe"'],
    ['stop', 'web --force=2', 'force must be true or false, got "2"'],
  ] as const)('/%s %s', (name, args, message) => {
    const e = failure(() => parseArgs(byName[name], text(args)));
    expect(e.code).toBe('args.invalid');
    expect(e.message).toBe(message);
    expect(e.context.usage).toBe(usage[name]);
  });

  it('says the same of structured (Discord) options', () => {
    expect(failure(() => parseArgs(consoleCommand, { kind: 'options', options: { domain: 'web', lines: 2.5 } })).message).toBe(
      'lines must be a whole number from 1 to 2000, got 2.5',
    );
    expect(failure(() => parseArgs(consoleCommand, { kind: 'options', options: { domain: 'web', lines: 'abc' } })).message).toBe(
      'lines must be a whole number from 1 to 2000, got "abc"',
    );
    expect(failure(() => parseArgs(stop, { kind: 'options', options: { domain: 'web', force: 'maybe' } })).message).toBe(
      'force must be true or false, got "maybe"',
    );
  });

  it('names the first problem in argument order', () => {
    expect(failure(() => parseArgs(consoleCommand, text('";" abc'))).message).toBe(
      'domain: ";" is not a valid domain name: must start with a letter or digit and use only letters, digits and _ . : + - (at most 64)',
    );
  });

  it('never echoes a 5,000-character value whole, nor twice, and stays on one line', () => {
    const long = 'a'.repeat(5000);
    const cut = `"${'a'.repeat(40)}…"`;
    for (const [command, args, expected] of [
      [
        stop,
        long,
        `domain: ${cut} is not a valid domain name: must start with a letter or digit and use only letters, digits and _ . : + - (at most 64)`,
      ],
      [stop, `web ${long}`, `unexpected argument ${cut}`],
      [consoleCommand, `web ${long}`, `lines must be a whole number from 1 to 2000, got ${cut}`],
      [stop, `web force:${long}`, `force must be true or false, got ${cut}`],
      [stop, `web --${long}`, `unknown option --${'a'.repeat(40)}…`],
    ] as const) {
      const e = failure(() => parseArgs(command, text(args)));
      expect(e.message).toBe(expected);
      expect(e.message.split('a'.repeat(40))).toHaveLength(2);
    }
  });

  it('escapes line breaks and quotes in echoed values', () => {
    expect(failure(() => parseArgs(stop, text('web "force:a\nb"'))).message).toBe('force must be true or false, got "a\\nb"');
    expect(failure(() => parseArgs(stop, text('web "a\nb"'))).message).toBe('unexpected argument "a\\nb"');
    expect(failure(() => parseArgs(audit, text("'1\n2'"))).message).toBe('n must be a whole number from 1 to 200, got "1\\n2"');
    expect(failure(() => parseArgs(audit, text(`'say "hi"'`))).message).toBe('n must be a whole number from 1 to 200, got "say \\"hi\\""');
  });
});

describe('echoValue', () => {
  it('quotes strings, cuts them at 40 characters (not inside a surrogate pair) and escapes bidi controls', () => {
    expect(echoValue('abc')).toBe('"abc"');
    expect(echoValue(5000)).toBe('5000');
    expect(echoValue('x'.repeat(41))).toBe(`"${'x'.repeat(40)}…"`);
    expect(echoValue('😀'.repeat(41))).toBe(`"${'😀'.repeat(40)}…"`);
    expect(echoValue('evil\u202Etxt.exe')).toBe('"evil\\u202etxt.exe"');
  });
});

describe('structured options of the wrong type', () => {
  // Found by test/fuzz: a Discord option value such as {"toString":false} (valid JSON) made echoValue throw a TypeError
  // ("Cannot convert object to primitive value") instead of the parser naming the bad value.
  it('names a value that cannot be converted to a string instead of throwing', () => {
    const evil = JSON.parse('{"toString":false}') as unknown;
    expect(echoValue(evil)).toBe('"[object Object]"');
    const e = failure(() => parseArgs(consoleCommand, { kind: 'options', options: { domain: 'web', lines: evil as number } }));
    expect(e.message).toBe('lines must be a whole number from 1 to 2000, got "[object Object]"');
    const f = failure(() => parseArgs(stop, { kind: 'options', options: { domain: 'web', force: evil as boolean } }));
    expect(f.message).toBe('force must be true or false, got "[object Object]"');
  });
});

describe('a free-text reason', () => {
  it('is what was typed: `id:` or `host:` inside it is text, never an option that changes what is acted on', () => {
    // Two identical requests: the operator denies the duplicate and says which one to keep.
    expect(parseArgs(deny, { kind: 'text', text: 'K7Q2XM duplicate of id:P3RT5W' })).toEqual({
      id: 'K7Q2XM',
      reason: 'duplicate of id:P3RT5W',
    });
    expect(parseArgs(deny, { kind: 'text', text: 'id:K7Q2XM same as host:xen2' })).toEqual({ id: 'K7Q2XM', reason: 'same as host:xen2' });
    expect(parseArgs(freeze, { kind: 'text', text: 'xen1 2h patching, then hosts:xen2' })).toEqual({
      hosts: 'xen1',
      reason: '2h patching, then hosts:xen2',
    });
  });
});
