import type { z } from 'zod';
import { type AnyCommand, optionSpecs, usageOf } from './define-command.ts';
import { UserError } from './errors.ts';
import { redactSecrets } from './log.ts';
import { DomainName, HOST_NAME_PATTERN, HOST_NAME_RULE } from './names.ts';
import type { RawArgs } from './request.ts';

type CommandOptionSpec = ReturnType<typeof optionSpecs>[number];

/**
 * Parsed arguments with the secrets taken out of their free text (see redactSecrets): free text typed in chat — a
 * freeze's reason, a request's --reason, a denial's — is kept and shown to others (refusals, /status, approval cards)
 * for as long as it lasts; a token pasted there goes no further than the message it was typed in, as in the log and
 * audit. Only free text: the other arguments are names the schema has checked (hosts, people, a schedule's what), and a
 * secret that is a common word inside one (a Redis password `storage`, the host storage1) made the command act on
 * `[redacted]1` — and the refusal, naming storage1 beside it, showed the secret.
 */
export function withoutSecrets(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).map(([k, v]) => [k, FREE_TEXT.has(k) && typeof v === 'string' ? redactSecrets(v) : v]));
}

/** The arguments that are free text, whatever the command. */
const FREE_TEXT: ReadonlySet<string> = new Set(['reason']);

/**
 * One argument parser for every platform. Text forms: positionals in the command's order, `--flag`,
 * `--key value`, `--key=value`, `key:value`, `key=value`, quoted values. Structured options (Discord) go
 * straight to the schema. Either way the command's zod schema has the last word.
 */
