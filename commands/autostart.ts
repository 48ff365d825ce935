import { z } from 'zod';
import { echoValue } from '../src/core/args.ts';
import { defineCommand, type PrecheckContext } from '../src/core/define-command.ts';
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

/**
 * Another host with an autostart entry for the domain, as the bot last heard the fleet: `where` is null when the asker
 * may not know that host (it is not named), `runs` whether the domain runs there. What `on` is refused for (both
 * would create it after a power cut), and what showing it says: after a migration the link stays on the host left.
 */
function startsElsewhere(
  name: string,
  host: string,
  { view, visible }: Pick<PrecheckContext, 'view' | 'visible'>,
): { where: string | null; runs: boolean } | null {
  for (const h of view.hostNames) {
    const d = h === host ? undefined : view.domains(h).find((x) => x.name === name && x.autostart);
    if (d) return { where: visible.includes(h) ? h : null, runs: d.status !== 'defined' && d.status !== 'shutdown' };
  }
  return null;
}

/** The read's warning for startsElsewhere: the guest boots there too when that host next boots. */
function elsewhereLine(name: string, other: { where: string | null; runs: boolean }): string {
  if (other.where === null) return `⚠ ${name} also starts with another host: it boots there too after that host boots again`;
  const there = other.runs ? 'where it runs too' : 'where it no longer runs';
  return `⚠ ${name} still starts with ${other.where}, ${there}: it boots there too after ${other.where} boots again (/autostart ${other.where}:${name} off ends that)`;
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
  precheck: (args, target, fleet) => {
    if (args.state !== 'on') return null;
    const name = target.domain ?? '';
    const other = startsElsewhere(name, target.host, fleet);
    if (!other) return null;
    return other.where !== null
      ? `${name} already starts with ${other.where} — autostarting it on ${target.host} too would boot it twice after a power cut; turn it off on ${other.where} first`
      : `${name} already starts with another host — autostarting it on ${target.host} too would boot it twice after a power cut`;
  },
  renderProgress: (p) => reply.progress('Autostart', p.message, p.percent),
  render: ([o], args, ctx) => {
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
      const other = ctx.fleet ? startsElsewhere(name, o.host, ctx.fleet) : null;
      const elsewhere = other ? [reply.text(elsewhereLine(name, other))] : [];
      const tone = other ? 'warning' : 'info';
      return d.autostart
        ? reply.result(
            `${AUTOSTART_MARK} ${name} starts with ${o.host}`,
            [reply.text(describeEntry(d.autostart)), ...elsewhere, config, ...notes],
            { tone },
          )
        : reply.result(
            `${name} does not start with ${o.host}`,
            [reply.text(`nothing for it in /etc/xen/auto`), ...elsewhere, config, ...notes],
            {
              tone,
            },
          );
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
