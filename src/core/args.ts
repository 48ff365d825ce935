import { type AnyCommand, optionSpecs, usageOf } from './define-command.ts';
import { UserError } from './errors.ts';
import type { RawArgs } from './request.ts';

/**
 * One argument parser for every platform. Text forms: positionals in the command's order, `--flag`,
 * `--key value`, `--key=value`, `key:value`, `key=value`, quoted values. Structured options (Discord) go
 * straight to the schema. Either way the command's zod schema has the last word.
 */
export function parseArgs(command: AnyCommand, raw: RawArgs): Record<string, unknown> {
  const usage = usageOf(command);
  const specs = new Map(optionSpecs(command).map((o) => [o.name, o]));
  const record: Record<string, unknown> = {};
  const bad = (message: string) => new UserError('args.invalid', message, { usage });

  if (raw.kind === 'options') {
    for (const [k, v] of Object.entries(raw.options)) record[k] = v;
  } else {
    const words = splitWords(raw.text);
    if (words === null) throw bad('could not read the arguments: a quote is not closed');
    const positional: string[] = [];
    for (let i = 0; i < words.length; i++) {
      const word = words[i] as string;
      const flag = /^--?([a-z][a-z0-9-]*)(?:=(.*))?$/i.exec(word);
      const pair = /^([a-z][a-z0-9]*)[:=](.*)$/i.exec(word);
      if (flag) {
        const name = flag[1] as string;
        const spec = specs.get(name);
        if (!spec) throw bad(`unknown option --${name}`);
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
    positional.slice(0, slots.length).forEach((value, i) => {
      record[slots[i] as string] = value;
    });
    if (positional.length > slots.length) {
      // Name the invalid value when there is one (`/start ; reboot` → the domain ";"), else the extra word.
      validate(command, record, bad);
      throw bad(`unexpected argument "${positional[slots.length]}"`);
    }
  }

  // Text arrives as strings: coerce what the schema expects as booleans and integers.
  for (const [name, value] of Object.entries(record)) {
    const spec = specs.get(name);
    if (!spec) throw bad(`unknown option ${name}`);
    if (typeof value !== 'string') continue;
    if (spec.type === 'boolean') {
      if (/^(true|yes|on|1)$/i.test(value)) record[name] = true;
      else if (/^(false|no|off|0)$/i.test(value)) record[name] = false;
    } else if (spec.type === 'integer' && /^-?\d+$/.test(value)) record[name] = Number(value);
  }
  return validate(command, record, bad);
}

function validate(command: AnyCommand, record: Record<string, unknown>, bad: (m: string) => UserError): Record<string, unknown> {
  const result = command.args.safeParse(record);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    const message = issue?.code === 'invalid_type' && issue.input === undefined ? 'is required' : (issue?.message ?? 'invalid');
    throw bad(`${where}${message}`);
  }
  return result.data as Record<string, unknown>;
}

/**
 * Splits on white space, honouring '…' and "…" quotes. Nothing else is special: `;`, `$(…)` and friends are
 * plain characters, so they end up in a value that validation then rejects by name.
 */
export function splitWords(text: string): string[] | null {
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
