import { describe, expect, it } from 'vitest';
import { approve } from '../../commands/approve.ts';
import { autostart } from '../../commands/autostart.ts';
import { consoleCommand } from '../../commands/console.ts';
import { digest } from '../../commands/digest.ts';
import { parseArgs } from './args.ts';
import type { AnyCommand } from './define-command.ts';
import { UserError } from './errors.ts';

const text = (t: string) => ({ kind: 'text' as const, text: t });

function refusal(command: AnyCommand, t: string): string {
  try {
    parseArgs(command, text(t));
  } catch (error) {
    if (error instanceof UserError) return error.message;
    throw error;
  }
  throw new Error(`"${t}" was accepted`);
}

// `/console web 10 lines:20` was answered `unexpected argument "10"`: 10 is where lines goes, given a second time as
// an option. And `/digest xen1 host:xen1`, the same host twice, was refused as an unexpected "xen1".
describe('an argument given both by its place and as an option', () => {
  it.each<[AnyCommand, string, string]>([
    [consoleCommand, 'web 10 lines:20', '--lines is given twice (20 and 10): say it once'],
    [digest, 'xen1 host:xen2', '--host is given twice ("xen2" and "xen1"): say it once'],
    [autostart, 'web on state:off', '--state is given twice ("off" and "on"): say it once'],
  ])('%#: is refused naming the argument given twice', (command, t, message) => {
    expect(refusal(command, t)).toBe(message);
  });

  it('is taken once when both say the same', () => {
    expect(parseArgs(digest, text('xen1 host:xen1'))).toEqual(parseArgs(digest, text('xen1')));
    expect(parseArgs(consoleCommand, text('web 20 --lines 20'))).toEqual(parseArgs(consoleCommand, text('web 20')));
    expect(parseArgs(approve, text('K7Q2XM id:K7Q2XM'))).toEqual(parseArgs(approve, text('K7Q2XM')));
  });

  it('still calls a word beyond every argument unexpected', () => {
    expect(refusal(consoleCommand, 'web 10 20')).toBe('unexpected argument "20"');
    expect(refusal(digest, 'xen1 xen2')).toBe('unexpected argument "xen2"');
  });
});
