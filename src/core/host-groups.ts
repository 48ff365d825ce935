import { countText } from './cut-text.ts';

/**
 * Hosts named in one line of a reply: past these, the rest are counted, so a line stays one line at 1,000 hosts.
 * Refusals count them all; lists that name a group of hosts name these first.
 */
export const NAMED_HOSTS_MAX = 20;

/** `xen1, xen2, xen3`; past NAMED_HOSTS_MAX, the first ones and a count: `xen1, …, xen20 and 980 more`. Pure. */
export function hostNames(hosts: readonly string[]): string {
  if (hosts.length <= NAMED_HOSTS_MAX) return hosts.join(', ');
  return `${hosts.slice(0, NAMED_HOSTS_MAX).join(', ')} and ${countText(hosts.length - NAMED_HOSTS_MAX)} more`;
}

/** A title's hosts: named when a few, else counted (`all 1,000 hosts` when the person said all and got all). Pure. */
export function hostCount(hosts: readonly string[], all: boolean): string {
  if (hosts.length <= NAMED_HOSTS_MAX) return hosts.join(', ');
  return `${all ? 'all ' : ''}${countText(hosts.length)} hosts`;
}

/** Who a sentence is said of: one host or a group. */
export interface Subject {
  /** Every host of the group, in order: for a command the line suggests (`/unfreeze xen5,xen6`). */
  hosts: readonly string[];
  /** As the line names them: hostNames(hosts). */
  names: string;
  /** More than one: `are`, `were`, `stay`. */
  many: boolean;
}

/** `xen1 is`, `xen1, xen2 are`. */
export function subjectIs(s: Subject): string {
  return `${s.names} ${s.many ? 'are' : 'is'}`;
}

/** The lines said of a subject. */
export type Said = (subject: Subject) => string[];

/** Stands for the subject while lines are compared: no host name holds it. */
const ANYONE: Subject = { hosts: ['\u0000'], names: '\u0000', many: false };

/**
 * The lines said of each host (null: none), said once for the hosts they read the same for apart from the subject —
 * a group's lines kept together, groups in the order of their first host. Every host is in exactly one group. A
 * sentence that names its host other than through the subject reads differently for each, and is never merged. Pure.
 */
export function sayOnce(hosts: readonly string[], said: (host: string) => Said | null): string[] {
  const groups = new Map<string, { say: Said; hosts: string[] }>();
  for (const host of hosts) {
    const say = said(host);
    if (say === null) continue;
    const key = JSON.stringify(say(ANYONE));
    const group = groups.get(key);
    if (group) group.hosts.push(host);
    else groups.set(key, { say, hosts: [host] });
  }
  return [...groups.values()].flatMap((g) => g.say({ hosts: g.hosts, names: hostNames(g.hosts), many: g.hosts.length > 1 }));
}
