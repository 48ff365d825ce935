import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { reply } from '../src/core/reply.ts';
import type { ConsoleResult } from '../src/core/xen.ts';
import { failureBlocks } from './render-helpers.ts';

/** Lines shown inline; the whole snapshot always goes as a text attachment when longer. */
const INLINE_LINES = 15;

export const consoleCommand = defineCommand({
  name: 'console',
  description: 'The last lines of a domain console (xenconsoled log, else a 3 s attach)',
  args: z.strictObject({
    domain: DomainRefArg.describe('domain name, or host:domain'),
    lines: z.number().int().min(1).max(2000).default(20).describe('how many lines (1-2000)'),
  }),
  positional: ['domain', 'lines'],
  permission: 'domain.console',
  risk: 'read',
  scope: 'domain',
  op: 'domain.console',
  examples: ['/console web', '/console web 200'],
  job: (args, target) => ({ op: 'domain.console', host: target.host, domain: target.domain ?? '', lines: args.lines }),
  render: ([o], args) => {
    if (!o?.ok) return reply.result(`No console for ${formatDomainRef(args.domain)}`, o ? failureBlocks([o]) : [], { tone: 'error' });
    const { lines, source, status } = o.result;
    const text = lines.join('\n');
    const long = lines.length > INLINE_LINES;
    const state = stateNote(o.result.domain, o.host, status);
    return reply.result(
      `Console of ${o.result.domain} on ${o.host} (${source === 'log' ? 'console log' : 'live attach'})`,
      [
        ...(state ? [reply.text(state)] : []),
        reply.code(long ? lines.slice(-INLINE_LINES).join('\n') : text || '(no output)'),
        ...(long ? [reply.text(`last ${INLINE_LINES} of ${lines.length} lines shown; all in the attachment`)] : []),
      ],
      {
        tone: 'info',
        ...(long ? { attachments: [{ name: `${o.result.domain}-console.txt`, contentType: 'text/plain', data: `${text}\n` }] } : {}),
      },
    );
  },
});

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