export function parseArgs(command: AnyCommand, raw: RawArgs, isHost: (name: string) => boolean = () => false): Record<string, unknown> {
  const { specs, usage } = shapeOf(command);
  const record: Record<string, unknown> = {};
  // Said with every refusal once the words are read (see hostThenDomain).
  let hint = () => '';
  const bad = (message: string) => new UserError('args.invalid', oneLine(message + hint()), { usage });

  if (raw.kind === 'options') {
    for (const [k, v] of Object.entries(raw.options)) record[k] = v;
    // The rest of a line (`digest cron "0 8 * * *"`) is read as if typed: its quotes group, they are not part of it.
    const rest = command.restOfLine;
    const words = rest !== undefined && typeof record[rest] === 'string' ? splitWords(record[rest] as string) : null;
    if (rest !== undefined && words !== null) record[rest] = words.join(' ');
  } else {
    if (LONE_SURROGATE.test(raw.text)) throw bad('could not read the arguments: the text has a broken character in it');
    const words = splitWords(raw.text);
    if (words === null) throw bad('could not read the arguments: a quote is not closed');
    const positional: string[] = [];
    // The option whose `--name value` came right before a positional word: `--reason kernel upgrade` meant one reason.
    let valueBefore: string | null = null;
    let afterValue: string | null = null;
    // A free-text reason is what was typed: once it has begun, `id:P3RT5W` or `host:xen2` in it is text, not an option
    // (`/deny K7Q2XM duplicate of id:P3RT5W` denied P3RT5W), and so are `--force` or `-rc2` after its first word.
    const reasonAt = command.positional.indexOf('reason');
    const reasonWords = () =>
      reasonAt < 0 || 'reason' in record
        ? -1
        : positional.length + command.positional.slice(0, reasonAt).filter((p) => p in record).length - reasonAt;
    const set = (name: string, value: unknown) => {
      const spec = specs.get(name);
      if (name in record && spec && meaning(spec, record[name]) !== meaning(spec, value))
        throw bad(
          `--${name} is given twice (${echoValue(meaning(spec, record[name]))} and ${echoValue(meaning(spec, value))}): say it once`,
        );
      record[name] = value;
    };
    const optionIn = (word: string) => {
      const m = /^(--?|[\u2013\u2014])([a-z][a-z0-9-]*)(?:=(.*))?$/is.exec(word);
      // A phone turns a typed `--` into a dash: `—force` is --force when the command has that option, else a word.
      return m && (m[1]?.startsWith('-') || specs.has(m[2] as string)) ? { dash: m[1] as string, name: m[2] as string, value: m[3] } : null;
    };
    // `key:value` words whose key is no option of the command, by their index in `positional` (see below).
    const unknownKeys = new Map<number, { key: string; value: string; probe: string }>();
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      const flag = reasonWords() > 0 ? null : optionIn(word);
      // At the reason's first word `reason:"…"` is an option, as `--reason "…"` is there (an unknown name stays text).
      const pair = reasonWords() > 0 ? null : /^([a-z][a-z0-9-]*)[:=](.*)$/is.exec(word);
      if (flag) {
        const spec = specs.get(flag.name);
        if (!spec) throw bad(`unknown option ${flag.dash}${cut(flag.name)}`);
        if (flag.value !== undefined) set(flag.name, flag.value);
        else if (spec.type === 'boolean') set(flag.name, true);
        else {
          const value = words[++i];
          // `--reason --force`: the reason was left out, and --force was meant as an option.
          const next = value === undefined ? null : optionIn(value);
          if (value === undefined || (next && specs.has(next.name))) throw bad(`--${flag.name} needs a value`);
          set(flag.name, value);
          afterValue = flag.name;
          continue;
        }
      } else if (pair && specs.has(pair[1] as string)) {
        set(pair[1] as string, pair[2]);
      } else {
        if (afterValue !== null) valueBefore ??= afterValue;
        if (pair)
          unknownKeys.set(positional.length, {
            key: pair[1] as string,
            value: pair[2] as string,
            probe: `${pair[1]}${word[(pair[1] as string).length]}x`,
          });
        positional.push(word);
      }
      afterValue = null;
    }
    hint = () => hostThenDomain(command, raw.text, positional, isHost) || hostsByCommas(command, raw.text, positional, isHost);
    const slots = command.positional.filter((p) => !(p in record));
    // A trailing free-text argument (`/deny K7Q2XM too risky today`, `/schedule add status every 5m`) takes the rest.
    const rest = slots.at(-1);
    const joinsRest = (rest === 'reason' || (rest !== undefined && rest === command.restOfLine)) && positional.length > slots.length;
    // `/audit user:bob` meant an option /audit does not have, not n = "user:bob" (nor an extra word): such a word is a
    // positional only in a slot that takes a word of its shape (a domain written `host:domain`), or after an option's
    // value (`--reason see ticket:123`, where quotes were meant). A rest of the line other than a reason is a list of
    // words (hosts, a schedule's what and when), none of them `key:value`; in a reason it was never read as a pair.
    for (const [i, { key, value, probe }] of unknownKeys) {
      const slot = i < slots.length ? slots[i] : joinsRest ? rest : undefined;
      const word = positional[i] as string;
      if (slot === undefined ? valueBefore !== null : slot !== command.restOfLine && takesWord(command, slot, word, probe)) continue;
      throw bad(`unknown option ${cut(key)}${isHost(key) ? hostDomainHint(command, key, value) : ''}`);
    }
    const typed = [...positional];
    if (joinsRest) {
      positional.splice(slots.length - 1, positional.length, positional.slice(slots.length - 1).join(' '));
    }
    // `/console web 10 lines:20`: no more words than the command has places, one of them also given as an option —
    // each word is the argument its place names (the same value twice is taken once, two values are refused).
    const byPlace = typed.length <= command.positional.length && readByPlace(command, specs, record, typed, slots, positional);
    const placed = byPlace || (positional.length > slots.length && positional.length <= command.positional.length);
    const given = byPlace ? typed : positional;
    const names = placed ? command.positional.slice(0, given.length) : slots;
    given.slice(0, names.length).forEach((value, i) => {
      set(names[i] as string, value);
    });
    const opened = openedBy(command, raw.text, names, given, isHost);
    if (opened) throw bad(opened);
    if (given.length > names.length) {
      // Name the invalid value when there is one (`/start ; reboot` → the domain ";"), else the extra word.
      const checked = check(command, specs, record);
      const quote = valueBefore === null ? '' : ` (a value of several words goes in quotes: --${valueBefore} "…")`;
      throw bad(checked.ok ? `unexpected argument ${echoValue(given[slots.length])}${quote}` : checked.problem);
    }
  }

  for (const name of Object.keys(record)) if (!specs.has(name)) throw bad(`unknown option ${cut(name)}`);
  const checked = check(command, specs, record);
  if (!checked.ok) throw bad(checked.problem);
  return checked.args;
}

