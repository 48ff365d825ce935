import { migratingName } from './names.ts';
import type { DomainStatus } from './xen.ts';

/**
 * What changed in the fleet between two status posts. Pure: the relay snapshots each scheduled status post and
 * compares it with the schedule's previous one.
 */
export interface SnapshotDomain {
  name: string;
  uuid: string | null;
  status: DomainStatus;
}

export interface FleetSnapshot {
  at: number;
  /** Hosts that answered, with every domain (defined ones too); an unreachable host has `domains: null`. */
  hosts: Record<string, { domains: SnapshotDomain[] | null }>;
}

export type FleetChange =
  | { kind: 'started' | 'stopped' | 'crashed' | 'appeared' | 'vanished'; host: string; domain: string }
  /** `xl pause` / `xl unpause`: up in both posts, its vCPUs held or let run again. */
  | { kind: 'paused' | 'unpaused'; host: string; domain: string }
  | { kind: 'migrated'; host: string; from: string; domain: string }
  /** `xl rename`: the same guest (its UUID) under a new name on the same host. */
  | { kind: 'renamed'; host: string; oldName: string; domain: string }
  | { kind: 'unreachable' | 'reachable'; host: string };

/** Running in some form: idle (blocked) and paused guests are up; crashed ones are reported as crashed. */
function isUp(status: DomainStatus): boolean {
  return status === 'running' || status === 'blocked' || status === 'paused' || status === 'dying';
}

/** The same guest across hosts: by UUID where both sides know it, else by name. */
function keyOf(d: SnapshotDomain): string {
  return d.uuid ? `uuid:${d.uuid}` : `name:${d.name}`;
}

/**
 * A guest up in both posts, paused in one only. Dying is neither: a guest on its way down is no pause let go. xl's
 * names of a migration under way are not looked at: its receiving side is paused until the guest lands.
 */
function pauseChange(was: DomainStatus, is: DomainStatus, name: string): 'paused' | 'unpaused' | null {
  if (migratingName(name) !== null) return null;
  const running = (s: DomainStatus) => s === 'running' || s === 'blocked';
  if (running(was) && is === 'paused') return 'paused';
  if (was === 'paused' && running(is)) return 'unpaused';
  return null;
}

/**
 * Changes from `prev` to `cur`, in host order. Hosts unreachable in either snapshot say so and contribute no
 * domain changes (what happened there is unknown). Domain-0 is never reported.
 */
