import type { Choice } from '../adapters/types.ts';
import type { Config } from '../config/schema.ts';
import { argumentRefusal } from '../core/arg-refusal.ts';
import { authorize, channelAllowsCommand, channelPolicy, domainLimited, identify } from '../core/authorize.ts';
import type { AnyCommand } from '../core/define-command.ts';
import { DOM0_NAME } from '../core/names.ts';
import type { Actor, Channel } from '../core/request.ts';
import type { DomainSummary } from '../core/xen.ts';
import { isMutating } from '../queue/ops.ts';
import type { FleetCache } from './fleet-cache.ts';

/**
 * Autocomplete choices (≤ 25) from the in-memory fleet, only what the actor may act on — and, given the channel, only
 * where the command could run (a disabled command, or a channel the allow-list or its command filter refuses it in,
 * offers nothing, as the command itself would be refused there). Pure over the cache.
 */
/** Whether the command's argument refuses a value (memoized: it runs on every keystroke). */
function refusedByArgument(command: AnyCommand, option: string): (value: string) => boolean {
  const known = new Map<string, boolean>();
  return (value) => {
    let refused = known.get(value);
    if (refused === undefined) {
      refused = argumentRefusal(command, option, value) !== null;
      known.set(value, refused);
    }
    return refused;
  };
}

export function autocompleteChoices(
  config: Config,
  fleet: FleetCache,
  command: AnyCommand | undefined,
  actor: Actor,
  option: string,
  partial: string,
  channel?: Channel,
): Choice[] {
  const who = identify(config, actor);
  if (!command || !who.ok || command.permission === null || config.commands[command.name]?.disabled) return [];
  if (channel) {
    const here = channelPolicy(config, actor.platform, channel);
    if (!here.allowed || !channelAllowsCommand(config, here.commands, command.name, command.permission)) return [];
  }
  const permission = command.permission;
  const p = partial.toLowerCase();
  const mutating = command.scope !== 'local' && isMutating(command.op);
  if (option === 'domain') {
    // Every keystroke runs this on the bot's one thread, over a fleet of up to thousands of hosts: the rules are asked
    // once per host (none of its guests, all of them, or some: then per guest), and of as few guests as the answer needs.
    const levels = new Map<string, 'none' | 'all' | 'some'>();
    const levelOf = (host: string) => {
      let level = levels.get(host);
      if (level === undefined) {
        // A host the permission does not reach is not one the pipeline looks a name up on (visibleHosts).
        if (!authorize(config, who.person, permission, { host }).allowed) level = 'none';
        else level = domainLimited(config, who.person, permission, host) ? 'some' : 'all';
        levels.set(host, level);
      }
      return level;
    };
    // A name the command's own argument refuses (/console's Domain-0) is refused as typed: never offered. Asked once
    // per name — Domain-0 is on every host.
    const argRefuses = refusedByArgument(command, option);
    const mayUse = (host: string, name: string) => {
      if (name === DOM0_NAME && mutating) return false;
      if (argRefuses(name)) return false;
      const level = levelOf(host);
      return level === 'all' || (level === 'some' && authorize(config, who.person, permission, { host, domain: name }).allowed);
    };
    // `xen1:mon`, typed as the ambiguous choices show it, narrows to that host's copy; a word without `:` matches names
    // alone (`h05` is not every domain of h0500–h0599).
    const typed = (host: string, name: string) => {
      const lower = name.toLowerCase();
      return lower.includes(p) || (p.includes(':') && `${host}:${lower}`.includes(p));
    };
    const picked: { host: string; domain: DomainSummary }[] = [];
    pick: for (const host of fleet.hostNames) {
      for (const domain of fleet.domains(host)) {
        if (picked.length === 25) break pick;
        if (typed(host, domain.name) && mayUse(host, domain.name)) picked.push({ host, domain });
      }
    }
    // Ambiguous among what the person may act on (as the pipeline resolves it): a copy outside their scope is not
    // hinted at by a `host:` prefix.
    const copies = new Map(picked.map(({ domain }) => [domain.name, 0]));
    for (const host of fleet.hostNames) {
      for (const { name } of fleet.domains(host)) {
        const n = copies.get(name);
        if (n !== undefined && n < 2 && mayUse(host, name)) copies.set(name, n + 1);
      }
    }
    return picked.map(({ host, domain }) => {
      const value = (copies.get(domain.name) ?? 0) > 1 ? `${host}:${domain.name}` : domain.name;
      return { name: `${value} (${host}, ${domain.status})`, value };
    });
  }
  if (option === 'host' || option === 'target') {
    // `xen1,xe` in an argument that takes a list (/list, /top…): the last host is completed, those before it kept. An
    // argument of one host refuses any such value, and is offered none.
    const parts = p.split(',').map((h) => h.trim());
    // `xen1, xe` as `xen1,xe`: the spaces a comma is often followed by are no part of a name.
    const last = parts.pop() ?? '';
    const listed = new Set(parts.filter((h) => h !== ''));
    const before = parts.length > 0 ? `${[...listed].join(',')},` : '';
    const argRefuses = parts.length === 0 ? () => false : refusedByArgument(command, option);
    const hosts: Choice[] = [];
    for (const h of fleet.hostNames) {
      if (hosts.length === 25) break;
      if (!h.includes(last) || listed.has(h) || !authorize(config, who.person, permission, { host: h }).allowed) continue;
      const value = `${before}${h}`;
      // Discord takes a choice of at most 100 characters.
      if (value.length <= 100 && !argRefuses(value)) hosts.push({ name: value, value });
    }
    return hosts;
  }
  return [];
}
