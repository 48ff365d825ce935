import { describe, expect, it } from 'vitest';
import { deny } from '../../commands/deny.ts';
import { freeze } from '../../commands/freeze.ts';
import { oncall } from '../../commands/oncall.ts';
import { schedule } from '../../commands/schedule.ts';
import { stop } from '../../commands/stop.ts';
import { parseArgs, splitWords } from './args.ts';
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
