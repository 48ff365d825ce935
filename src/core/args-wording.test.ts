import { describe, expect, it } from 'vitest';
import { deny } from '../../commands/deny.ts';
import { schedule } from '../../commands/schedule.ts';
import { stop } from '../../commands/stop.ts';
import { parseArgs } from './args.ts';
import type { AnyCommand } from './define-command.ts';

/** The one-line reason a typed line is refused with. */
function refusal(command: AnyCommand, text: string): string {
  try {
    parseArgs(command, { kind: 'text', text });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`"${text}" was accepted`);
}

describe('the words of an argument refused', () => {
  it('names a short option as it was typed, not as a long one nobody wrote', () => {
    expect(refusal(stop, 'web -f')).toBe('unknown option -f');
    expect(refusal(stop, 'web --forc')).toBe('unknown option --forc');
  });

  it('says how long a reason may be in words, not in zod’s "Too big: expected string to have <=200 characters"', () => {
    expect(refusal(stop, `web --reason "${'a'.repeat(300)}"`)).toBe('reason: at most 200 characters, got 300');
    expect(refusal(deny, `K7Q2XM ${'b'.repeat(201)}`)).toBe('reason: at most 200 characters, got 201');
  });

  it('lists the choices of an option in words, not as zod’s "Invalid option: expected one of "post"|"edit""', () => {
    expect(refusal(schedule, 'add status every 1h mode:bogus')).toBe('mode: expected post or edit, got "bogus"');
  });

  it('keeps a schema’s own message', () => {
    expect(refusal(schedule, 'bogus')).toBe('action: expected add, list or remove, got "bogus"');
  });
});