/**
 * `/oncall set bob person:alice` was read as until "bob", the words moved along to the places the options left free
 * (or joined into a rest of the line), and refused as a bad time: bob is where the person goes, given a second time as
 * an option. When the words read so (`read`) fail the schema and read as `typed`, each in its own place, they would
 * not, each is the argument its place names — taken once or refused as given twice. `/oncall set person:alice 18:00`
 * still reads 18:00 as the until (it is no person).
 */
function readByPlace(
  command: AnyCommand,
  specs: ReadonlyMap<string, CommandOptionSpec>,
  record: Record<string, unknown>,
  typed: readonly string[],
  slots: readonly string[],
  read: readonly string[],
): boolean {
  const places = command.positional.slice(0, typed.length);
  if (!places.some((name) => name in record)) return false;
  const fits = (names: readonly string[], values: readonly string[]) => {
    const args = { ...record };
    names.forEach((name, i) => {
      args[name] = values[i];
    });
    return check(command, specs, args).ok;
  };
  return !(read.length <= slots.length && fits(slots.slice(0, read.length), read)) && fits(places, typed);
}

/**
 * `/list xen1:web` read as an option xen1: a domain named on its host, given where none is taken. The domain is
 * repeated only when it is a valid name (nothing else typed is echoed unescaped).
 */
function hostDomainHint(command: AnyCommand, host: string, domain: string): string {
  const named = DomainName.safeParse(domain);
  const example = `/show ${host}:${named.success ? named.data : '<domain>'}`;
  const takesHost = 'host' in (command.args.shape as object);
  return ` (${takesHost ? `/${command.name} takes a host` : `${host} is a host`}: for one domain, ${example})`;
}

/**
 * `/stop xen1 web` is how one types `xl stop` on xen1 (or `/stop web xen1`); refused as it reads (an extra word, or "web" as the lines of
 * `/console`), the refusal also says how to name web on xen1: the line as typed with the two words joined
 * (`/migrate xen1:web xen2`), when they were typed side by side and the line so joined is one the command takes. Only
 * for a host the asker may use (`isHost`).
 */
function hostThenDomain(command: AnyCommand, text: string, words: readonly string[], isHost: (name: string) => boolean): string {
  const [first, second] = words;
  if (command.positional[0] !== 'domain' || first === undefined || second === undefined) return '';
  // `/stop web xen1`, the host after the domain, is the same slip — unless a host is what goes second (`/migrate web
  // xen2`: its target).
  const secondTakes = (command.args.shape as Record<string, z.ZodType | undefined>)[command.positional[1] ?? '']?.safeParse(second);
  const [host, domain] = isHost(first) ? [first, second] : isHost(second) && !secondTakes?.success ? [second, first] : [];
  if (host === undefined || domain === undefined) return '';
  const pair = new RegExp(`(^|\\s)${escapeRegExp(first)}\\s+${escapeRegExp(second)}(?=\\s|$)`);
  if (!pair.test(text)) return '';
  const joined = text.replace(pair, (_all, before: string) => `${before}${host}:${domain}`).trim();
  try {
    parseArgs(command, { kind: 'text', text: joined }, isHost);
  } catch {
    return '';
  }
  // The whole line only when it is short and plain: it echoes what was typed.
  const line = joined.length <= 80 && /^[\x20-\x7e]*$/.test(joined) ? joined : `${host}:${domain} …`;
  return ` (${host} is a host: for ${domain} on it, /${command.name} ${line})`;
}

/**
 * `/list xen1 xen2`: hosts typed with spaces where the command takes them separated by commas. Refused as it reads (an
 * extra word), the refusal also says the line with commas, when the words are hosts the asker may use (`isHost`), typed
 * side by side, and the line so joined is one the command takes (not `/info xen1,xen2`: /info takes one host).
 */