export function diffSnapshots(prev: FleetSnapshot, cur: FleetSnapshot): FleetChange[] {
  const changes: FleetChange[] = [];
  const hosts = [...new Set([...Object.keys(prev.hosts), ...Object.keys(cur.hosts)])].sort();
  // Where each guest was up before, and how, to tell a migration from a start (and one that left it paused).
  const upBefore = new Map<string, { host: string; status: DomainStatus }>();
  const knownBefore = new Set<string>();
  for (const [host, h] of Object.entries(prev.hosts))
    for (const d of h.domains ?? []) {
      knownBefore.add(d.name);
      if (isUp(d.status)) upBefore.set(keyOf(d), { host, status: d.status });
    }
  const upNow = new Map<string, string>();
  for (const [host, h] of Object.entries(cur.hosts)) for (const d of h.domains ?? []) if (isUp(d.status)) upNow.set(keyOf(d), host);

  for (const host of hosts) {
    const before = prev.hosts[host]?.domains;
    const now = cur.hosts[host]?.domains;
    if (before !== undefined && now === null && before !== null) {
      changes.push({ kind: 'unreachable', host });
      continue;
    }
    if (before === null && now) changes.push({ kind: 'reachable', host });
    if (!before || !now) continue;
    const was = new Map(before.filter((d) => d.name !== 'Domain-0').map((d) => [d.name, d]));
    const is = new Map(now.filter((d) => d.name !== 'Domain-0').map((d) => [d.name, d]));
    const renamed = renamesOf(was, is);
    const oldNames = new Set(renamed.values());
    for (const [name, d] of is) {
      const oldName = renamed.get(name);
      if (oldName !== undefined) changes.push({ kind: 'renamed', host, oldName, domain: name });
      // Renamed: compared with itself under its old name (a guest renamed and crashed or paused meanwhile is said so too).
      const old = oldName === undefined ? was.get(name) : was.get(oldName);
      if (d.status === 'crashed') {
        if (old?.status !== 'crashed') changes.push({ kind: 'crashed', host, domain: name });
        continue;
      }
      if (!isUp(d.status)) continue;
      if (old && isUp(old.status)) {
        const paused = pauseChange(old.status, d.status, name);
        if (paused) changes.push({ kind: paused, host, domain: name });
        continue;
      }
      const from = upBefore.get(keyOf(d));
      if (from !== undefined && from.host !== host) {
        changes.push({ kind: 'migrated', host, from: from.host, domain: name });
        // `xl migrate -p` leaves it paused on its new host; a paused guest migrated runs there.
        const paused = pauseChange(from.status, d.status, name);
        if (paused) changes.push({ kind: paused, host, domain: name });
      } else if (old || knownBefore.has(name)) changes.push({ kind: 'started', host, domain: name });
      else changes.push({ kind: 'appeared', host, domain: name });
    }
    for (const [name, old] of was) {
      if (oldNames.has(name)) continue;
      if (!isUp(old.status)) {
        if (!is.has(name) && old.status !== 'crashed') changes.push({ kind: 'vanished', host, domain: name });
        continue;
      }
      const d = is.get(name);
      if (d && (isUp(d.status) || d.status === 'crashed')) continue;
      // Up elsewhere now: reported once, as the migration on its new host.
      const elsewhere = upNow.get(keyOf(old));
      if (elsewhere !== undefined && elsewhere !== host) continue;
      changes.push({ kind: d ? 'stopped' : 'vanished', host, domain: name });
    }
  }
  return changes;
}

/**
 * New name → old name of the host's guests renamed between two snapshots: one up before under a name it no longer
 * runs under, and up now under a name it did not have, the same UUID on both sides. Only by UUID: a snapshot has no
 * domain id, and a name alone would take a guest destroyed and another created for one. xl's names of a migration
 * under way (`web--migratedaway`) are no rename.
 */
function renamesOf(was: ReadonlyMap<string, SnapshotDomain>, is: ReadonlyMap<string, SnapshotDomain>): Map<string, string> {
  const byUuid = new Map<string, SnapshotDomain>();
  for (const d of was.values()) if (d.uuid && isUp(d.status) && migratingName(d.name) === null) byUuid.set(d.uuid, d);
  const out = new Map<string, string>();
  for (const [name, d] of is) {
    const old = d.uuid ? byUuid.get(d.uuid) : undefined;
    if (!old || old.name === name || was.get(name)?.uuid === d.uuid || migratingName(name) !== null) continue;
    if (!(isUp(d.status) || d.status === 'crashed')) continue;
    // Still running under its old name too (the same UUID twice: a snapshot of no real host) is no rename.
    if (is.get(old.name)?.uuid === d.uuid) continue;
    out.set(name, old.name);
  }
  return out;
}

const MARKS: Record<FleetChange['kind'], string> = {
  started: '▲',
  stopped: '▼',
  crashed: '✖',
  migrated: '⇄',
  renamed: '✎',
  paused: '⏸',
  unpaused: '▶',
  appeared: '+',
  vanished: '−',
  unreachable: '⚠',
  reachable: '✔',
};

/** "▲ mail started on xen1", "⇄ web migrated xen1 → xen2", "✎ web renamed www on xen1". */
export function describeChange(c: FleetChange): string {
  const mark = MARKS[c.kind];
  switch (c.kind) {
    case 'migrated':
      return `${mark} ${c.domain} migrated ${c.from} → ${c.host}`;
    case 'renamed':
      return `${mark} ${c.oldName} renamed ${c.domain} on ${c.host}`;
    case 'unreachable':
      return `${mark} ${c.host} stopped answering (unreachable, or no agent)`;
    case 'reachable':
      return `${mark} ${c.host} answers again`;
    default:
      return `${mark} ${c.domain} ${c.kind} on ${c.host}`;
  }
}
