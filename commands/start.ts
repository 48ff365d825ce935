import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';
import { DomainRef } from './domain-ref.ts';
import { failureBlocks } from './render-helpers.ts';

export const start = defineCommand({
  name: 'start',
  description: 'Start a defined domain (xl create from its config file)',
  args: z.strictObject({ domain: DomainRef.describe('domain name, or host:domain') }),
  positional: ['domain'],
  permission: 'domain.start',
  risk: 'write',
  scope: 'domain',
  op: 'domain.start',
  examples: ['/start mail', '/start xen1:mail'],
  job: (_args, target) => ({ op: 'domain.start', host: target.host, domain: target.domain ?? '' }),
  renderProgress: (p) => reply.progress('Starting', p.message, p.percent),
  render: ([o], args) => {
    if (!o?.ok) return reply.result(`Could not start ${args.domain}`, o ? failureBlocks([o]) : [], { tone: 'error' });
    const r = o.result;
    return r.outcome === 'already-running'
      ? reply.result(
          `${r.domain.name} is already running on ${o.host}`,
          [reply.text(`state ${r.domain.status}, id ${r.domain.id}; nothing was created`)],
          { tone: 'info' },
        )
      : reply.result(`${r.domain.name} started on ${o.host}`, [
          reply.text(`id ${r.domain.id}, state ${r.domain.status} (read back from the host)`),
        ]);
  },
});
