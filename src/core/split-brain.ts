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
    out.push({ key: JSON.stringify(names), names, hosts });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** "xen1 and xen2", "xen1, xen2 and xen3". */
export function hostsText(hosts: readonly string[]): string {
  return hosts.length <= 1 ? (hosts[0] ?? '') : `${hosts.slice(0, -1).join(', ')} and ${hosts.at(-1)}`;
}

/** "web is running on xen1 and xen2 at once" (a copy renamed: "web / www is running on …"). */
export function runningTwiceTitle(t: Pick<RunningTwice, 'names' | 'hosts'>): string {
  return `${t.names.join(' / ')} is running on ${hostsText(t.hosts)} at once`;
}
