import type { Choice } from '../adapters/types.ts';
import type { Config } from '../config/schema.ts';
import { authorize, identify } from '../core/authorize.ts';
import type { AnyCommand } from '../core/define-command.ts';
import { DOM0_NAME } from '../core/names.ts';
import type { Actor } from '../core/request.ts';
import { isMutating } from '../queue/ops.ts';
import type { FleetCache } from './fleet-cache.ts';

/** Autocomplete choices (≤ 25) from the in-memory fleet, only what the actor may act on. Pure over the cache. */
export function autocompleteChoices(
  config: Config,
  fleet: FleetCache,
  command: AnyCommand | undefined,
  actor: Actor,
  option: string,
  partial: string,
): Choice[] {
  const who = identify(config, actor);
  if (!command || !who.ok || command.permission === null) return [];
  const permission = command.permission;
  const p = partial.toLowerCase();
  const mutating = command.scope !== 'local' && isMutating(command.op);
  if (option === 'domain') {
    const mine = fleet
      .allDomains()
      .filter(({ domain }) => domain.name !== DOM0_NAME || !mutating)
      .filter(({ host, domain }) => authorize(config, who.person, permission, { host, domain: domain.name }).allowed);
    // Ambiguous among what the person may act on (as the pipeline resolves it): a copy outside their scope is not
    // hinted at by a `host:` prefix.
    const copies = new Map<string, number>();
    for (const { domain } of mine) copies.set(domain.name, (copies.get(domain.name) ?? 0) + 1);
    // `xen1:mon`, typed as the ambiguous choices show it, narrows to that host's copy; a word without `:` matches names
    // alone (`h05` is not every domain of h0500–h0599).
    const typed = ({ host, domain }: { host: string; domain: { name: string } }) => {
      const name = domain.name.toLowerCase();
      return name.includes(p) || (p.includes(':') && `${host}:${name}`.includes(p));
    };
    return mine
      .filter(typed)
      .map(({ host, domain }) => {
        const ambiguous = (copies.get(domain.name) ?? 0) > 1;
        const value = ambiguous ? `${host}:${domain.name}` : domain.name;
        return { name: `${value} (${host}, ${domain.status})`, value };
      })
      .slice(0, 25);
  }
  if (option === 'host' || option === 'target') {
    return fleet.hostNames
      .filter((h) => h.includes(p) && authorize(config, who.person, permission, { host: h }).allowed)
      .map((h) => ({ name: h, value: h }))
      .slice(0, 25);
  }
  return [];
}
