import { z } from 'zod';
import { defineCommand, reasonArg } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { reply } from '../src/core/reply.ts';
import { failureBlocks, noOpReason, pausedRefusal, shownRef } from './render-helpers.ts';

export const reboot = defineCommand({
  name: 'reboot',
  description: 'Reboot a domain gracefully (xl reboot); force destroys it and creates it again from its config file',
  args: z.strictObject({
    domain: DomainRefArg.describe('domain name, or host:domain'),
    force: z.boolean().default(false).describe('destroy and create again instead of asking the guest'),
    reason: reasonArg('the approver'),
  }),
  positional: ['domain'],
  permission: 'domain.reboot',
  risk: (args) => (args.force ? 'dangerous' : 'write'),
  scope: 'domain',
  op: 'domain.reboot',
  examples: ['/reboot web', '/reboot web --force', '/reboot xen1:web force:true'],
  job: (args, target) => ({ op: 'domain.reboot', host: target.host, domain: target.domain ?? '', force: args.force }),
  // A paused guest is refused a graceful reboot by the agent: said before an approver is asked for nothing.
  precheck: (args, target, { view }) => {
    const name = target.domain ?? '';
    return (
      noOpReason(view, target.host, name, 'reboot') ??
      (args.force ? null : pausedRefusal(view, target.host, name, 'reboot', shownRef(args.domain, target.host, name)))
    );
  },
  renderProgress: (p) => reply.progress('Rebooting', p.message, p.percent),
  render: ([o], args) => {
    // An unknown outcome may still come about (a slow guest acting on the request): "could not" would have it forced.
    if (!o?.ok)
      return reply.result(
        o?.failure.code === 'outcomeUnknown'
          ? `Reboot of ${formatDomainRef(args.domain)}: outcome unknown`
          : `Could not reboot ${formatDomainRef(args.domain)}`,
        o ? failureBlocks([o]) : [],
        { tone: 'error' },
      );
    const r = o.result;
    const name = r.domain?.name ?? args.domain.domain;
    if (r.outcome === 'not-running')
      return reply.result(`${name} is not running on ${o.host}`, [reply.text(`nothing was rebooted — /start ${name} starts it`)], {
        tone: 'info',
      });
    const d = r.domain;
    const now = d ? `id ${r.previousId ?? '?'} → ${d.id ?? '?'}, ${d.status}` : 'state unknown';
    const evidence = r.evidence === 'uptime' ? `same id ${d?.id}, up ${r.uptimeSeconds ?? '?'} s since the reboot` : now;
    const resumed = r.resumed ? 'interrupted mid-way (an agent or Redis restart) and resumed; state read back: ' : '';
    if (r.outcome === 'recreated' && r.startedMeanwhile)
      return reply.result(`${name} destroyed, and started again outside xenops, on ${o.host}`, [
        reply.text(
          `forced: destroyed, then started again meanwhile outside xenops (xenops' create from ${r.configPath ?? 'its config file'} was refused: it already exists) — ${now} (read back)`,
        ),
      ]);
    return r.outcome === 'recreated'
      ? reply.result(`${name} destroyed and created again on ${o.host}`, [
          reply.text(
            `forced: ${r.resumed ? '' : `destroyed, then created from ${r.configPath ?? 'its config file'} — `}${resumed}${now}${r.resumed ? '' : ' (read back)'}`,
          ),
        ])
      : reply.result(`${name} rebooted on ${o.host}`, [
          reply.text(`graceful (the guest rebooted itself): ${resumed}${evidence}${r.resumed ? '' : ' (read back)'}`),
        ]);
  },
});
