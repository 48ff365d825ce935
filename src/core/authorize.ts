import picomatch from 'picomatch';
import type { Config, PermissionRule } from '../config/schema.ts';
import { builtinGroups } from '../queue/ops.ts';
import type { Actor, Channel } from './request.ts';

/** Built-in permission groups (read ⊂ operate ⊂ admin), derived from the op registry; config.permissionGroups adds more. */
export const BUILTIN_GROUPS: Readonly<Record<string, readonly string[]>> = builtinGroups();

export interface Person {
  id: string;
  displayName: string;
  roles: string[];
}

export type Identity = { ok: true; person: Person } | { ok: false; code: 'auth.unknownPerson' | 'auth.anonymousAdmin'; message: string };

/** The id prefix of a Telegram group's anonymous admins: one id for all of them, so nobody in particular. */
const ANONYMOUS_ADMIN = 'anonymous-admin:';

/** Whether the person is an anonymous group admin (allowAnonymousAdmins): xenops cannot tell which person it is. */
export function isAnonymous(person: Pick<Person, 'id'>): boolean {
  return person.id.startsWith(ANONYMOUS_ADMIN);
}

/** Maps a platform identity to a person; Discord role ids add roles through discord.roleBindings. */
export function identify(config: Config, actor: Actor): Identity {
  if (actor.anonymousAdmin) {
    if (!config.telegram?.allowAnonymousAdmins) {
      return {
        ok: false,
        code: 'auth.anonymousAdmin',
        message: 'anonymous group admins cannot use xenops: turn off "Remain anonymous" or message the bot directly',
      };
    }
    return {
      ok: true,
      person: {
        id: `${ANONYMOUS_ADMIN}${actor.userId}`,
        displayName: 'anonymous admin',
        roles: [...(config.telegram.anonymousAdminRoles ?? [])],
      },
    };
  }
  const entry = Object.entries(config.people).find(([, p]) => p.identities[actor.platform] === actor.userId);
  const bound = actor.platform === 'discord' ? actor.roleIds.flatMap((r) => config.discord?.roleBindings[r] ?? []) : [];
  if (!entry) {
    if (bound.length > 0)
      return { ok: true, person: { id: `discord:${actor.userId}`, displayName: actor.displayName, roles: [...new Set(bound)] } };
    return {
      ok: false,
      code: 'auth.unknownPerson',
      message: `you are not known to xenops (your ${actor.platform} id is ${actor.userId}); ask an admin to add you`,
    };
  }
  const [id, p] = entry;
  return { ok: true, person: { id, displayName: p.displayName ?? id, roles: [...new Set([...p.roles, ...bound])] } };
}

/** Expands a permission or group name to permission names, following nested groups. */
export function expandPermission(config: Config, name: string, seen: Set<string> = new Set()): string[] {
  const group = config.permissionGroups[name] ?? BUILTIN_GROUPS[name];
  if (!group) return [name];
  if (seen.has(name)) return [];
  seen.add(name);
  return group.flatMap((n) => expandPermission(config, n, seen));
}

/** Compiled globs by pattern: picomatch.isMatch compiles its pattern on every call (a regex and its parse per host). */
const matchers = new Map<string, (s: string) => boolean>();
function globMatch(value: string, pattern: string): boolean {
  let m = matchers.get(pattern);
  if (!m) {
    m = picomatch(pattern);
    matchers.set(pattern, m);
  }
  return m(value);
}

function ruleMatches(config: Config, rule: PermissionRule, permission: string, target: { host?: string; domain?: string }): boolean {
  const permissions = expandPermission(config, rule.permission);
  if (!permissions.some((p) => globMatch(permission, p))) return false;
  // A dry run (no host/domain yet) asks "could this rule ever allow it": any scope counts.
  if (target.host !== undefined && !rule.hosts.some((h) => globMatch(target.host as string, h))) return false;
  if (target.domain !== undefined && !rule.domains.some((d) => globMatch(target.domain as string, d))) return false;
  return true;
}

export type AuthDecision = { allowed: true } | { allowed: false; message: string };

/** Deny by default; any deny rule from any role beats every allow. */
export function authorize(
  config: Config,
  person: Person,
  permission: string,
  target: { host?: string; domain?: string } = {},
  what = 'do this',
): AuthDecision {
  const roles = person.roles.map((r) => config.roles[r]).filter((r) => r !== undefined);
  const where = [target.host, target.domain].filter(Boolean).join('/');
  const denied = roles.some((r) => r.deny.some((rule) => ruleMatches(config, rule, permission, dryRunSafeTarget(target))));
  const allowed = roles.some((r) => r.allow.some((rule) => ruleMatches(config, rule, permission, target)));
  if (allowed && !denied) return { allowed: true };
  return { allowed: false, message: `${person.id} may not ${what}: needs permission ${permission}${where ? ` on ${where}` : ''}` };
}

/**
 * Whether the permission reaches only some domains of the host for this person: an allow scoped to some domains, or
 * a deny naming some (`domains: [gateway]`). A read's result is then filtered row by row.
 */
export function domainLimited(config: Config, person: Person, permission: string, host: string): boolean {
  if (!authorize(config, person, permission, { host, domain: '\u0000every-domain' }).allowed) return true;
  return person.roles.some((name) =>
    (config.roles[name]?.deny ?? []).some(
      (rule) => !rule.domains.includes('*') && ruleMatches(config, { ...rule, domains: ['*'] }, permission, { host }),
    ),
  );
}

/**
 * Whether the person may read about every host and domain named (an audit entry's, comma-separated as written):
 * with `permission` scoped to some hosts, nothing about the others. An entry that names none is about xenops itself.
 */
export function mayReadAbout(
  config: Config,
  person: Person,
  permission: string,
  hosts: readonly string[],
  domains: readonly string[],
): boolean {
  const places = hosts.length > 0 ? hosts : [undefined];
  const names = domains.length > 0 ? domains : [undefined];
  return places.every((host) =>
    names.every(
      (domain) =>
        authorize(config, person, permission, { ...(host === undefined ? {} : { host }), ...(domain === undefined ? {} : { domain }) })
          .allowed,
    ),
  );
}

/**
 * For deny rules a dry run must not deny what a scoped deny only forbids somewhere: without a target, only a
 * deny that covers every host and domain counts.
 */
function dryRunSafeTarget(target: {
  host?: string;
  domain?: string;
}): { host: string; domain: string } | { host?: string; domain?: string } {
  return { host: target.host ?? '\u0000any-host', domain: target.domain ?? '\u0000any-domain' };
}

/** Per-channel allow-list: no matching entry = not allowed here. Returns the commands filter, if any. */
export function channelPolicy(config: Config, platform: string, channel: Channel): { allowed: boolean; commands?: readonly string[] } {
  const entry =
    config.channels.find((c) => c.platform === platform && c.id === channel.id) ??
    config.channels.find((c) => c.platform === platform && c.id === '*');
  if (!entry) return { allowed: false };
  return entry.commands ? { allowed: true, commands: entry.commands } : { allowed: true };
}

/** Whether a channel's command filter lets this command (by name, permission or group) through. */
export function channelAllowsCommand(
  config: Config,
  filter: readonly string[] | undefined,
  command: string,
  permission: string | null,
): boolean {
  if (!filter) return true;
  return filter.some((f) => f === command || (permission !== null && expandPermission(config, f).some((p) => globMatch(permission, p))));
}
