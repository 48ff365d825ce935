import { describe, expect, it } from 'vitest';
import { audit } from '../../commands/audit.ts';
import { consoleCommand } from '../../commands/console.ts';
import { deny } from '../../commands/deny.ts';
import { evacuate } from '../../commands/evacuate.ts';
import { freeze } from '../../commands/freeze.ts';
import { list } from '../../commands/list.ts';
import { migrate } from '../../commands/migrate.ts';
import { oncall } from '../../commands/oncall.ts';
import { schedule } from '../../commands/schedule.ts';
import { stop } from '../../commands/stop.ts';
import { echoValue, parseArgs, splitWords } from './args.ts';
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
    ['stop', 'web force:maybe', 'force must be true or false (also yes/no, on/off, 1/0), got "maybe"'],
    ['stop', 'web --force=2', 'force must be true or false (also yes/no, on/off, 1/0), got "2"'],
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
      'force must be true or false (also yes/no, on/off, 1/0), got "maybe"',
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
        `domain: ${cut} is not a valid domain name: must start with a letter or digit and use only letters, digits and _ . : + - (5,000 characters; at most 64)`,
      ],
      [stop, `web ${long}`, `unexpected argument ${cut}`],
      [consoleCommand, `web ${long}`, `lines must be a whole number from 1 to 2000, got ${cut}`],
      [stop, `web force:${long}`, `force must be true or false (also yes/no, on/off, 1/0), got ${cut}`],
      [stop, `web --${long}`, `unknown option --${'a'.repeat(40)}…`],
    ] as const) {
      const e = failure(() => parseArgs(command, text(args)));
      expect(e.message).toBe(expected);
      expect(e.message.split('a'.repeat(40))).toHaveLength(2);
    }
  });

  it('escapes line breaks and quotes in echoed values', () => {
    expect(failure(() => parseArgs(stop, text('web "force:a\nb"'))).message).toBe(
      'force must be true or false (also yes/no, on/off, 1/0), got "a\\nb"',
    );
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
    expect(f.message).toBe('force must be true or false (also yes/no, on/off, 1/0), got "[object Object]"');
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

// People type apostrophes in reasons, and phones send typographic quotes: a quote groups words only where it opens a
// word (or a `key:` / `--key=` value); an apostrophe inside a word is a letter.
describe('splitWords and apostrophes, typographic quotes', () => {
  it.each<[string, string[]]>([
    ["K7Q2XM don't, it's month end", ['K7Q2XM', "don't,", "it's", 'month', 'end']],
    ["web --reason don't", ['web', '--reason', "don't"]],
    ['web --reason don’t', ['web', '--reason', 'don’t']],
    ["web --reason 'don't do it'", ['web', '--reason', "don't do it"]],
    ['web --reason “no way”', ['web', '--reason', 'no way']],
    ['web --reason ‘no way’', ['web', '--reason', 'no way']],
    ['web --reason „kein Risiko“', ['web', '--reason', 'kein Risiko']],
    ['web --reason ”no way”', ['web', '--reason', 'no way']],
    ['web --reason="a b"', ['web', '--reason=a b']],
    ['web --reason=“a b”', ['web', '--reason=a b']],
    ["web reason:'a b'", ['web', 'reason:a b']],
    ["back in the '90s", ['back', 'in', 'the', "'90s"]],
    ['a 5" screen', ['a', '5"', 'screen']],
    ['web --reason ""', ['web', '--reason', '']],
    ['"web; reboot"', ['web; reboot']],
  ])('%j', (input, words) => {
    expect(splitWords(input)).toEqual(words);
  });

  it('still says an opened double quote is not closed', () => {
    expect(splitWords('web --reason "too risky')).toBeNull();
    expect(splitWords('web --reason “too risky')).toBeNull();
  });
});

describe('free text with apostrophes and phone quotes, in every command that takes it', () => {
  it('/deny keeps the reason as typed', () => {
    expect(parseArgs(deny, text("K7Q2XM don't, it's month end"))).toEqual({ id: 'K7Q2XM', reason: "don't, it's month end" });
  });

  it('/stop --reason takes a word with an apostrophe', () => {
    expect(parseArgs(stop, text("web --reason don't"))['reason']).toBe("don't");
    expect(parseArgs(stop, text('web --reason “not now”'))['reason']).toBe('not now');
  });

  it('/freeze keeps the reason as typed', () => {
    expect(parseArgs(freeze, text("xen1 2h it's the kernel upgrade"))).toEqual({ hosts: 'xen1', reason: "2h it's the kernel upgrade" });
  });

  it('/oncall set takes a phone-quoted until', () => {
    expect(parseArgs(oncall, text('set alice “tomorrow 09:00”'))).toMatchObject({
      action: 'set',
      person: 'alice',
      until: 'tomorrow 09:00',
    });
  });

  it('/schedule takes a phone-quoted cron pattern', () => {
    expect(parseArgs(schedule, text('add digest cron “0 8 * * *” tz:Europe/Berlin'))).toMatchObject({
      spec: 'digest cron 0 8 * * *',
      tz: 'Europe/Berlin',
    });
  });

  it('an unclosed double quote is still refused with the usage', () => {
    const e = failure(() => parseArgs(deny, text('K7Q2XM "too risky')));
    expect(e.message).toContain('a quote is not closed');
    expect(e.context.usage).toBe('/deny <id> [<reason>]');
  });
});

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
