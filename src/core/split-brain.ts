import { sameGuest } from './fleet-view.ts';
import { migratingName } from './names.ts';

/** One copy of a guest on a host, as a sample or a list shows it. */
export interface GuestCopy {
  host: string;
  name: string;
  /** From `xl list -v`, where known (xentop prints none; xm hosts give none). */
  uuid: string | null;
}

/** A guest up on more than one host at once: its names (sorted; one unless a copy was renamed) and hosts (sorted). */
export interface RunningTwice {
  /** What it is known by across checks: its names as JSON (a name may hold spaces). */
  key: string;
  names: string[];
  hosts: string[];
  /** Its copies' UUIDs where known (lower case, sorted): how it is told again once a copy is renamed. */
  uuids: string[];
}

/**
 * xl's names for the two halves of a migration under way: the receiver's paused copy and the sender's suspended
 * one, both with the guest's UUID. Never a second running copy.
 */
export function migrationLeftover(name: string): boolean {
  return migratingName(name) !== null;
}

/**
 * Whether a copy in xentop's state (six characters, d s b c p r) can write to its disks now: not paused (a
 * migration's receiving copy waits paused until the sender has stopped), not shut down, crashed or dying.
 */
export function writesNow(state: string): boolean {
  return state[0] !== 'd' && state[1] !== 's' && state[3] !== 'c' && state[4] !== 'p';
}

/**
 * The guests that run on two hosts or more at once. Two copies are one guest as /start reads it (README: "A guest
 * runs at most once in the fleet"): the same UUID where both sides know one, else the same name — so two guests an
 * operator named alike on purpose, each with its own UUID, are not one. Domain-0 and xl's migration halves never are.
 * Copies are only compared within a name or a UUID: a fleet of thousands is no pairwise product.
 */
export function runningTwice(copies: readonly GuestCopy[]): RunningTwice[] {
  const candidates = copies.filter((c) => c.name !== 'Domain-0' && !migrationLeftover(c.name));
  const parent = candidates.map((_, i) => i);
  const root = (i: number): number => {
    let r = i;
    while (parent[r] !== r) r = parent[r] as number;
    parent[i] = r;
    return r;
  };
  const buckets = new Map<string, number[]>();
  candidates.forEach((c, i) => {
    for (const k of [`n:${c.name}`, ...(c.uuid ? [`u:${c.uuid.toLowerCase()}`] : [])]) {
      const bucket = buckets.get(k) ?? [];
      bucket.push(i);
      buckets.set(k, bucket);
    }
  });
  for (const bucket of buckets.values())
    for (let a = 0; a < bucket.length; a++)
      for (let b = a + 1; b < bucket.length; b++) {
        const i = bucket[a] as number;
        const j = bucket[b] as number;
        if (candidates[i]?.host !== candidates[j]?.host && sameGuest(candidates[i] as GuestCopy, candidates[j] as GuestCopy))
          parent[root(i)] = root(j);
      }
  const groups = new Map<number, GuestCopy[]>();
  candidates.forEach((c, i) => {
    const g = groups.get(root(i)) ?? [];
    g.push(c);
    groups.set(root(i), g);
  });
  const out: RunningTwice[] = [];
  for (const g of groups.values()) {
    const hosts = [...new Set(g.map((c) => c.host))].sort();
    if (hosts.length < 2) continue;
    const names = [...new Set(g.map((c) => c.name))].sort();
    const uuids = [...new Set(g.flatMap((c) => (c.uuid ? [c.uuid.toLowerCase()] : [])))].sort();
    out.push({ key: JSON.stringify(names), names, hosts, uuids });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/**
 * The split brains said before that go on under other keys, as `said key → found key`. A copy renamed while it lasts
 * (`xl rename web www` on one host) changes the group's names, so its key, and is no new split brain — nor is the
 * rename undone. A group not said yet is a said one no longer found when they are one guest as runningTwice reads
 * copies: a UUID in common where both know theirs, else a name and a host — a rename leaves each copy on its host,
 * and a name alone (a record said before its UUIDs were known) took another guest's split brain elsewhere for it,
 * swallowing the end of the one said. One group goes on for one said at most.
 */
export function goingOn(
  found: readonly RunningTwice[],
  said: ReadonlyMap<string, { hosts: readonly string[]; names: readonly string[]; uuids?: readonly string[] | undefined }>,
): Map<string, string> {
  const foundKeys = new Set(found.map((t) => t.key));
  const fresh = found.filter((t) => !said.has(t.key));
  const out = new Map<string, string>();
  const taken = new Set<string>();
  for (const [key, s] of [...said].sort(([a], [b]) => a.localeCompare(b))) {
    if (foundKeys.has(key)) continue;
    const next = fresh.find(
      (t) =>
        !taken.has(t.key) &&
        (t.uuids.length > 0 && s.uuids?.length
          ? t.uuids.some((u) => s.uuids?.includes(u))
          : t.names.some((n) => s.names.includes(n)) && t.hosts.some((h) => s.hosts.includes(h))),
    );
    if (!next) continue;
    taken.add(next.key);
    out.set(key, next.key);
  }
  return out;
}

/** "xen1 and xen2", "xen1, xen2 and xen3". */
export function hostsText(hosts: readonly string[]): string {
  return hosts.length <= 1 ? (hosts[0] ?? '') : `${hosts.slice(0, -1).join(', ')} and ${hosts.at(-1)}`;
}

/** "web is running on xen1 and xen2 at once" (a copy renamed: "web / www is running on …"). */
export function runningTwiceTitle(t: Pick<RunningTwice, 'names' | 'hosts'>): string {
  return `${t.names.join(' / ')} is running on ${hostsText(t.hosts)} at once`;
}
