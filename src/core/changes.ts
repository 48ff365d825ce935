import type { FleetEvent } from '../queue/fleet-events.ts';
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
  /**
   * Up on `host` at the last post, up nowhere now, and what ended it unknown: its config is on another host too, so
   * it may have been migrated there and stopped (two snapshots alike), and "stopped on `host`" may be untrue.
   */
  | { kind: 'left'; host: string; domain: string }
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
 * domain changes (what happened there is unknown). Domain-0 is never reported. `events`: the agents' fleet events
 * since `prev` (oldest first), where known: what tells a guest migrated and then stopped from one stopped where it
 * was, two snapshots alike.
 */
export function diffSnapshots(prev: FleetSnapshot, cur: FleetSnapshot, events: readonly FleetEvent[] = []): FleetChange[] {
  const changes: FleetChange[] = [];
  const between = events.filter((e) => e.at >= prev.at && e.at <= cur.at);
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
      changes.push(...endOf(old, host, d !== undefined, cur, between));
    }
  }
  return changes;
}

/** Whether the event is of this guest: by UUID where both know it, else by name. */
function isOf(e: FleetEvent, d: SnapshotDomain): e is Extract<FleetEvent, { domain: string; uuid: string | null }> {
  if (!('uuid' in e) || !('domain' in e)) return false;
  return e.uuid && d.uuid ? e.uuid === d.uuid : e.domain === d.name;
}

/**
 * What became of a guest up on `host` at the last post and up nowhere now (`listed`: `host` still lists it). Its
 * config left on `host` reads as "stopped on `host`" even when it was migrated away and stopped there: the events
 * tell the migrations from `host` on, and where it ended; without them, a guest whose config is on another host too
 * (or which went down crashed there) is said only to run no more, and where it was.
 */
function endOf(old: SnapshotDomain, host: string, listed: boolean, cur: FleetSnapshot, events: readonly FleetEvent[]): FleetChange[] {
  const domain = old.name;
  const mine = events.filter((e) => isOf(e, old));
  const out: FleetChange[] = [];
  let at = host;
  let since = -1;
  for (const [i, e] of mine.entries()) {
    if (e.kind !== 'domain.migrated' || e.from !== at || e.host === at) continue;
    // To a host this post does not show: it left `at`, where to is not said.
    if (!Object.hasOwn(cur.hosts, e.host)) return [...out, { kind: 'left', host: at, domain }];
    out.push({ kind: 'migrated', host: e.host, from: at, domain });
    at = e.host;
    since = i;
  }
  const listedOn = (h: string) => cur.hosts[h]?.domains?.find((x) => (x.uuid && old.uuid ? x.uuid === old.uuid : x.name === domain));
  if (out.length > 0) {
    const there = listedOn(at);
    // Crashed there: that host's own comparison says so.
    if (there?.status === 'crashed') return out;
    const ended = mine
      .slice(since + 1)
      .find((e) => e.host === at && ['domain.stopped', 'domain.vanished', 'domain.crashed'].includes(e.kind));
    if (ended)
      out.push({
        kind: ended.kind === 'domain.stopped' ? 'stopped' : ended.kind === 'domain.crashed' ? 'crashed' : 'vanished',
        host: at,
        domain,
      });
    else if (there) out.push({ kind: 'stopped', host: at, domain });
    else out.push({ kind: cur.hosts[at]?.domains ? 'vanished' : 'left', host: at, domain });
    return out;
  }
  const endedHere = mine.some((e) => e.host === host && (e.kind === 'domain.stopped' || e.kind === 'domain.vanished'));
  const elsewhere = Object.keys(cur.hosts).some((h) => h !== host && listedOn(h) !== undefined);
  if (!endedHere && elsewhere) return [{ kind: 'left', host, domain }];
  return [{ kind: listed ? 'stopped' : 'vanished', host, domain }];
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
  left: '▼',
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
    case 'left':
      return `${mark} ${c.domain} no longer running (was on ${c.host})`;
    case 'unreachable':
      return `${mark} ${c.host} stopped answering (unreachable, or no agent)`;
    case 'reachable':
      return `${mark} ${c.host} answers again`;
    default:
      return `${mark} ${c.domain} ${c.kind} on ${c.host}`;
  }
}
