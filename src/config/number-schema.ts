import { z } from 'zod';

/**
 * A number as YAML writes it, or as text: `${PORT}` arrives from the environment as text. Not z.coerce.number(),
 * whose Number() also turned `true` into 1, a key left empty (`cooldownMinutes:`) into 0 and `[512]` into 512, so
 * `http: { port: }` listened on a random port and `cooldownMinutes:` posted every alert again at once.
 */
export function yamlNumber<T extends z.ZodNumber>(schema: T) {
  return z.preprocess((value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value), schema);
}

/** What to do about an id YAML read as a number too long to keep exactly (a Discord snowflake). */
export const TOO_MANY_DIGITS = 'too many digits for a YAML number (it was rounded): put it in quotes';

/**
 * A platform's user or channel id: text, or a whole number as YAML reads `-1001234567890`. Only here does quoting a
 * number too long to keep exactly help; a numeric setting that long is simply too large.
 */
export const PlatformId = z
  .union([
    z.string().min(1),
    z.number().int({ error: (issue) => (issue.code === 'too_big' || issue.code === 'too_small' ? TOO_MANY_DIGITS : undefined) }),
  ])
  .transform(String);
