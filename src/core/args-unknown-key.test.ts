import { describe, expect, it } from 'vitest';
import { audit } from '../../commands/audit.ts';
import { autostart } from '../../commands/autostart.ts';
import { consoleCommand } from '../../commands/console.ts';
import { deny } from '../../commands/deny.ts';
import { digest } from '../../commands/digest.ts';
import { evacuate } from '../../commands/evacuate.ts';
import { freeze } from '../../commands/freeze.ts';
import { help } from '../../commands/help.ts';
import { migrate } from '../../commands/migrate.ts';
import { oncall } from '../../commands/oncall.ts';
import { rebalance } from '../../commands/rebalance.ts';
import { schedule } from '../../commands/schedule.ts';
import { stop } from '../../commands/stop.ts';
import { top } from '../../commands/top.ts';
import { parseArgs } from './args.ts';
import { type AnyCommand, usageOf } from './define-command.ts';
import { UserError } from './errors.ts';

/** The refusal of a typed line: its one-line reason and the usage shown with it. */
function refusal(command: AnyCommand, text: string): { message: string; usage: unknown } {
  try {
    parseArgs(command, { kind: 'text', text });
  } catch (error) {
    if (error instanceof UserError) return { message: error.message, usage: error.context.usage };
    throw error;
  }
  throw new Error(`"${text}" was accepted`);
}

// `/audit user:bob` was answered `n must be a whole number from 1 to 200, got "user:bob"`: a `key:value` word whose
// key is no option of the command fell through to a positional slot (or was called an "unexpected argument").
describe('a key:value word whose key is no option of the command', () => {
  it.each<[AnyCommand, string, string]>([
    [audit, 'user:bob', 'user'],
    [audit, '5 user:bob', 'user'],
    [audit, 'user:bob 5', 'user'],
    [audit, 'since:24h who=bob', 'who'],
    [digest, 'hour:6', 'hour'],
    [digest, 'xen1 hour:6', 'hour'],
    [top, 'chrt:true', 'chrt'],
    [top, 'xen1 chrt:true', 'chrt'],
    [stop, 'web reasn:"kernel upgrade"', 'reasn'],
    [stop, 'web forse:true', 'forse'],
    [consoleCommand, 'web lnes:5', 'lnes'],
    [migrate, 'web to:xen2', 'to'],
    [autostart, 'web stat:on', 'stat'],
    [oncall, 'set usr:bob', 'usr'],
    [schedule, 'add status every 5m chanel:123', 'chanel'],
    [schedule, 'add digest cron "0 8 * * *" tzz:Europe/Berlin', 'tzz'],
    [schedule, 'add status every 5m mod:edit', 'mod'],
    [schedule, 'list chanel:123', 'chanel'],
    [evacuate, 'xen1 to xen2 reasn:"RAM swap"', 'reasn'],
    [rebalance, 'xen1 xen2 rn:true', 'rn'],
  ])('%#: refused naming the unknown option, with the usage', (command, text, key) => {
    expect(refusal(command, text)).toEqual({ message: `unknown option ${key}`, usage: usageOf(command) });
  });

  it('is still a domain where a domain may be written host:domain', () => {
    expect(parseArgs(stop, { kind: 'text', text: 'xen1:web' })).toEqual(stop.args.parse({ domain: 'xen1:web' }));
    expect(parseArgs(audit, { kind: 'text', text: 'domain:xen1:web' })).toEqual(audit.args.parse({ domain: 'xen1:web' }));
    // A bad domain part is said as such, not as an unknown option `xen1`.
    expect(refusal(stop, 'xen1:we;b').message).toContain('"xen1:we;b" is not a valid domain name');
  });

  it('is still text in a free-text reason and in a quoted value', () => {
    expect(parseArgs(deny, { kind: 'text', text: 'K7Q2XM duplicate of id:P3RT5W' })).toEqual({
      id: 'K7Q2XM',
      reason: 'duplicate of id:P3RT5W',
    });
    expect(parseArgs(stop, { kind: 'text', text: 'web --reason "see ticket:123"' })['reason']).toBe('see ticket:123');
    expect(parseArgs(stop, { kind: 'text', text: 'web reason:"see ticket:123"' })['reason']).toBe('see ticket:123');
    expect(parseArgs(freeze, { kind: 'text', text: 'xen1 2h see ticket:123' })).toEqual({ hosts: 'xen1', reason: '2h see ticket:123' });
    expect(parseArgs(help, { kind: 'text', text: 'stop' })).toEqual({ command: 'stop' });
  });

  it('still says a value of several words goes in quotes when it follows an option', () => {
    expect(refusal(stop, 'web --reason see ticket:123').message).toBe(
      'unexpected argument "ticket:123" (a value of several words goes in quotes: --reason "…")',
    );
  });
});