function hostsByCommas(command: AnyCommand, text: string, words: readonly string[], isHost: (name: string) => boolean): string {
  if (command.positional[0] !== 'host') return '';
  const hosts: string[] = [];
  const typed: string[] = [];
  for (const word of words) {
    // `/list xen1, xen2`: a comma typed, then a space.
    const name = word.endsWith(',') ? word.slice(0, -1) : word;
    if (!isHost(name)) break;
    hosts.push(name);
    typed.push(word);
  }
  if (hosts.length < 2) return '';
  const run = new RegExp(`(^|\\s)${typed.map(escapeRegExp).join('\\s+')}(?=\\s|$)`);
  if (!run.test(text)) return '';
  const joined = text.replace(run, (_all, before: string) => `${before}${hosts.join(',')}`).trim();
  try {
    parseArgs(command, { kind: 'text', text: joined }, isHost);
  } catch {
    return '';
  }
  // The whole line only when it is short and plain: it echoes what was typed.
  const line = joined.length <= 80 && /^[\x20-\x7e]*$/.test(joined) ? joined : `${hosts.join(',')} …`;
  return ` (hosts go separated by commas: /${command.name} ${line})`;
}

/**
 * `/evacuate xen1 xen2` was planned with xen2 as the target and sent for approval: the place of a word-led argument
 * (`/evacuate <host> [to <hosts>]`) took a bare word. An evacuation moves every guest, so a host typed there without its
 * `to` is refused, saying the line probably meant, never guessed as the target (`--to xen2` and `to:xen2` name it).
 * A `to` typed later among those words (`xen2 to xen3`) is left to the schema, which says where it goes.
 */
function openedBy(
  command: AnyCommand,
  text: string,
  names: readonly string[],
  given: readonly string[],
  isHost: (name: string) => boolean,
): string {
  const at = names.indexOf(LED_BY);
  const value = given[at];
  if (at < 0 || value === undefined) return '';
  const words = value.split(/[\s,]+/).filter((w) => w !== '');
  const first = words[0];
  if (first === undefined || words.some((w) => w.toLowerCase() === LED_BY)) return '';
  const before = at > 0 ? given[at - 1] : undefined;
  const run = new RegExp(`(^|\\s)${before === undefined ? '' : `${escapeRegExp(before)}\\s+`}${escapeRegExp(first)}(?=[\\s,]|$)`);
  const joined = text.replace(run, (all) => all.replace(new RegExp(`${escapeRegExp(first)}$`), `${LED_BY} ${first}`)).trim();
  const host = before !== undefined && HOST_NAME_PATTERN.test(before) ? before : '<host>';
  let meant = `/${command.name} ${host} ${LED_BY} <hosts>`;
  if (joined !== text.trim()) {
    try {
      parseArgs(command, { kind: 'text', text: joined }, isHost);
      // The whole line only when it is short and plain: it echoes what was typed.
      if (joined.length <= 80 && /^[\x20-\x7e]*$/.test(joined)) meant = `/${command.name} ${joined}`;
    } catch {}
  }
  return `the targets go after "${LED_BY}": without it, ${echoValue(words.join(' '))} is not taken for them (${meant})`;
}

/** The argument whose place is opened by its own name typed first: /evacuate's targets. */
const LED_BY = 'to';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Whether a positional slot takes a word shaped `key:value`: this one, or any of its shape (`probe`, `key:x`). */
function takesWord(command: AnyCommand, slot: string, word: string, probe: string): boolean {
  const field = (command.args.shape as Record<string, z.ZodType | undefined>)[slot];
  return field !== undefined && (field.safeParse(word).success || field.safeParse(probe).success);
}

/**
 * A command's options by name and its usage line, worked out once per command: both walk its zod schema, which cost
 * every /list ~40 µs of the bot's CPU for a usage line that only a refusal shows. Read-only here (a command is data).
 */
const shapes = new WeakMap<AnyCommand, { specs: ReadonlyMap<string, CommandOptionSpec>; usage: string }>();

