import { describe, expect, it } from 'vitest';
import { deny } from '../../commands/deny.ts';
import { freeze } from '../../commands/freeze.ts';
import { parseArgs } from './args.ts';

const text = (t: string) => ({ kind: 'text' as const, text: t });

// `/deny K7Q2XM reason:"too risky"` recorded the reason "reason:too risky", where `--reason "too risky"` at the same
// place gave "too risky": at the first word of a free-text reason, `--name` was read as an option and `name:value`
// was not (the README: `--reason "kernel upgrade"` and `reason:"…"` are two spellings of one thing).
describe('name:value where a free-text reason would begin', () => {
  it('is the option, as --name is there', () => {
    expect(parseArgs(deny, text('K7Q2XM reason:"too risky"'))).toEqual(parseArgs(deny, text('K7Q2XM --reason "too risky"')));
    expect(parseArgs(deny, text('K7Q2XM reason:"too risky"'))).toEqual({ id: 'K7Q2XM', reason: 'too risky' });
    expect(parseArgs(freeze, text('xen1 reason:"kernel upgrade"'))).toEqual({ hosts: 'xen1', reason: 'kernel upgrade' });
  });

  it('is still text after the first word of the reason, and when its name is no option', () => {
    expect(parseArgs(deny, text('K7Q2XM duplicate of id:P3RT5W'))).toEqual({ id: 'K7Q2XM', reason: 'duplicate of id:P3RT5W' });
    expect(parseArgs(deny, text('K7Q2XM see:ticket-123 first'))).toEqual({ id: 'K7Q2XM', reason: 'see:ticket-123 first' });
    expect(parseArgs(freeze, text('xen1 2h patching, then hosts:xen2'))).toEqual({ hosts: 'xen1', reason: '2h patching, then hosts:xen2' });
  });
});
