import { z } from 'zod';
import { defineCommand, type HostOutcome, reasonArg } from '../src/core/define-command.ts';
import { type DomainRef, DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { type Reply, reply } from '../src/core/reply.ts';
import { failureBlocks, noOpReason } from './render-helpers.ts';

/** pause and unpause answer alike: what was done (or why nothing was), as read back. */
export function renderPause(o: HostOutcome<'domain.pause' | 'domain.unpause'> | undefined, ref: DomainRef, pause: boolean): Reply {
  const verb = pause ? 'pause' : 'unpause';
  // An unknown outcome may have taken effect (xl acting before the connection dropped): "could not" would claim it did not.
  if (!o?.ok)
    return reply.result(
      o?.failure.code === 'outcomeUnknown'
        ? `${pause ? 'Pause' : 'Unpause'} of ${formatDomainRef(ref)}: outcome unknown`
        : `Could not ${verb} ${formatDomainRef(ref)}`,
      o ? failureBlocks([o]) : [],
      { tone: 'error' },
    );
  const r = o.result;
  const name = r.domain?.name ?? ref.domain;
  const state = r.domain ? `${r.domain.status} (${r.domain.flags})` : 'absent';
  const resumed = r.resumed ? 'interrupted mid-way (an agent or Redis restart) and resumed; state read back: ' : '';
  switch (r.outcome) {
    case 'not-running':
      return reply.result(`${name} is not running on ${o.host}`, [reply.text(`nothing to ${verb}`)], { tone: 'info' });
    case 'already-paused':
      return reply.result(`${name} is already paused on ${o.host}`, [reply.text(`${state}; nothing was sent`)], { tone: 'info' });
    case 'not-paused':
      return reply.result(`${name} is not paused on ${o.host}`, [reply.text(`${state}; nothing was sent`)], { tone: 'info' });
    case 'paused':
      return reply.result(`${name} paused on ${o.host}`, [reply.text(`${resumed}now ${state}${r.resumed ? '' : ' (read back)'}`)]);
    case 'unpaused':
      return reply.result(`${name} unpaused on ${o.host}`, [reply.text(`${resumed}now ${state}${r.resumed ? '' : ' (read back)'}`)]);
    default:
      return r.outcome satisfies never;
  }
}

export const pause = defineCommand({
  name: 'pause',
  description: 'Pause a running domain (xl pause): it keeps its memory but gets no CPU until unpaused',
  args: z.strictObject({
    domain: DomainRefArg.describe('domain name, or host:domain'),
    reason: reasonArg('the approver'),
  }),
  positional: ['domain'],
  permission: 'domain.pause',
  risk: 'write',
  scope: 'domain',
  op: 'domain.pause',
  examples: ['/pause web', '/pause xen1:web'],
  job: (_args, target) => ({ op: 'domain.pause', host: target.host, domain: target.domain ?? '' }),
  precheck: (_args, target, { view }) => noOpReason(view, target.host, target.domain ?? '', 'pause'),
  renderProgress: (p) => reply.progress('Pausing', p.message, p.percent),
  render: ([o], args) => renderPause(o, args.domain, true),
});