function shapeOf(command: AnyCommand): { specs: ReadonlyMap<string, CommandOptionSpec>; usage: string } {
  let shape = shapes.get(command);
  if (!shape) {
    shape = { specs: new Map(optionSpecs(command).map((o) => [o.name, o])), usage: usageOf(command) };
    shapes.set(command, shape);
  }
  return shape;
}

/**
 * Text arrives as strings: coerces (in place) what the schema expects as integers and booleans, then validates.
 * On failure, names the first problem in argument order (positionals first).
 */
function check(
  command: AnyCommand,
  specs: ReadonlyMap<string, CommandOptionSpec>,
  record: Record<string, unknown>,
): { ok: true; args: Record<string, unknown> } | { ok: false; problem: string } {
  const problems = new Map<string, string>();
  for (const [name, value] of Object.entries(record)) {
    const spec = specs.get(name);
    if (!spec || value === undefined) continue;
    const problem =
      spec.type === 'integer' ? coerceInteger(spec, record, value) : spec.type === 'boolean' ? coerceBoolean(spec, record, value) : null;
    if (problem !== null) problems.set(name, problem);
  }
  const result = command.args.safeParse(record, { reportInput: true });
  if (result.success && problems.size === 0) return { ok: true, args: result.data as Record<string, unknown> };
  if (!result.success) {
    for (const issue of result.error.issues) {
      const field = String(issue.path[0] ?? '');
      if (problems.has(field)) continue;
      // A host of a list (`to xen2 Xen!`) is named by what was typed, not by zod's path counted from 0 (`to.1`).
      const element = issue.path.length === 2 && typeof issue.path[1] === 'number' && typeof issue.input === 'string';
      // A bad host is named as typed, as a bad domain name is (`/list xen1|cat`): the rule alone did not say which word.
      const host = !element && issue.path.length === 1 && issue.message === HOST_NAME_RULE && typeof issue.input === 'string';
      const where = element
        ? `${field}: ${echoValue(issue.input)} `
        : host
          ? `${field}: ${echoValue(issue.input)} is not a valid host name: `
          : issue.path.length
            ? `${issue.path.join('.')}: `
            : '';
      const missing = issue.code === 'invalid_type' && issue.path.length === 1 && record[field] === undefined;
      problems.set(field, `${where}${missing ? 'is required' : (worded(issue, record[field]) ?? shortenEchoes(issue.message, record))}`);
    }
  }
  const order = [...command.positional, ...Object.keys(command.args.shape as object)];
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  const [first] = [...problems.entries()].sort(([a], [b]) => rank(a) - rank(b));
  if (!first) return { ok: false, problem: 'invalid arguments' };
  return { ok: false, problem: `${first[1]}${notAscii(command, record, first[0], first[1])}` };
}

/**
 * zod's own English for a length or a choice ("Too big: expected string to have <=200 characters", "Invalid option:
 * expected one of "post"|"edit""), said as the other refusals are; a message the schema gives is kept (null).
 */
function worded(issue: z.core.$ZodIssue, value: unknown): string | null {
  if (issue.code === 'too_big' && issue.origin === 'string' && issue.message.startsWith('Too big:') && typeof value === 'string')
    return `at most ${issue.maximum} characters, got ${Array.from(value.trim()).length}`;
  if (issue.code === 'invalid_value' && issue.message.startsWith('Invalid option:') && issue.values.every((v) => typeof v === 'string')) {
    const choices = issue.values as string[];
    const list = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : (choices[0] ?? '');
    return `expected ${list}, got ${echoValue(value)}`;
  }
  return null;
}

/**
 * `wеb` with a Cyrillic е, or `web` with a zero-width space, reads as a valid name refused for no reason: when such a
 * character is what made a value invalid, the refusal names it.
 */
