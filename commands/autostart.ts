import { z } from 'zod';
import { echoValue } from '../src/core/args.ts';
import { defineCommand } from '../src/core/define-command.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { reply } from '../src/core/reply.ts';
import type { AutostartEntry, DomainSummary } from '../src/core/xen.ts';
import { AUTOSTART_MARK, failureBlocks } from './render-helpers.ts';

const Args = z.strictObject({
  domain: DomainRefArg.describe('domain name, or host:domain'),
  state: z
    .enum(['on', 'off'], { error: (issue) => `expected on or off, got ${echoValue(issue.input)}` })
    .optional()
    .describe('on or off; leave out to show it'),
});

function describeEntry(e: AutostartEntry): string {
  return e.target === null ? `${e.path} (the config file itself)` : `${e.path} → ${e.target}`;
}

/** Showing reads the host's list (a read: no lock, no freeze, no approval); on/off change the link under the lock. */
export const autostart = defineCommand<typeof Args, 'domain.autostart' | 'domain.list'>({
  name: 'autostart',
  description: 'Show or set whether a domain starts with its host (a link in /etc/xen/auto, as xendomains reads it)',
  args: Args,
  positional: ['domain', 'state'],
  permission: 'domain.autostart',
  risk: (args) => (args.state ? 'write' : 'read'),
  scope: 'domain',
  op: 'domain.autostart',
  examples: ['/autostart mail', '/autostart mail on', '/autostart xen1:mail off'],
  job: (args, target) =>
    args.state
      ? { op: 'domain.autostart', host: target.host, domain: target.domain ?? '', enable: args.state === 'on' }
      : { op: 'domain.list', host: target.host },
  // The agent checks every other host again right before `ln -s`; this spares a queued job that must fail.
  precheck: (args, target, { view, visible }) => {
    if (args.state !== 'on') return null;
    const name = target.domain ?? '';
    const where = view.hostNames.find((h) => h !== target.host && view.domains(h).some((d) => d.name === name && d.autostart));
    if (!where) return null;
    return visible.includes(where)
      ? `${name} already starts with ${where} — autostarting it on ${target.host} too would boot it twice after a power cut; turn it off on ${where} first`
      : `${name} already starts with another host — autostarting it on ${target.host} too would boot it twice after a power cut`;
  },
  renderProgress: (p) => reply.progress('Autostart', p.message, p.percent),
  render: ([o], args) => {
    const ref = formatDomainRef(args.domain);
    // A change whose outcome is unknown may have been made (the link written before the connection dropped).
    if (!o?.ok)
      return reply.result(
        o?.failure.code === 'outcomeUnknown'
          ? `Autostart change of ${ref}: outcome unknown`
          : `Could not ${args.state ? 'change' : 'read'} the autostart of ${ref}`,
        o ? failureBlocks([o]) : [],
        { tone: 'error' },
      );
    const r = o.result;
    if ('domains' in r) {
      const name = args.domain.domain;
      const d: DomainSummary | undefined = r.domains.find((x) => x.name === name);
      const notes = (r.notes ?? []).map((n) => reply.text(`⚠ ${o.host}: ${n}`));
      if (!d) return reply.result(`No domain ${name} on ${o.host}`, notes, { tone: 'error' });
      if (d.autostart === undefined)
        return reply.result(
          `Cannot tell whether ${name} starts with ${o.host}`,
          notes.length > 0 ? notes : [reply.text('the agent did not read /etc/xen/auto')],
          {
            tone: 'warning',
          },
        );
      const config = reply.text(d.configPath ? `config file: ${d.configPath}` : 'no config file found for it');
      return d.autostart
        ? reply.result(`${AUTOSTART_MARK} ${name} starts with ${o.host}`, [reply.text(describeEntry(d.autostart)), config, ...notes], {
            tone: 'info',
          })
        : reply.result(`${name} does not start with ${o.host}`, [reply.text(`nothing for it in /etc/xen/auto`), config, ...notes], {
            tone: 'info',
          });
    }
    const how = r.resumed ? 'interrupted mid-way (an agent or Redis restart) and resumed; read back: ' : '';
    const back = r.resumed ? '' : ' (read back)';
    switch (r.outcome) {
      case 'enabled':
        return reply.result(`${AUTOSTART_MARK} ${r.domain} now starts with ${o.host}`, [
          reply.text(`${how}${r.path} → ${r.target}${back}`),
        ]);
      case 'already-enabled':
        return reply.result(
          `${r.domain} already starts with ${o.host}`,
          [reply.text(`${describeEntry({ path: r.path, target: r.target })}; nothing was changed`)],
          { tone: 'info' },
        );
      case 'disabled':
        return reply.result(`${r.domain} no longer starts with ${o.host}`, [reply.text(`${how}${r.path} is gone${back}`)]);
      case 'already-disabled':
        return reply.result(
          `${r.domain} does not start with ${o.host}`,
          [reply.text('nothing in /etc/xen/auto for it; nothing was changed')],
          {
            tone: 'info',
          },
        );
      default:
        return r.outcome satisfies never;
    }
  },
});
