import { type AnyCommand, optionSpecs, usageOf } from './define-command.ts';
import { UserError } from './errors.ts';
import type { RawArgs } from './request.ts';

type CommandOptionSpec = ReturnType<typeof optionSpecs>[number];

/**
 * One argument parser for every platform. Text forms: positionals in the command's order, `--flag`,
 * `--key value`, `--key=value`, `key:value`, `key=value`, quoted values. Structured options (Discord) go
 * straight to the schema. Either way the command's zod schema has the last word.
 */
export function parseArgs(command: AnyCommand, raw: RawArgs): Record<string, unknown> {
  const usage = usageOf(command);
  const specs = new Map(optionSpecs(command).map((o) => [o.name, o]));
  const record: Record<string, unknown> = {};
  const bad = (message: string) => new UserError('args.invalid', oneLine(message), { usage });

  if (raw.kind === 'options') {
    for (const [k, v] of Object.entries(raw.options)) record[k] = v;
  } else {
    if (LONE_SURROGATE.test(raw.text)) throw bad('could not read the arguments: the text has a broken character in it');
    const words = splitWords(raw.text);
    if (words === null) throw bad('could not read the arguments: a quote is not closed');
    const positional: string[] = [];
    // A free-text reason is what was typed: once it has begun, `id:P3RT5W` or `host:xen2` in it is text, not an option
    // (`/deny K7Q2XM duplicate of id:P3RT5W` denied P3RT5W).
    const reasonAt = command.positional.indexOf('reason');
    const inReason = () =>
      reasonAt >= 0 &&
      positional.length + command.positional.slice(0, reasonAt).filter((p) => p in record).length >= reasonAt &&
      !('reason' in record);
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      const flag = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/is.exec(word);
      const pair = inReason() ? null : /^([a-z][a-z0-9]*)[:=](.*)$/is.exec(word);
      if (flag) {
        const name = flag[1] as string;
        const spec = specs.get(name);
        if (!spec) throw bad(`unknown option --${cut(name)}`);
        if (flag[2] !== undefined) record[name] = flag[2];
        else if (spec.type === 'boolean') record[name] = true;
        else {
          const value = words[++i];
          if (value === undefined) throw bad(`--${name} needs a value`);
          record[name] = value;
        }
      } else if (pair && specs.has(pair[1] as string)) {
        record[pair[1] as string] = pair[2];
      } else positional.push(word);
    }
    const slots = command.positional.filter((p) => !(p in record));
    // A trailing free-text argument (`/deny K7Q2XM too risky today`, `/schedule add status every 5m`) takes the rest.
    const rest = slots.at(-1);
    if ((rest === 'reason' || (rest !== undefined && rest === command.restOfLine)) && positional.length > slots.length) {
      positional.splice(slots.length - 1, positional.length, positional.slice(slots.length - 1).join(' '));
    }
    positional.slice(0, slots.length).forEach((value, i) => {
      record[slots[i] as string] = value;
    });
    if (positional.length > slots.length) {
      // Name the invalid value when there is one (`/start ; reboot` → the domain ";"), else the extra word.
      const checked = check(command, specs, record);
      throw bad(checked.ok ? `unexpected argument ${echoValue(positional[slots.length])}` : checked.problem);
    }
  }

  for (const name of Object.keys(record)) if (!specs.has(name)) throw bad(`unknown option ${cut(name)}`);
  const checked = check(command, specs, record);
  if (!checked.ok) throw bad(checked.problem);
  return checked.args;
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
  const result = command.args.safeParse(record);
  if (result.success && problems.size === 0) return { ok: true, args: result.data as Record<string, unknown> };
  if (!result.success) {
    for (const issue of result.error.issues) {
      const field = String(issue.path[0] ?? '');
      if (problems.has(field)) continue;
      const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
      const missing = issue.code === 'invalid_type' && issue.path.length === 1 && record[field] === undefined;
      problems.set(field, `${where}${missing ? 'is required' : shortenEchoes(issue.message, record)}`);
    }
  }
  const order = [...command.positional, ...Object.keys(command.args.shape as object)];
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  const [first] = [...problems.entries()].sort(([a], [b]) => rank(a) - rank(b));
  return { ok: false, problem: first?.[1] ?? 'invalid arguments' };
}

const TRUE_WORDS = /^(true|yes|on|1)$/i;
const FALSE_WORDS = /^(false|no|off|0)$/i;

function coerceBoolean(spec: CommandOptionSpec, record: Record<string, unknown>, value: unknown): string | null {
  if (typeof value === 'boolean') return null;
  if (typeof value === 'string' && TRUE_WORDS.test(value)) record[spec.name] = true;
  else if (typeof value === 'string' && FALSE_WORDS.test(value)) record[spec.name] = false;
  else return `${spec.name} must be true or false, got ${echoValue(value)}`;
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
/** Bidirectional-text controls could make an echoed value read differently from what was typed. */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

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

/**
 * Splits on white space, honouring '…' and "…" quotes. Nothing else is special: `;`, `$(…)` and friends are
 * plain characters, so they end up in a value that validation then rejects by name. Null when a quote is not closed,
 * or the text holds half a surrogate pair (see LONE_SURROGATE).
 */
export function splitWords(text: string): string[] | null {
  if (LONE_SURROGATE.test(text)) return null;
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) return null;
  if (inWord) words.push(current);
  return words;
}
