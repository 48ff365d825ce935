import { z } from 'zod';
import { CONSOLE_LINE_CHARS, dom0ConsoleRefusal } from '../src/core/console-snapshot.ts';
import { countText, cutAt } from '../src/core/cut-text.ts';
import { defineCommand } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { DOM0_NAME } from '../src/core/names.ts';
import { describeBytes } from '../src/core/remote-session.ts';
import { reply } from '../src/core/reply.ts';
import type { ConsoleResult } from '../src/core/xen.ts';
import { failureBlocks } from './render-helpers.ts';

/** Lines shown inline; the whole snapshot always goes as a text attachment when longer. */
const INLINE_LINES = 15;
/**
 * Characters of one line shown inline (cut with …, the attachment has it as read): 15 such lines, the title and the
 * notes stay within a Discord description and a Telegram message (4,096 each), which would otherwise become a file.
 */
const INLINE_LINE_CHARS = 200;

export const consoleCommand = defineCommand({
  name: 'console',
  description: 'The last lines of a domain console (xenconsoled log, else a 3 s attach)',
  args: z.strictObject({
    // Refused as typed, before it is looked up: the bare name is on every host, and "say which: xen1:Domain-0 or
    // xen2:Domain-0" would ask for what is refused next.
    domain: DomainRefArg.refine((ref) => ref.domain !== DOM0_NAME, {
      error: (issue) => dom0ConsoleRefusal((issue.input as { host?: string }).host),
    }).describe('domain name, or host:domain'),
    lines: z.number().int().min(1).max(2000).default(20).describe('how many lines (1-2000)'),
  }),
  positional: ['domain', 'lines'],
  permission: 'domain.console',
  risk: 'read',
  scope: 'domain',
  op: 'domain.console',
  examples: ['/console web', '/console web 200'],
  // Named by its UUID (Xen gives Domain-0 the nil UUID), it is known only once resolved.
  precheck: (_args, target) => (target.domain === DOM0_NAME ? dom0ConsoleRefusal(target.host) : null),
  job: (args, target) => ({ op: 'domain.console', host: target.host, domain: target.domain ?? '', lines: args.lines }),
  render: ([o], args) => {
    if (!o?.ok) return reply.result(`No console for ${formatDomainRef(args.domain)}`, o ? failureBlocks([o]) : [], { tone: 'error' });
    const { lines, source, status } = o.result;
    const text = lines.join('\n');
    let cutHere = 0;
    const shown = lines.slice(-INLINE_LINES).map((line) => {
      const c = cutAt(line, INLINE_LINE_CHARS);
      if (!c) return line;
      cutHere++;
      return `${c.kept}…`;
    });
    const more = lines.length > INLINE_LINES;
    const attach = more || cutHere > 0;
    const state = stateNote(o.result.domain, o.host, status);
    const notes = [
      ...(more ? [`last ${INLINE_LINES} of ${lines.length} lines shown; all in the attachment`] : []),
      ...(cutHere > 0
        ? [
            `${plural(cutHere, 'line')} cut here at ${INLINE_LINE_CHARS} characters (…); the attachment has ${cutHere === 1 ? 'it' : 'them'} as read`,
          ]
        : []),
      ...cutNotes(o.result, source),
    ];
    return reply.result(
      `Console of ${o.result.domain} on ${o.host} (${source === 'log' ? 'console log' : 'live attach'})`,
      [...(state ? [reply.text(state)] : []), reply.code(shown.join('\n') || '(no output)'), ...notes.map((n) => reply.text(n))],
      {
        tone: 'info',
        ...(attach ? { attachments: [{ name: `${o.result.domain}-console.txt`, contentType: 'text/plain', data: `${text}\n` }] } : {}),
      },
    );
  },
});

/** What the agent left out of the snapshot itself: lines cut at their length, and output before the bytes it read. */
function cutNotes(r: ConsoleResult, source: ConsoleResult['source']): string[] {
  const notes: string[] = [];
  if (r.longLines)
    notes.push(
      `${plural(r.longLines, 'line')} longer than ${countText(CONSOLE_LINE_CHARS)} characters ${r.longLines === 1 ? 'is' : 'are'} cut short, saying how much is not shown`,
    );
  if (r.readLimitBytes)
    notes.push(
      `only the last ${describeBytes(r.readLimitBytes)} of ${source === 'log' ? 'the console log were read' : 'what the attach captured are kept'}: ${plural(r.lines.length, 'line')}, the console printed more before`,
    );
  return notes;
}

/**
 * xenconsoled's log outlives its guest: the last lines of a domain that is gone (or paused) would otherwise read as a
 * live console sitting at its login prompt.
 */
function stateNote(domain: string, host: string, status: ConsoleResult['status']): string | null {
  switch (status) {
    case undefined:
    case 'running':
    case 'blocked':
      return null;
    case 'paused':
      return `${domain} is paused on ${host}: its console prints nothing until it is unpaused.`;
    case 'crashed':
      return `${domain} has crashed on ${host}: it is not running; these are the last lines its console printed.`;
    case 'absent':
    case 'defined':
      return `${domain} is not running on ${host}: these are the last lines its console printed.`;
    default:
      return `${domain} is not running on ${host} (it is ${status}): these are the last lines its console printed.`;
  }
}

function plural(n: number, noun: string): string {
  return `${countText(n)} ${noun}${n === 1 ? '' : 's'}`;
}
