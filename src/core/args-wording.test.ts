import { describe, expect, it } from 'vitest';
import { deny } from '../../commands/deny.ts';
import { evacuate } from '../../commands/evacuate.ts';
import { freeze } from '../../commands/freeze.ts';
import { rebalance } from '../../commands/rebalance.ts';
import { schedule } from '../../commands/schedule.ts';
import { show } from '../../commands/show.ts';
import { stop } from '../../commands/stop.ts';
import { unfreeze } from '../../commands/unfreeze.ts';
import { uptime } from '../../commands/uptime.ts';
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

  // It said "hosts: hosts: a host, hosts separated by commas, or all", and not what was typed.
  it('says what a list of hosts looks like once, with the value typed', () => {
    expect(refusal(freeze, 'Xen1 kernel upgrade')).toBe('hosts: expected a host, hosts separated by commas, or all, got "Xen1"');
    expect(refusal(unfreeze, 'xen1;xen2')).toBe('hosts: expected a host, hosts separated by commas, or all, got "xen1;xen2"');
    expect(refusal(unfreeze, 'xеn1')).toBe(
      'hosts: expected a host, hosts separated by commas, or all, got "xеn1"; it holds "е" (U+0435), which is not ASCII',
    );
  });

  // It said 'reason: reason: no control characters (got 1h ok\x07bell); "1h ok\u0007bell" holds "\u0007" (U+0007),
  // which is not ASCII': the name twice, and a control character, ASCII as it is, called not ASCII.
  it('says a control character in a reason once, as what it is', () => {
    expect(refusal(freeze, 'xen2 1h ok\u0007bell')).toBe('reason: no control characters (got 1h ok\\x07bell)');
    expect(refusal(uptime, 'xen\u00071')).toBe(
      'host: "xen\\u00071" is not a valid host name: must be 1-32 of a-z 0-9 _ - starting with a letter or digit; it holds "\\u0007" (U+0007), a control character',
    );
  });

  // It said "to.1: must be 1-32 of a-z 0-9 _ - …": zod's path, counted from 0, and not which host was wrong.
  it('names the host of a list that is wrong, not its index', () => {
    expect(refusal(evacuate, 'xen1 to xen2 Xen!')).toBe('to: "Xen!" must be 1-32 of a-z 0-9 _ - starting with a letter or digit');
    expect(refusal(rebalance, 'xen1 XEN2')).toBe('hosts: "XEN2" must be lower case: xen2');
    expect(refusal(rebalance, 'xen1 xеn2')).toBe(
      'hosts: "xеn2" must be 1-32 of a-z 0-9 _ - starting with a letter or digit; it holds "е" (U+0435), which is not ASCII',
    );
  });

  // It said "host: must be 1-32 of …" and not what was typed, where a bad domain name is named.
  it('names a bad host as typed, as a bad domain name is', () => {
    const rule = 'must be 1-32 of a-z 0-9 _ - starting with a letter or digit';
    expect(refusal(uptime, 'xen1|cat')).toBe(`host: "xen1|cat" is not a valid host name: ${rule}`);
    expect(refusal(uptime, 'h'.repeat(300))).toBe(`host: "${'h'.repeat(40)}…" is not a valid host name: ${rule}`);
    expect(refusal(uptime, '"xen1\u001b[2J"')).toBe(`host: "xen1\\u001b[2J" is not a valid host name: ${rule}`);
    expect(refusal(uptime, 'XEN1')).toBe('host: must be lower case: xen1');
  });

  it('says how long a domain name too long was', () => {
    expect(refusal(show, 'a'.repeat(70))).toBe(
      `domain: "${'a'.repeat(40)}…" is not a valid domain name: must start with a letter or digit and use only letters, digits and _ . : + - (70 characters; at most 64)`,
    );
  });

  it('keeps a schema’s own message', () => {
    expect(refusal(schedule, 'bogus')).toBe('action: expected add, list or remove, got "bogus"');
  });
});
