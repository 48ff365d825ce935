import { z } from 'zod';
import type { AnyCommand } from './define-command.ts';

/**
 * The command's own refusal of a value for one of its arguments, as typed (/console's of Domain-0), or null when the
 * argument takes it. Lookups and autocomplete ask it of a name they found, so they neither offer nor suggest what the
 * command would then refuse.
 */
export function argumentRefusal(command: AnyCommand, option: string, value: string): string | null {
  const schema: unknown = command.args.shape[option];
  if (!(schema instanceof z.ZodType)) return null;
  const parsed = schema.safeParse(value);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'refused');
}
