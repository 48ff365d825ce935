import type { FleetView } from '../core/fleet-view.ts';
import type { DomainSummary, ToolstackKind } from '../core/xen.ts';
import type { JobOp, JobResult } from '../queue/jobs.ts';

/**
 * What the bot last heard each host run: serves domain lookup, prechecks and autocomplete from memory (Discord
 * gives autocomplete 3 s and no defer), refreshed by every list result, every mutation's result and periodically.
 */
export class FleetCache implements FleetView {
  private readonly hosts = new Map<string, { domains: DomainSummary[]; updatedAt: number }>();
  private readonly toolstacks = new Map<string, ToolstackKind>();

  constructor(readonly hostNames: readonly string[]) {}

  update(host: string, domains: DomainSummary[], now = Date.now()): void {
    this.hosts.set(host, { domains, updatedAt: now });
  }

  /** The toolstack a host reported (`toolstack: auto` hosts), if heard from. */
  toolstackOf(host: string): ToolstackKind | undefined {
    return this.toolstacks.get(host);
  }

  /** Hosts never heard from. */
  coldHosts(): string[] {
    return this.hostNames.filter((h) => !this.hosts.has(h));
  }

  known(host: string): boolean {
    return this.hosts.has(host);
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

  /**
   * A host said it has no such domain (moved, renamed or removed outside xenops): dropped from that host, so the next
   * lookup of the name misses and asks the hosts again instead of sending it back there until the next refresh.
   */
  forget(host: string, name: string): void {
    const entry = this.hosts.get(host);
    if (entry) entry.domains = entry.domains.filter((d) => d.name !== name);
  }

  /** A finished job says what a host runs now: keep the view true between refreshes. `domain`: the job's domain. */
  applyResult(op: JobOp, host: string, result: unknown, domain?: string): void {
    switch (op) {
      case 'domain.list': {
        const r = result as JobResult<'domain.list'>;
        if (Array.isArray(r?.domains)) this.update(host, r.domains);
        if (r?.toolstack) this.toolstacks.set(host, r.toolstack);
        return;
      }
      case 'host.status': {
        // Its domains are a summary (no ids, no flags): only the toolstack is learnt, which an approval card's preview
        // of an evacuation (planned on a status read) needs.
        const r = result as JobResult<'host.status'>;
        if (r?.toolstack === 'xl' || r?.toolstack === 'xm') this.toolstacks.set(host, r.toolstack);
        return;
      }
      case 'domain.start': {
        const r = result as JobResult<'domain.start'>;
        if (r?.domain) this.upsert(host, r.domain);
        return;
      }
      case 'domain.stop': {
        const r = result as JobResult<'domain.stop'>;
        if (r?.domain) this.upsert(host, r.domain);
        // Read back as gone entirely (no config file on the host): nothing of that name is there any more.
        else if (r && r.domain === null && domain) this.forget(host, domain);
        return;
      }
      case 'domain.reboot':
      case 'domain.pause':
      case 'domain.unpause': {
        const r = result as JobResult<'domain.reboot' | 'domain.pause'>;
        if (r?.domain) this.upsert(host, r.domain);
        return;
      }
      case 'domain.autostart': {
        const r = result as JobResult<'domain.autostart'>;
        const known = this.domains(host).find((d) => d.name === r?.domain);
        if (!known || !r?.outcome) return;
        const on = r.outcome === 'enabled' || r.outcome === 'already-enabled';
        this.upsert(host, { ...known, autostart: on ? { path: r.path, target: r.target } : null });
        return;
      }
      case 'domain.migrate': {
        const r = result as JobResult<'domain.migrate'>;
        if (!r?.domain) return;
        const left = this.domains(host).find((d) => d.name === r.domain.name);
        if (left) this.upsert(host, { ...left, id: null, status: 'defined', flags: '', cpuSeconds: null });
        this.upsert(r.target, r.domain);
        return;
      }
      default:
        return;
    }
  }

  private upsert(host: string, domain: DomainSummary): void {
    const entry = this.hosts.get(host);
    if (!entry) return;
    const others = entry.domains.filter((d) => d.name !== domain.name);
    entry.domains = [...others, domain];
  }
}
