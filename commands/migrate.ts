import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { HostName } from '../src/core/names.ts';
import { reply } from '../src/core/reply.ts';
import { autostartLeftBehind, failureBlocks } from './render-helpers.ts';

/** A migration across toolstacks, known from the config (the agent refuses one it detects, before sending it). */
function crossToolstack(domain: string, source: string, sourceKind: string, target: string, targetKind: string): string {
  return `${domain} cannot be migrated from ${source} (${sourceKind}) to ${target} (${targetKind}): xl migrate and xm migrate speak different protocols (xl streams to xl migrate-receive over ssh, xm talks to xend's relocation port); nothing was queued`;
}

export const migrate = defineCommand({
  name: 'migrate',
  description: 'Live-migrate a domain to another host (xl migrate), verified on the target',
  args: z.strictObject({
    domain: DomainRefArg.describe('domain name, or host:domain'),
    target: HostName.describe('the host to move it to'),
  }),
  positional: ['domain', 'target'],
  permission: 'domain.migrate',
  risk: 'dangerous',
  scope: 'domain',
  op: 'domain.migrate',
  examples: ['/migrate web xen2'],
  job: (args, target) => ({ op: 'domain.migrate', host: target.host, domain: target.domain ?? '', target: args.target }),
  touches: (args) => [args.target],
  precheck: (args, target, { toolstack }) => {
    if (args.target === target.host) return `${target.domain} is already on ${target.host}: nothing to move`;
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
    if (r.outcome === 'already-on-target')
      return reply.result(`${r.domain.name} is already on ${r.target}`, [reply.text('nothing was moved')], { tone: 'info' });
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
