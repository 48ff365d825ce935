import type { DomainSummary } from '../agent/toolstack/types.ts';

/**
 * What the bot last heard each host run: serves domain lookup and autocomplete from memory (Discord gives
 * autocomplete 3 s and no defer), refreshed by every list result and periodically.
 */
export class FleetCache {
  private readonly hosts = new Map<string, { domains: DomainSummary[]; updatedAt: number }>();

  constructor(readonly hostNames: readonly string[]) {}

  update(host: string, domains: DomainSummary[], now = Date.now()): void {
    this.hosts.set(host, { domains, updatedAt: now });
  }

  /** Hosts never heard from. */
  coldHosts(): string[] {
    return this.hostNames.filter((h) => !this.hosts.has(h));
  }

  domains(host: string): DomainSummary[] {
    return this.hosts.get(host)?.domains ?? [];
  }

  /** Hosts that have a domain of this name (running or defined). */
  hostsOf(domain: string): string[] {
    return this.hostNames.filter((h) => this.domains(h).some((d) => d.name === domain));
  }

  allDomains(): { host: string; domain: DomainSummary }[] {
    return this.hostNames.flatMap((host) => this.domains(host).map((domain) => ({ host, domain })));
  }
}

export type DomainResolution =
  | { ok: true; host: string; domain: string }
  | { ok: false; code: 'domain.notFound' | 'domain.ambiguous'; message: string };

/** `web` → the one host that has it; `xen1:web` → xen1. Pure, over a cache snapshot. */
export function resolveDomain(cache: FleetCache, ref: { host: string | null; domain: string }): DomainResolution {
  if (ref.host !== null) {
    if (!cache.hostNames.includes(ref.host)) return { ok: false, code: 'domain.notFound', message: `no host named ${ref.host}` };
    return { ok: true, host: ref.host, domain: ref.domain };
  }
  const hosts = cache.hostsOf(ref.domain);
  if (hosts.length === 1 && hosts[0]) return { ok: true, host: hosts[0], domain: ref.domain };
  if (hosts.length === 0)
    return { ok: false, code: 'domain.notFound', message: `no domain named ${ref.domain} on ${cache.hostNames.join(', ')}` };
  return {
    ok: false,
    code: 'domain.ambiguous',
    message: `${ref.domain} exists on ${hosts.join(' and ')}; say which: ${hosts.map((h) => `${h}:${ref.domain}`).join(' or ')}`,
  };
}
