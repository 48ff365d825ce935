import { z } from 'zod';
import { defineCommand, reasonArg } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { reply } from '../src/core/reply.ts';
import { failureBlocks, noOpReason, pausedRefusal, shownRef } from './render-helpers.ts';

export const stop = defineCommand({
  name: 'stop',
  description: 'Shut a domain down gracefully; force destroys it at once',
  args: z.strictObject({
    domain: DomainRefArg.describe('domain name, or host:domain'),
    force: z.boolean().default(false).describe('destroy instead of a graceful shutdown'),
    reason: reasonArg('the approver'),
  }),
  positional: ['domain'],
  permission: 'domain.stop',
  risk: (args) => (args.force ? 'dangerous' : 'write'),
  scope: 'domain',
  op: 'domain.stop',
  examples: ['/stop web', '/stop web --force', '/stop web force:true'],
  job: (args, target) => ({ op: 'domain.stop', host: target.host, domain: target.domain ?? '', force: args.force }),
  // Only a guest the view shows defined (not running): a crashed, shut-down or dying one is cleared away by a stop. A
  // paused one is refused a graceful stop by the agent: said before an approver is asked for nothing.
  precheck: (args, target, { view }) => {
    const name = target.domain ?? '';
    return (
      noOpReason(view, target.host, name, 'stop') ??
      (args.force ? null : pausedRefusal(view, target.host, name, 'stop', shownRef(args.domain, target.host, name)))
    );
  },
  renderProgress: (p) => reply.progress('Stopping', p.message, p.percent),
  render: ([o], args) => {
    // An unknown outcome may still come about (a slow guest acting on the request): "could not" would have it forced.
    if (!o?.ok)
      return reply.result(
        o?.failure.code === 'outcomeUnknown'
          ? `Stop of ${formatDomainRef(args.domain)}: outcome unknown`
          : `Could not stop ${formatDomainRef(args.domain)}`,
        o ? failureBlocks([o]) : [],
        { tone: 'error' },
      );
    const r = o.result;
    const name = r.domain?.name ?? formatDomainRef(args.domain);
    if (r.outcome === 'already-stopped')
      return reply.result(
        `${name} is not running on ${o.host}`,
        [
          reply.text(
            r.stoppedMeanwhile
              ? `stopped meanwhile outside xenops (${args.force ? 'the destroy' : 'the shutdown'} xenops sent found no such domain); xenops stopped nothing`
              : 'nothing to do',
          ),
        ],
        { tone: 'info' },
      );
    return reply.result(`${name} ${r.outcome === 'destroyed' ? 'destroyed' : 'shut down'} on ${o.host}`, [
      reply.text(
        `${r.resumed ? 'interrupted mid-way (an agent or Redis restart) and resumed; state read back: ' : ''}${
          r.domain
            ? `now ${r.domain.status}${r.resumed ? '' : ' (read back from the host)'}`
            : `gone from the host${r.resumed ? '' : ' (read back)'}`
        }`,
      ),
    ]);
  },
});
