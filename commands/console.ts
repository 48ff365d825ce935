import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { reply } from '../src/core/reply.ts';
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
    const { lines, source } = o.result;
    const text = lines.join('\n');
    const long = lines.length > INLINE_LINES;
    return reply.result(
      `Console of ${o.result.domain} on ${o.host} (${source === 'log' ? 'console log' : 'live attach'})`,
      [
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
