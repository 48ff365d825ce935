import fc from 'fast-check';
import { COMMANDS } from '../../commands/index.ts';
import { optionSpecs } from '../../src/core/define-command.ts';

/**
 * Generators shared by the fuzz suites: what people (and broken or hostile clients) can put into a chat input.
 * Text mixes real words (commands, the demo fleet's names, options) with shell metacharacters, random unicode
 * (lone surrogates, bidi controls, odd spaces) and sometimes tens of KB; `wrongType` is what a malformed platform
 * payload may carry where a string is expected.
 */

/** Everything a POSIX shell treats specially, and a few ways of writing a command substitution. */
export const SHELL_META = [
  ';',
  '|',
  '&',
  '$',
  '`',
  "'",
  '"',
  '\\',
  '\n',
  '\r',
  '\t',
  '\0',
  '>',
  '<',
  '*',
  '?',
  '~',
  '#',
  '!',
  '(',
  ')',
  '{',
  '}',
  '[',
  ']',
  '$(id)',
  '`id`',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's ${IFS}, literally
  '${IFS}',
  '$((1+1))',
  '&&',
  '||',
  '; reboot',
  '| sh',
  "'\\''",
  '\\\n',
  '>/etc/passwd',
] as const;

/** The demo fleet's names and ways of writing them, so some inputs get past validation and reach a host. */
export const FLEET_WORDS = [
  'web',
  'mail',
  'gateway',
  'files',
  'Domain-0',
  'xen1',
  'xen2',
  'xen1:web',
  'xen1:mail',
  'xen2:files',
  'xen3',
  'nosuchdomain',
  'web--incoming',
  '12345',
  'all',
  'xen1,xen2',
] as const;

export const OPTION_WORDS = [
  '--force',
  '-force',
  'force:true',
  'force=no',
  '--force=maybe',
  '--reason',
  'reason:',
  '--lines',
  'lines:5',
  'lines=99999',
  '--lines=-1',
  'chart:true',
  'host:xen1',
  'host=xen9',
  'hours:2',
  'n:3',
  'tz:Europe/Berlin',
  'mode:edit',
  'channel:1',
  '--',
  '-',
  '--bogus',
  'bogus:1',
  'add',
  'list',
  'remove',
  'set',
  'status',
  'every',
  '5m',
  '2h',
  'cron',
  '"0 8 * * *"',
  'alice',
  'bob',
] as const;

export const COMMAND_NAMES = [
  'help',
  'list',
  'info',
  'top',
  'status',
  'digest',
  'schedule',
  'start',
  'stop',
  'console',
  'migrate',
  'approve',
  'deny',
  'freeze',
  'unfreeze',
  'whoami',
  'audit',
  'oncall',
] as const;

/** Characters that read as something else: bidi controls, zero-width and unusual spaces, a lone surrogate. */
const TRICKY_CHARS = ['\u202e', '\u2066', '\u200b', '\u00a0', '\u3000', '\u2028', '\ufeff', '\ud800', '\udfff', 'é', '🙂', 'ℌ'] as const;

const fragment: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...SHELL_META), weight: 4 },
  { arbitrary: fc.constantFrom(...FLEET_WORDS), weight: 4 },
  { arbitrary: fc.constantFrom(...OPTION_WORDS), weight: 3 },
  { arbitrary: fc.constantFrom(...TRICKY_CHARS), weight: 1 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }), weight: 1 },
  { arbitrary: fc.string({ unit: fc.constantFrom(...'aZ09_.:+-/=,@%'), minLength: 1, maxLength: 70 }), weight: 2 },
  { arbitrary: fc.integer({ min: -5, max: 100_000 }).map(String), weight: 1 },
);

/** A few fragments, joined with nothing, a space, or a quote: `web;reboot`, `"xen1:web" $(id)`. */
export const chatText: fc.Arbitrary<string> = fc
  .tuple(fc.array(fragment, { maxLength: 7 }), fc.constantFrom('', ' ', ' ', '  ', '"', "'", '\t'))
  .map(([parts, sep]) => parts.join(sep));

