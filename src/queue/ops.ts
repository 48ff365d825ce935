import type { JobOp } from './jobs.ts';

/**
 * The op registry: one entry per job op, read by the bot (permission groups, locks, deadlines) and the agent
 * (journal, lock adoption). The permission a job op needs is the op's own name (`domain.stop`).
 */
export interface OpSpec {
  /** Changes a host: journaled, locked, never re-run blindly, refused at once when no agent is alive. */
  mutates: boolean;
  /** The built-in permission group that grants it: read ⊂ operate ⊂ admin. */
  group: 'read' | 'operate' | 'admin';
  /**
   * Which per-domain locks the op holds while queued and running: `domain` = its domain, fleet-wide (a lock is
   * per domain name, so one lock covers a migration's source and target).
   */
  locks: 'none' | 'domain';
  /** Human verb for messages ("web is busy: bob's stop since …"). */
  verb: string;
}

export const OPS = {
  'domain.list': { mutates: false, group: 'read', locks: 'none', verb: 'list' },
  'host.info': { mutates: false, group: 'read', locks: 'none', verb: 'info' },
  'host.top': { mutates: false, group: 'read', locks: 'none', verb: 'top' },
  'host.status': { mutates: false, group: 'read', locks: 'none', verb: 'status' },
  'host.digest': { mutates: false, group: 'read', locks: 'none', verb: 'digest' },
  'domain.console': { mutates: false, group: 'operate', locks: 'none', verb: 'console' },
  'domain.start': { mutates: true, group: 'operate', locks: 'domain', verb: 'start' },
  'domain.stop': { mutates: true, group: 'operate', locks: 'domain', verb: 'stop' },
  'domain.migrate': { mutates: true, group: 'admin', locks: 'domain', verb: 'migration' },
  'host.uptime': { mutates: false, group: 'read', locks: 'none', verb: 'uptime' },
  'domain.autostart': { mutates: true, group: 'operate', locks: 'domain', verb: 'autostart change' },
  'domain.reboot': { mutates: true, group: 'operate', locks: 'domain', verb: 'reboot' },
  'domain.pause': { mutates: true, group: 'operate', locks: 'domain', verb: 'pause' },
  'domain.unpause': { mutates: true, group: 'operate', locks: 'domain', verb: 'unpause' },
  'domain.show': { mutates: false, group: 'read', locks: 'none', verb: 'show' },
} as const satisfies Record<JobOp, OpSpec>;

/** Permissions checked by the bot itself, for commands that run no job (or whose jobs each need their own too). */
export const BOT_PERMISSIONS = {
  'approval.grant': { group: 'admin' },
  'audit.read': { group: 'admin' },
  /**
   * /evacuate and /rebalance: plan them, see the plans, approve them (in scope on every host they touch). Running
   * one also needs each of its jobs' own permissions: domain.migrate on source and target (an admin's).
   */
  'host.evacuate': { group: 'operate' },
  'host.rebalance': { group: 'operate' },
  'host.freeze': { group: 'admin' },
  'oncall.read': { group: 'read' },
  'oncall.set': { group: 'admin' },
  /** Add and remove scheduled posts (any, with this permission); listing them needs schedule.read. */
  'schedule.manage': { group: 'admin' },
  'schedule.read': { group: 'read' },
} as const satisfies Record<string, { group: OpSpec['group'] }>;

export function opSpec(op: JobOp): OpSpec {
  return OPS[op];
}

export function isMutating(op: JobOp): boolean {
  return OPS[op].mutates;
}

/** Every permission name xenops knows (for check-config's misspelling check). */
export const KNOWN_PERMISSIONS: readonly string[] = [...Object.keys(OPS), ...Object.keys(BOT_PERMISSIONS)];

/** read, operate and admin, derived from the registry: each group includes the one below it. */
export function builtinGroups(): Record<'read' | 'operate' | 'admin', string[]> {
  const members = (group: OpSpec['group']) => [
    ...Object.entries(OPS)
      .filter(([, s]) => s.group === group)
      .map(([op]) => op),
    ...Object.entries(BOT_PERMISSIONS)
      .filter(([, s]) => s.group === group)
      .map(([p]) => p),
  ];
  return { read: members('read'), operate: ['read', ...members('operate')], admin: ['operate', ...members('admin')] };
}