function notAscii(command: AnyCommand, record: Record<string, unknown>, field: string, problem: string): string {
  const value = record[field];
  if (typeof value !== 'string') return '';
  const odd = Array.from(value).find((c) => /[^\x20-\x7e]/.test(c));
  if (odd === undefined) return '';
  const retyped = command.args.safeParse({ ...record, [field]: value.replace(/[^\x20-\x7e]/gu, 'x') });
  if (!retyped.success && retyped.error.issues.some((i: { path: readonly PropertyKey[] }) => String(i.path[0] ?? '') === field)) return '';
  const point = odd.codePointAt(0) as number;
  // A control character is ASCII: one the refusal names already (a reason's "no control characters") needs no note.
  const control = point < 0x20 || point === 0x7f;
  if (control && /control character/.test(problem)) return '';
  const code = `U+${point.toString(16).toUpperCase().padStart(4, '0')}`;
  const which = problem.includes(echoValue(value)) || problem.includes(echoValue(odd).slice(1, -1)) ? 'it' : echoValue(value);
  return `; ${which} holds ${echoValue(odd)} (${code}), ${control ? 'a control character' : 'which is not ASCII'}`;
}

const TRUE_WORDS = /^(true|yes|on|1)$/i;
const FALSE_WORDS = /^(false|no|off|0)$/i;

/** What a typed value means for its option: `force:yes` and `--force` are the same, `lines:07` and `lines:7` too. */
function meaning(spec: CommandOptionSpec, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  if (spec.type === 'boolean') return TRUE_WORDS.test(value) ? true : FALSE_WORDS.test(value) ? false : value;
  if (spec.type === 'integer' && /^[+-]?\d+$/.test(value)) return Number(value);
  return value;
}

function coerceBoolean(spec: CommandOptionSpec, record: Record<string, unknown>, value: unknown): string | null {
  if (typeof value === 'boolean') return null;
  if (typeof value === 'string' && TRUE_WORDS.test(value)) record[spec.name] = true;
  else if (typeof value === 'string' && FALSE_WORDS.test(value)) record[spec.name] = false;
  // Every word TRUE_WORDS and FALSE_WORDS take: "true or false" alone hid that yes, no, on, off, 1 and 0 are.
  else return `${spec.name} must be true or false (also yes/no, on/off, 1/0), got ${echoValue(value)}`;
  return null;
}

function coerceInteger(spec: CommandOptionSpec, record: Record<string, unknown>, value: unknown): string | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
  // Bounds beyond the safe integers are zod's defaults for .int(), not the command's.
  const min = spec.min !== undefined && Math.abs(spec.min) < Number.MAX_SAFE_INTEGER ? spec.min : undefined;
  const max = spec.max !== undefined && Math.abs(spec.max) < Number.MAX_SAFE_INTEGER ? spec.max : undefined;
  const inRange = Number.isSafeInteger(n) && (min === undefined || n >= min) && (max === undefined || n <= max);
  if (inRange) {
    record[spec.name] = n;
    return null;
  }
  const range =
    min !== undefined && max !== undefined
      ? ` from ${min} to ${max}`
      : min !== undefined
        ? ` of at least ${min}`
        : max !== undefined
          ? ` of at most ${max}`
          : '';
  // Digits typed as text are shown as the number they are; anything else as the text it is.
  const shown = typeof value === 'string' && /^[+-]?\d+$/.test(value) ? cut(value) : echoValue(value);
  return `${spec.name} must be a whole number${range}, got ${shown}`;
}

const ECHO_MAX = 40;
/**
 * Bidirectional-text controls could make an echoed value read differently from what was typed; zero-width and other
 * invisible characters would make it read the same as a valid one.
 */
const BIDI = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/** At most `max` characters (code points, so never half an emoji), then an ellipsis. */
function cut(s: string, max = ECHO_MAX): string {
  const chars = Array.from(s);
  return chars.length > max ? `${chars.slice(0, max).join('')}…` : s;
}

/**
 * A user's value as it appears in an error message: strings quoted, escaped (line breaks, quotes, bidi
 * controls) and cut to 40 characters, so a 5,000-character paste is never echoed back whole and a message stays
 * one line. Numbers and booleans as they are.
 */