/** Tens of KB: one fragment repeated, sometimes after a real word (so the parser gets past the first argument). */
export const hugeText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('', 'web ', 'xen1:web --reason ', 'web --force '), fragment, fc.integer({ min: 10_000, max: 60_000 }))
  .map(([head, f, size]) => {
    const unit = f === '' ? 'x' : f;
    return head + unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
  });

/**
 * Arguments close to real ones (`web --force`, `xen1:mail`, `web xen2`), sometimes with a metacharacter spliced in or a
 * word quoted: these get past the parser often enough for fuzzed requests to reach the hosts.
 */
export const plausibleText: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { arbitrary: fc.constantFrom(...FLEET_WORDS), weight: 6 },
      { arbitrary: fc.constantFrom(...OPTION_WORDS), weight: 2 },
      {
        arbitrary: fc
          .tuple(fc.constantFrom(...FLEET_WORDS), fc.constantFrom(...SHELL_META), fc.constantFrom('', 'reboot', 'id', 'web'))
          .map(([w, m, tail]) => `${w}${m}${tail}`),
        weight: 2,
      },
    ),
    { maxLength: 3 },
  )
  .chain((words) => fc.tuple(...words.map((w) => fc.constantFrom(w, w, w, `"${w}"`, `'${w}'`))).map((quoted) => quoted.join(' ')));

/** What someone types after the command. */
export const argText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: plausibleText, weight: 8 },
  { arbitrary: chatText, weight: 6 },
  { arbitrary: hugeText, weight: 1 },
);

/** A string where a string is expected: chat text, or once in a while a huge one. */
export const anyString: fc.Arbitrary<string> = argText;

/** Not a string, where a string is expected (as JSON can carry it: payloads arrive as JSON). */
export const wrongType: fc.Arbitrary<unknown> = fc
  .oneof(
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(Number.MAX_SAFE_INTEGER + 2),
    fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
    fc.jsonValue({ maxDepth: 3 }),
    // JSON objects whose conversion to a string throws, or says something else.
    fc.constantFrom('{"toString":false}', '{"valueOf":null,"toString":1}', '[{"toString":[]}]', '{"__proto__":{"x":1}}').map(JSON.parse),
  )
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown);

/** An option value from a platform payload: mostly the right type, sometimes not. */
export const optionValue: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: anyString, weight: 6 },
  { arbitrary: fc.constantFrom(...FLEET_WORDS), weight: 3 },
  { arbitrary: fc.integer({ min: -10, max: 300_000 }), weight: 2 },
  { arbitrary: fc.boolean(), weight: 1 },
  { arbitrary: wrongType, weight: 3 },
);

/** Option names: the commands' own (so values get validated), unknown ones, and ones that mean something to JS. */
export const optionName: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'domain',
      'host',
      'target',
      'force',
      'reason',
      'lines',
      'chart',
      'hours',
      'n',
      'id',
      'hosts',
      'action',
      'spec',
      'tz',
      'mode',
      'channel',
      'person',
      'until',
      'since',
      'command',
    ),
    weight: 8,
  },
  { arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', ''), weight: 1 },
  { arbitrary: fc.string({ maxLength: 10 }), weight: 1 },
);

/**
 * Options for `command` as a structured payload carries them: mostly the command's own option names (so the values
 * get as far as validation), each at most once, sometimes an unknown or non-string name.
 */
export function optionEntries(command: string): fc.Arbitrary<{ name: string; value: unknown }[]> {
  const own = COMMANDS.find((c) => c.name === command.toLowerCase());
  const names = own ? optionSpecs(own).map((o) => o.name) : [];
  const name: fc.Arbitrary<unknown> = fc.oneof(
    { arbitrary: names.length ? fc.constantFrom(...names) : optionName, weight: 8 },
    { arbitrary: optionName, weight: 1 },
    { arbitrary: wrongType, weight: 1 },
  );
  return fc
    .uniqueArray(fc.record({ name, value: optionValue }), { maxLength: 5, selector: (o) => o.name })
    .map((os) => os as { name: string; value: unknown }[]);
}

