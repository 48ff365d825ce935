import type { FleetView } from '../core/fleet-view.ts';
import type { DomainSummary, ToolstackKind } from '../core/xen.ts';
import type { JobOp, JobResult } from '../queue/jobs.ts';

/**
 * What the bot last heard each host run: serves domain lookup, prechecks and autocomplete from memory (Discord
 * gives autocomplete 3 s and no defer), refreshed by every list result, every mutation's result and periodically.
 */
export class FleetCache implements FleetView {
  private readonly hosts = new Map<string, { domains: DomainSummary[]; updatedAt: number; heard: number }>();
  private readonly toolstacks = new Map<string, ToolstackKind>();
  /** Orders what was heard: each host's last list, and each guest found not running where this view had it run. */
  private heard = 0;
  /**
   * Guests a host found not running where this view had them run (moved or stopped outside xenops), and when: a list
   * heard before that may not tell where such a guest runs now.
   */
  private readonly left = new Map<string, number>();

  constructor(readonly hostNames: readonly string[]) {}

  update(host: string, domains: DomainSummary[], now = Date.now()): void {
    this.hosts.set(host, { domains, updatedAt: now, heard: ++this.heard });
    // Once every host was heard from since a guest left one, its whereabouts are known again.
    if (this.left.size === 0) return;
    const oldest = this.hostNames.reduce((min, h) => Math.min(min, this.hosts.get(h)?.heard ?? 0), Number.POSITIVE_INFINITY);
    for (const [name, at] of this.left) if (at < oldest) this.left.delete(name);
  }

  /** The toolstack a host reported (`toolstack: auto` hosts), if heard from. */
  toolstackOf(host: string): ToolstackKind | undefined {
    return this.toolstacks.get(host);
  }

  /** Hosts never heard from. */
  coldHosts(): string[] {
    return this.hostNames.filter((h) => !this.hosts.has(h));
  }

  /**
   * Whether the host was heard from; with `domain`, since that guest was last found not running where this view had
   * it run (a list from before may not show where it runs now).
   */
  known(host: string, domain?: string): boolean {
    const entry = this.hosts.get(host);
    if (!entry) return false;
    const left = domain === undefined ? undefined : this.left.get(domain);
    return left === undefined || entry.heard > left;
  }

  /** When the host's last list was heard (epoch ms), if ever: what it says is no older than that. */
  listedAt(host: string): number | undefined {
    return this.hosts.get(host)?.updatedAt;
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
        if (r?.outcome === 'already-stopped' && domain) this.notRunning(host, domain);
        if (r?.domain) this.upsert(host, r.domain);
        // Read back as gone entirely (no config file on the host): nothing of that name is there any more.
        else if (r && r.domain === null && domain) this.forget(host, domain);
        return;
      }
      case 'domain.reboot':
      case 'domain.pause':
      case 'domain.unpause': {
        const r = result as JobResult<'domain.reboot' | 'domain.pause'>;
        if (r?.outcome === 'not-running' && domain) {
          this.notRunning(host, domain);
          if (r.domain === null) this.forget(host, domain);
        }
        if (r?.domain) this.upsert(host, r.domain);
        return;
      }
      case 'domain.show': {
        // The page carries the domain's row of the host's list (null: the host has no such domain).
        const r = result as JobResult<'domain.show'>;
        if (!r || r.summary === undefined || !domain) return;
        if (r.summary === null || r.summary.status === 'defined') this.notRunning(host, domain);
        if (r.summary) this.upsert(host, r.summary);
        else this.forget(host, domain);
        return;
      }
      case 'domain.console': {
        const r = result as JobResult<'domain.console'>;
        if (domain && (r?.status === 'defined' || r?.status === 'absent')) this.notRunning(host, domain);
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
        // Running on neither host: not running on the source any more, and nothing known to put on the target.
        if (r?.outcome === 'running-nowhere') {
          this.notRunning(host, r.name);
          return;
        }
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

  /**
   * The host found the guest not running. Where this view had it run there, it moved or stopped outside xenops: the
   * other hosts' lists, heard before, may not show where it runs now, and a lookup of the name asks them again
   * (pipeline: hosts not `known` for the name). Marked stopped here (a host that has no copy at all is forgotten).
   */
  private notRunning(host: string, name: string): void {
    const was = this.domains(host).find((d) => d.name === name);
    if (!was || was.status === 'defined') return;
    this.left.set(name, ++this.heard);
    this.upsert(host, { ...was, id: null, status: 'defined', flags: '', cpuSeconds: null });
  }

  private upsert(host: string, domain: DomainSummary): void {
    const entry = this.hosts.get(host);
    if (!entry) return;
    const others = entry.domains.filter((d) => d.name !== domain.name);
    entry.domains = [...others, domain];
  }
}
