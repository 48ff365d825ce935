import { z } from 'zod';
import { defineCommand, reasonArg } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { HostName } from '../src/core/names.ts';
import { reply } from '../src/core/reply.ts';
import type { DomainSummary } from '../src/core/xen.ts';
import { arrivedNotRunning, autostartLeftBehind, failureBlocks, runningNowhere } from './render-helpers.ts';

/** A migration across toolstacks, known from the config (the agent refuses one it detects, before sending it). */
function crossToolstack(domain: string, source: string, sourceKind: string, target: string, targetKind: string): string {
  return `${domain} cannot be migrated from ${source} (${sourceKind}) to ${target} (${targetKind}): xl migrate and xm migrate speak different protocols (xl streams to xl migrate-receive over ssh, xm talks to xend's relocation port); nothing was queued`;
}

/** Why a guest in this state cannot be migrated, as the agent would say it; null for a running (or blocked) one. */
function whyNotMigratable(d: DomainSummary, host: string, target: string): string | null {
  switch (d.status) {
    case 'running':
    case 'blocked':
      return null;
    case 'defined':
      return `${d.name} is not running on ${host} (defined there, not running): only a running guest can be migrated`;
    case 'paused':
      return `${d.name} is paused on ${host}: a migration would leave it running on ${target} — unpause it first if it should run there`;
    default:
      return `${d.name} is ${d.status} on ${host}: only a running guest can be migrated`;
  }
}

export const migrate = defineCommand({
  name: 'migrate',
  description: 'Live-migrate a domain to another host (xl migrate), verified on the target',
  args: z.strictObject({
    domain: DomainRefArg.describe('domain name, or host:domain'),
    target: HostName.describe('the host to move it to'),
    reason: reasonArg('the approver'),
  }),
  positional: ['domain', 'target'],
  permission: 'domain.migrate',
  risk: 'dangerous',
  scope: 'domain',
  op: 'domain.migrate',
  examples: ['/migrate web xen2', '/migrate web xen2 --reason "kernel upgrade on xen1"'],
  job: (args, target) => ({ op: 'domain.migrate', host: target.host, domain: target.domain ?? '', target: args.target }),
  touches: (args) => [args.target],
  precheck: (args, target, { toolstack, view }) => {
    if (args.target === target.host) return `${target.domain} is already on ${target.host}: nothing to move`;
    // Only a running guest can be migrated (the agent refuses the rest): said before an approver is asked. On the
    // cached view, this refusal is decided again on the hosts' fresh answer (pipeline: a precheck asks them first).
    const here = view.domains(target.host).find((d) => d.name === target.domain);
    const why = here ? whyNotMigratable(here, target.host, args.target) : null;
    if (why) return `${why}; nothing was queued`;
    const [from, to] = [toolstack?.(target.host), toolstack?.(args.target)];
    return from && to && from !== to ? crossToolstack(target.domain ?? '', target.host, from, args.target, to) : null;
  },
  renderProgress: (p) => reply.progress('Migrating', p.message, p.percent),
  render: ([o], args) => {
    // An unknown outcome may have moved the guest: "failed" would send someone to retry a migration that happened.
    if (!o?.ok)
      return reply.result(
        o?.failure.code === 'outcomeUnknown'
          ? `Migration of ${formatDomainRef(args.domain)}: outcome unknown`
          : `Migration of ${formatDomainRef(args.domain)} failed`,
        o ? failureBlocks([o]) : [],
        { tone: 'error' },
      );
    const r = o.result;
    // Reported done, then on neither host: not "failed" (it is not on the source to retry), and no state made up there.
    if (r.outcome === 'running-nowhere')
      return reply.result(
        `${r.name} left ${o.host} but is running on neither host: it is not on ${r.target}`,
        [reply.text(runningNowhere(r, o.host)), ...(r.sourceAutostart ? [reply.text(autostartLeftBehind(r.name, o.host))] : [])],
        { tone: 'error' },
      );
    if (r.outcome === 'already-on-target')
      return reply.result(`${r.domain.name} is already on ${r.target}`, [reply.text('nothing was moved')], { tone: 'info' });
    if (r.outcome === 'arrived-not-running')
      return reply.result(
        `${r.domain.name} moved from ${o.host} to ${r.target} but is not running there: ${r.domain.status}`,
        [reply.text(arrivedNotRunning(r)), ...(r.sourceAutostart ? [reply.text(autostartLeftBehind(r.domain.name, o.host))] : [])],
        { tone: 'error' },
      );
    return reply.result(
      `${r.domain.name} moved from ${o.host} to ${r.target}`,
      [
        reply.text(
          r.resumed
            ? `interrupted mid-way (an agent or Redis restart) and resumed; state read back: running on ${r.target} as id ${r.domain.id}`
            : `running on ${r.target} as id ${r.domain.id} (verified)`,
        ),
        ...(r.sourceAutostart ? [reply.text(autostartLeftBehind(r.domain.name, o.host))] : []),
      ],
      {
        ...(r.transcript.length > 0
          ? { attachments: [{ name: `migrate-${r.domain.name}.txt`, contentType: 'text/plain', data: `${r.transcript.join('\n')}\n` }] }
          : {}),
      },
    );
  },
});