export function echoValue(value: unknown, max = ECHO_MAX): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(cut(asText(value), max)).replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A command name as a reason names it: `/lsit` bare when nothing in it needs escaping, else quoted whole
 * (`"/\"list\""`) — without its quotes, escaped quotes inside read as the name's own.
 */
export function echoCommand(name: string, max = 32): string {
  const shown = echoValue(name, max);
  return shown === `"${name}"` ? `/${name}` : echoValue(`/${name}`, max + 1);
}

/** String(value) for anything a JSON payload can hold: `{"toString":false}` cannot be converted, so it reads as an object. */
function asText(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Messages written by schemas quote the user's value as `"value"` (commands' domain check does): swap each for
 * its short, escaped form.
 */
function shortenEchoes(message: string, record: Record<string, unknown>): string {
  let out = message;
  for (const value of Object.values(record)) {
    if (typeof value !== 'string') continue;
    for (const v of new Set([value, value.trim()])) {
      const quoted = `"${v}"`;
      if (v !== '' && out.includes(quoted)) out = out.split(quoted).join(echoValue(v));
    }
  }
  return out;
}

/** Whatever a schema wrote: one line, and never a wall of text. */
function oneLine(message: string): string {
  return cut(message.replace(/\s*[\r\n]+\s*/g, ' '), 300);
}

/**
 * Half of a UTF-16 surrogate pair with no other half: no chat platform sends one as text, but JSON can spell it
 * (`"\ud800"`). Split around a quote, two such halves would join into a character the text never had.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Double quotes: ASCII, and what phones and other keyboard layouts send for them (“…”, „…“, ”…”, «…»). */
const DOUBLE_OPEN = new Set(['"', '\u201c', '\u201d', '\u201e', '\u00ab']);
const DOUBLE_CLOSE = new Set(['"', '\u201c', '\u201d', '\u00bb']);
/** Single quotes: ASCII and ‘…’. ’ is also the apostrophe phones put in `don’t`, so it never opens a quote. */
const SINGLE_OPEN = new Set(["'", '\u2018']);
const SINGLE_CLOSE = new Set(["'", '\u2018', '\u2019']);
/** `--reason=`, `reason:`: a quoted value may follow an option's name inside the same word. */
const KEY_PREFIX = /^(?:--?)?[a-z][a-z0-9-]*[:=]$/i;

/**
 * Splits on white space, honouring '…' and "…" quotes (and their typographic forms). A quote opens only at the start
 * of a word or of a `key:` value: an apostrophe inside a word is a letter (`don't`), and a single quote closes only
 * where no letter or digit follows it (`'don't do it'`); a single quote that nothing closes is a letter too (`'90s`).
 * Nothing else is special: `;`, `$(…)` and friends are plain characters, so they end up in a value that validation
 * then rejects by name. Null when a double quote is not closed, or the text holds half a surrogate pair (see
 * LONE_SURROGATE).
 */
export function splitWords(text: string): string[] | null {
  if (LONE_SURROGATE.test(text)) return null;
  const chars = Array.from(text);
  const closesSingle = (i: number) => SINGLE_CLOSE.has(chars[i] as string) && !/[\p{L}\p{N}]/u.test(chars[i + 1] ?? '');
  // Whether a single quote opened at i is ever closed: it is exactly when a closing one comes after it.
  let lastSingleClose = -1;
  for (let i = 0; i < chars.length; i++) if (closesSingle(i)) lastSingleClose = i;
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: 'double' | 'single' | null = null;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (quote === 'double') {
      if (DOUBLE_CLOSE.has(ch)) quote = null;
      else current += ch;
    } else if (quote === 'single') {
      if (closesSingle(i)) quote = null;
      else current += ch;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      const opening = DOUBLE_OPEN.has(ch) ? 'double' : SINGLE_OPEN.has(ch) && lastSingleClose > i ? 'single' : null;
      // Option names are short: a long word is not re-read at each of its quotes.
      if (opening && (!inWord || (current.length <= 40 && KEY_PREFIX.test(current)))) quote = opening;
      else current += ch;
      inWord = true;
    }
  }
  if (quote) return null;
  if (inWord) words.push(current);
  return words;
}
