import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { DomainRefArg } from '../src/core/domain-ref.ts';
import { reply } from '../src/core/reply.ts';
import { renderPause } from './pause.ts';
import { noOpReason } from './render-helpers.ts';

export const unpause = defineCommand({
  name: 'unpause',
  description: 'Let a paused domain run again (xl unpause)',
  args: z.strictObject({ domain: DomainRefArg.describe('domain name, or host:domain') }),
  positional: ['domain'],
  permission: 'domain.unpause',
  risk: 'write',
  scope: 'domain',
  op: 'domain.unpause',
  examples: ['/unpause web', '/unpause xen1:web'],
  job: (_args, target) => ({ op: 'domain.unpause', host: target.host, domain: target.domain ?? '' }),
  precheck: (_args, target, { view }) => noOpReason(view, target.host, target.domain ?? '', 'unpause'),
  renderProgress: (p) => reply.progress('Unpausing', p.message, p.percent),
  render: ([o], args) => renderPause(o, args.domain, false),
});
