import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { hostsRunning, sameGuest } from '../src/core/fleet-view.ts';
import { reply } from '../src/core/reply.ts';
import { failureBlocks } from './render-helpers.ts';

export const start = defineCommand({
  name: 'start',
  description: 'Start a defined domain (xl create from its config file)',
  args: z.strictObject({ domain: DomainRefArg.describe('domain name, or host:domain') }),
  positional: ['domain'],
  permission: 'domain.start',
  risk: 'write',
  scope: 'domain',
  op: 'domain.start',
  examples: ['/start mail', '/start xen1:mail'],
  job: (_args, target) => ({ op: 'domain.start', host: target.host, domain: target.domain ?? '' }),
  // The agent checks again on every host right before `xl create`; this spares a queued job that must fail.
  precheck: (_args, target, { view, visible }) => {
    const self = view.domains(target.host).find((d) => d.name === target.domain) ?? { name: target.domain ?? '', uuid: null };
    const elsewhere = hostsRunning(
      view,
      view.hostNames.filter((h) => h !== target.host),
      (d) => sameGuest(d, self),
    );
    const where = elsewhere[0];
    if (!where) return null;
    return visible.includes(where)
      ? `${self.name} is running on ${where} — starting it on ${target.host} would run it twice`
      : `${self.name} is running on another host — starting it on ${target.host} would run it twice`;
  },
  renderProgress: (p) => reply.progress('Starting', p.message, p.percent),
  render: ([o], args) => {
    // An unknown outcome may still come about (the guest coming up after the connection dropped): not "could not".
    if (!o?.ok)
      return reply.result(
        o?.failure.code === 'outcomeUnknown'
          ? `Start of ${formatDomainRef(args.domain)}: outcome unknown`
          : `Could not start ${formatDomainRef(args.domain)}`,
        o ? failureBlocks([o]) : [],
        { tone: 'error' },
      );
    const r = o.result;
    return r.outcome === 'already-running'
      ? reply.result(
          `${r.domain.name} is already running on ${o.host}`,
          [
            reply.text(
              `${r.startedMeanwhile ? "started meanwhile outside xenops (xenops' create was refused: it already exists); " : ''}state ${r.domain.status}, id ${r.domain.id}; nothing was created`,
            ),
          ],
          { tone: 'info' },
        )
      : reply.result(`${r.domain.name} started on ${o.host}`, [
          reply.text(
            r.resumed
              ? `interrupted mid-way (an agent or Redis restart) and resumed; state read back: id ${r.domain.id}, ${r.domain.status}`
              : `id ${r.domain.id}, state ${r.domain.status} (read back from the host)`,
          ),
        ]);
  },
});
