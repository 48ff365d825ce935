import type { CapacityReading } from './placement.ts';
import type { DomainSummary } from './xen.ts';

/** What the bot last heard each host run: the pure pipeline resolves names and prechecks against it. */
export interface FleetView {
  readonly hostNames: readonly string[];
  /** Capacity read for this request just before it was decided (commands with `capacity`); absent otherwise. */
  readonly capacity?: CapacityReading;
  /** The host's domains as last listed (running and defined); empty when never heard from. */
  domains(host: string): readonly DomainSummary[];
  /**
   * Whether the host was ever heard from; with `domain`, whether its list was heard since that guest was last found
   * not running where the view had it run (moved or stopped outside xenops): an older list may not show where it runs.
   */
  known(host: string, domain?: string): boolean;
}

/** Hosts among `hosts` where a domain of this name (or UUID) is up: running, blocked, paused, crashed… not `defined`. */
export function hostsRunning(view: FleetView, hosts: readonly string[], match: (d: DomainSummary) => boolean): string[] {
  return hosts.filter((h) => view.domains(h).some((d) => match(d) && d.status !== 'defined'));
}

/** The same guest: same UUID where both sides report one, else the same name. */
export function sameGuest(a: { name: string; uuid: string | null }, b: { name: string; uuid: string | null }): boolean {
  return a.uuid && b.uuid ? a.uuid.toLowerCase() === b.uuid.toLowerCase() : a.name === b.name;
}