/** A command name as a client could send it: a real one, a cased one, or anything. */
export const commandName: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...COMMAND_NAMES), weight: 8 },
  { arbitrary: fc.constantFrom(...COMMAND_NAMES).map((c) => c.toUpperCase()), weight: 1 },
  { arbitrary: chatText, weight: 1 },
);

/**
 * A domain argument: one of the fleet's, a valid name that may not exist, a name with a metacharacter spliced in, or
 * one that validation refuses by rule (Domain-0, all digits, a migration leftover).
 */
export const domainArg: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('web', 'mail', 'gateway', 'files', 'xen1:web', 'xen1:mail', 'xen1:gateway', 'xen2:files'), weight: 5 },
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,20}$/), weight: 2 },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom('web', 'mail', 'xen1:web', 'files'),
        fc.constantFrom(...SHELL_META),
        fc.constantFrom('', 'reboot', 'id', 'web'),
      )
      .map(([w, m, tail]) => `${w}${m}${tail}`),
    weight: 3,
  },
  { arbitrary: fc.constantFrom('Domain-0', 'xen1:Domain-0', '12345', 'web--incoming', 'xen9:web', 'XEN1:web'), weight: 1 },
);

export const hostArg: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('xen1', 'xen2'), weight: 5 },
  { arbitrary: fc.constantFrom('xen3', 'all', 'Xen1', 'xen1;id', 'xen1 xen2', '$(hostname)'), weight: 1 },
);

/** A command that reaches a host, with its arguments in the right slots: as typed words and as structured options. */
export interface HostCommandLine {
  command: string;
  words: string[];
  options: Record<string, unknown>;
}

const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
export const hostCommandLine: fc.Arbitrary<HostCommandLine> = fc.oneof(
  domainArg.map((d) => ({ command: 'start', words: [d], options: { domain: d } })),
  fc.tuple(domainArg, fc.boolean(), maybe(chatText)).map(([d, force, reason]) => ({
    command: 'stop',
    words: [d, ...(force ? ['--force'] : []), ...(reason === undefined ? [] : ['--reason', reason])],
    options: { domain: d, force, ...(reason === undefined ? {} : { reason }) },
  })),
  fc.tuple(domainArg, maybe(fc.integer({ min: -5, max: 2500 }))).map(([d, lines]) => ({
    command: 'console',
    words: [d, ...(lines === undefined ? [] : [String(lines)])],
    options: { domain: d, ...(lines === undefined ? {} : { lines }) },
  })),
  fc.tuple(domainArg, hostArg).map(([d, h]) => ({ command: 'migrate', words: [d, h], options: { domain: d, target: h } })),
  fc.tuple(fc.constantFrom('list', 'top', 'info'), maybe(hostArg)).map(([command, h]) => ({
    command,
    words: h === undefined ? [] : [h],
    options: h === undefined ? {} : { host: h },
  })),
);

/** The words as typed: each as it is, or in quotes (which the parser takes off). */
export function typed(words: readonly string[]): fc.Arbitrary<string> {
  return fc.tuple(...words.map((w) => fc.constantFrom(w, w, `"${w}"`, `'${w}'`))).map((ws) => ws.join(' '));
}

/** A button id as a click may carry it: ids of the right shape that are not ours, junk, metacharacters, huge ones. */
export const buttonId: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ABCxyz0189_-'), minLength: 1, maxLength: 40 }),
  chatText,
  fc.constantFrom('', '*', '../action:x', 'x:y', 'a'.repeat(32), 'a'.repeat(33), 'KEYS *', '\r\nFLUSHALL\r\n'),
  hugeText,
);

/** Did a string come out of this generator's metacharacter list? (for messages) */
export const SHELL_META_CHARS = /[;|&$`'"\\\n\r\t\0<>*?~#!(){}[\]]/;
