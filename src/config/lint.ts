import { DateTime } from 'luxon';
import picomatch from 'picomatch';
import { echoValue } from '../core/args.ts';
import { editDistance } from '../core/edit-distance.ts';
import { DEFAULT_ZONE, formatWhen, isTimeZone, parseInstant, parseTimeOfDay } from '../core/oncall.ts';
import { Config, MIGRATE_ADDRESS_PATTERN, SshDefaults } from './schema.ts';
import { redisPasswords } from './secrets.ts';

/**
 * What `xenops check-config` finds beyond the schema, and what stops the bot and the agent from starting (errors) or
 * is said in their log (warnings): names that resolve to nothing (a misspelled permission in a deny rule silently
 * denies nothing), host keys that are placeholders, identities no platform sends, the dev-only host key override.
 * Pure: the caller says which permissions, groups and commands exist.
 */

export interface LintFinding {
  /** Dotted path, as the loader prints it (`roles.ops.deny[0]`). */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export interface KnownNames {
  /** Every permission a command or operation needs. */
  permissions: readonly string[];
  /** Built-in groups: name → members (permissions or other groups). Their members count as known permissions. */
  groups: Readonly<Record<string, readonly string[]>>;
  /** Command names: a channel's `commands` filter and `commands.NAME` overrides may use them. Unchecked when omitted. */
  commands?: readonly string[];
}

/**
 * Reads `config` defensively, so it can lint a validated Config or the raw document of a file the schema refused
 * (check-config lists every problem at once). Findings come section by section, in document order.
 */
export function lintConfig(config: Config | unknown, known: KnownNames, options: { now?: Date } = {}): LintFinding[] {
  const c = asRecord(config);
  if (!c) return [];
  const findings: LintFinding[] = [];
  const error = (path: string, message: string) => findings.push({ path, message, severity: 'error' });

  const configGroups = asRecord(c['permissionGroups']) ?? {};
  const groupNames = [...new Set([...Object.keys(known.groups), ...Object.keys(configGroups)])];
  const permissions = [...new Set([...known.permissions, ...Object.values(known.groups).flat()].filter((p) => !groupNames.includes(p)))];
  const commands = known.commands ?? [];

  /** null when the name resolves, else what is wrong with it. */
  const problemWith = (name: string, what: string, extra: readonly string[] = []): string | null => {
    if (permissions.includes(name) || groupNames.includes(name) || extra.includes(name)) return null;
    if (/[*?[\]{}!]/.test(name)) {
      const matches = picomatch(name);
      return permissions.some((p) => matches(p)) ? null : `the glob ${echoValue(name)} matches no known permission`;
    }
    const suggestion = closest(name, [...extra, ...permissions, ...groupNames]);
    if (suggestion !== null) return `unknown ${what} ${echoValue(name)} — did you mean ${echoValue(suggestion)}?`;
    const lists = [`permissions: ${[...permissions].sort().join(', ')}`, `groups: ${[...groupNames].sort().join(', ')}`];
    if (extra.length > 0) lists.unshift(`commands: ${[...extra].sort().join(', ')}`);
    return `unknown ${what} ${echoValue(name)} (${lists.join('; ')})`;
  };
  const check = (name: unknown, path: string, what: string, extra?: readonly string[]) => {
    if (typeof name !== 'string') return;
    const problem = problemWith(name, what, extra);
    if (problem !== null) error(path, problem);
  };

  for (const [group, members] of Object.entries(configGroups)) {
    eachOf(members, (m, i) => check(m, `permissionGroups.${group}[${i}]`, 'permission or group'));
  }
  for (const [role, body] of Object.entries(asRecord(c['roles']) ?? {})) {
    for (const kind of ['allow', 'deny'] as const) {
      eachOf(asRecord(body)?.[kind], (rule, i) => {
        const permission = typeof rule === 'string' ? rule : asRecord(rule)?.['permission'];
        check(permission, `roles.${role}.${kind}[${i}]`, 'permission');
      });
    }
  }
  eachOf(c['channels'], (channel, i) => {
    eachOf(asRecord(channel)?.['commands'], (name, j) =>
      check(name, `channels[${i}].commands[${j}]`, known.commands ? 'command, permission or group' : 'permission or group', commands),
    );
  });
  if (known.commands) {
    for (const name of Object.keys(asRecord(c['commands']) ?? {})) {
      if (commands.includes(name)) continue;
      const suggestion = closest(name, commands);
      error(
        `commands.${name}`,
        suggestion !== null
          ? `unknown command ${echoValue(name)} — did you mean ${echoValue(suggestion)}?`
          : `unknown command ${echoValue(name)} (commands: ${[...commands].sort().join(', ')})`,
      );
    }
  }

  // Approval policies name commands and permissions too: a typo there would silently approve nothing.
  eachOf(asRecord(c['approvals'])?.['policies'], (policy, i) => {
    const p = asRecord(policy);
    if (known.commands) {
      eachOf(p?.['commands'], (name, j) => {
        if (typeof name !== 'string' || commands.includes(name)) return;
        const suggestion = closest(name, commands);
        error(
          `approvals.policies[${i}].commands[${j}]`,
          suggestion !== null
            ? `unknown command ${echoValue(name)} — did you mean ${echoValue(suggestion)}?`
            : `unknown command ${echoValue(name)}`,
        );
      });
    }
    check(asRecord(p?.['approvers'])?.['permission'], `approvals.policies[${i}].approvers.permission`, 'permission');
  });

  for (const [host, body] of Object.entries(asRecord(c['hosts']) ?? {})) {
    const h = asRecord(body);
    if (!h) continue;
    const hostKey = h['hostKey'];
    if (typeof hostKey === 'string' && isPlaceholderFingerprint(hostKey)) {
      error(
        `hosts.${host}.hostKey`,
        `${echoValue(hostKey)} is a placeholder, not ${host}'s fingerprint: run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on ${host} and copy its SHA256:… field`,
      );
    }
    if (h['dangerouslyAcceptAnyHostKey'] === true) {
      findings.push({
        path: `hosts.${host}.dangerouslyAcceptAnyHostKey`,
        message: `DANGER: ${host}'s host key is not checked — whoever can intercept the connection can pose as ${host} and receive every command; dev only, pin hostKey instead`,
        severity: 'warning',
      });
    }
    lintMigrateAddress(host, h, findings);
    shortSecret(h['passphrase'], `hosts.${host}.passphrase`, findings);
  }
  shortSecret(asRecord(asRecord(c['telegram'])?.['webhook'])?.['secretToken'], 'telegram.webhook.secretToken', findings);
  const redis = asRecord(c['redis']);
  shortRedisPassword(redis?.['url'], 'redis.url', findings);
  eachOf(redis?.['nodes'], (url, i) => shortRedisPassword(url, `redis.nodes[${i}]`, findings));
  findings.push(...lintHostScopes(c));
  findings.push(...lintIdentities(c));
  findings.push(...lintTerminalUser(c));
  findings.push(...lintOnCall(asRecord(c['oncall']), options.now ?? new Date()));
  findings.push(...lintReadTimeout(c));
  return findings;
}

/**
 * A read the bot gives up on before the agent's SSH command timeout passes is answered "no answer from xen1's agent"
 * while the agent, alive, is still waiting on a hung host: the agent's "xl on xen1 did not finish within 30 s", which
 * names the host, never reaches chat. The longest timeout counts (a host's own `ssh` overrides the global one).
 */
function lintReadTimeout(c: Record<string, unknown>): LintFinding[] {
  const read = millisOr(asRecord(c['bot'])?.['readTimeoutMs'], DEFAULT_READ_TIMEOUT_MS);
  let longest = { path: 'ssh.commandTimeoutMs', ms: millisOr(asRecord(c['ssh'])?.['commandTimeoutMs'], DEFAULT_COMMAND_TIMEOUT_MS) };
  for (const [host, body] of Object.entries(asRecord(c['hosts']) ?? {})) {
    const own = asRecord(asRecord(body)?.['ssh'])?.['commandTimeoutMs'];
    if (typeof own === 'number' && own > longest.ms) longest = { path: `hosts.${host}.ssh.commandTimeoutMs`, ms: own };
  }
  if (read > longest.ms) return [];
  return [
    {
      path: 'bot.readTimeoutMs',
      message: `bot.readTimeoutMs (${seconds(read)}) is not longer than ${longest.path} (${seconds(longest.ms)}): a read of a hung host is answered 'no answer from its agent' before the agent can say the host did not answer — set it above ${seconds(longest.ms)}`,
      severity: 'warning',
    },
  ];
}

// A raw document the schema refused has no defaults filled in: the lint assumes what the schema would give.
const DEFAULT_READ_TIMEOUT_MS = Config.shape.bot.parse(undefined).readTimeoutMs;
const DEFAULT_COMMAND_TIMEOUT_MS = SshDefaults.shape.commandTimeoutMs.parse(undefined);

function millisOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}

/** As the agent says a timeout ("did not finish within 30 s"). */
function seconds(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}

/**
 * Host names and globs that scope a rule, an approval policy or a maintenance window. One that names no host makes
 * the rule apply nowhere, silently: a deny that denies nothing, an approval policy that lets `stop` through unasked,
 * a window that freezes nothing. A plain name is a typo (error); a glob may wait for hosts still to come (warning).
 */
function lintHostScopes(c: Record<string, unknown>): LintFinding[] {
  const hosts = Object.keys(asRecord(c['hosts']) ?? {});
  if (hosts.length === 0) return [];
  const findings: LintFinding[] = [];
  const check = (scope: unknown, path: string) =>
    eachOf(scope, (name, j) => {
      if (typeof name !== 'string' || name === '') return;
      const problem = hostScopeProblem(name, hosts);
      if (problem) findings.push({ path: `${path}.hosts[${j}]`, ...problem });
    });
  for (const [role, body] of Object.entries(asRecord(c['roles']) ?? {})) {
    for (const kind of ['allow', 'deny'] as const)
      eachOf(asRecord(body)?.[kind], (rule, i) => check(asRecord(rule)?.['hosts'], `roles.${role}.${kind}[${i}]`));
  }
  eachOf(asRecord(c['approvals'])?.['policies'], (policy, i) => check(asRecord(policy)?.['hosts'], `approvals.policies[${i}]`));
  eachOf(c['maintenance'], (window, i) => check(asRecord(window)?.['hosts'], `maintenance[${i}]`));
  return findings;
}

function hostScopeProblem(name: string, hosts: readonly string[]): Omit<LintFinding, 'path'> | null {
  if (/[*?[\]{}!]/.test(name)) {
    const matches = picomatch(name);
    if (hosts.some((h) => matches(h))) return null;
    return { message: `the glob ${echoValue(name)} matches no host (${someHosts(hosts)})`, severity: 'warning' };
  }
  if (hosts.includes(name)) return null;
  const suggestion = closest(name, hosts);
  return {
    message:
      suggestion !== null
        ? `unknown host ${echoValue(name)} — did you mean ${echoValue(suggestion)}?`
        : `unknown host ${echoValue(name)} (${someHosts(hosts)})`,
    severity: 'error',
  };
}

/** The configured hosts, named while they are few (a message naming 1,000 hosts helps nobody). */
function someHosts(hosts: readonly string[]): string {
  return hosts.length <= 10 ? `hosts: ${[...hosts].sort().join(', ')}` : `${hosts.length} hosts`;
}

/**
 * What each platform sends as its user's id: Telegram a whole number (negative for a channel a message is sent on behalf
 * of), Discord a snowflake of 17 to 20 digits. The schema takes any text or number (channel ids may be `*`), so
 * `telegram: abc` or a Discord tag left that person unrecognised, each of their commands refused, and nothing said why.
 */
const USER_IDS = {
  telegram: { pattern: /^-?\d+$/, what: 'Telegram user id (a whole number, such as 123456789)', platform: 'Telegram' },
  discord: {
    pattern: /^\d{17,20}$/,
    what: 'Discord user id (a snowflake: 17 to 20 digits, from Copy User ID in Developer Mode)',
    platform: 'Discord',
  },
} as const;

function lintIdentities(c: Record<string, unknown>): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const [person, body] of Object.entries(asRecord(c['people']) ?? {})) {
    const identities = asRecord(asRecord(body)?.['identities']);
    for (const [key, { pattern, what, platform }] of Object.entries(USER_IDS)) {
      const id = identities?.[key];
      // As the schema turns a number into text; an id it refused (a rounded snowflake) is its to name.
      if ((typeof id !== 'string' && typeof id !== 'number') || pattern.test(String(id))) continue;
      findings.push({
        path: `people.${person}.identities.${key}`,
        message: `${echoValue(String(id))} is no ${what}: ${person} can never be recognised on ${platform}`,
        severity: 'error',
      });
    }
  }
  return findings;
}

/**
 * The terminal's default user is matched against people's terminal identities only when a line is typed: a typo made
 * the terminal bot refuse every line, and nothing said why before. Only where the terminal is let in (a channels entry
 * for it, as a terminal line is refused without one) and only a warning: many configs have no one at a terminal.
 */
function lintTerminalUser(c: Record<string, unknown>): LintFinding[] {
  let terminalAllowed = false;
  eachOf(c['channels'], (channel) => {
    if (asRecord(channel)?.['platform'] === 'terminal') terminalAllowed = true;
  });
  if (!terminalAllowed) return [];
  const written = asRecord(c['terminal'])?.['defaultUser'];
  // The schema's default, for a file it refused (the lint then sees the document as written).
  const user = written === undefined ? 'operator' : written;
  if (typeof user !== 'string' || user === '') return [];
  const identities: string[] = [];
  for (const body of Object.values(asRecord(c['people']) ?? {})) {
    const id = asRecord(asRecord(body)?.['identities'])?.['terminal'];
    if (typeof id === 'string') identities.push(id);
  }
  if (identities.includes(user)) return [];
  const why = `${echoValue(user)} is no person's terminal identity, so every line typed at the terminal is refused`;
  const suggestion = closest(user, identities);
  const message =
    identities.length === 0
      ? `${why}: give the person at the terminal identities: { terminal: ${echoValue(user)} }`
      : suggestion !== null
        ? `${why} — did you mean ${echoValue(suggestion)}?`
        : `${why} (${identities.length <= 10 ? `terminal identities: ${[...identities].sort().join(', ')}` : `${identities.length} terminal identities`})`;
  return [{ path: 'terminal.defaultUser', message, severity: 'warning' }];
}

/**
 * Where migrations to a host go, as the migration argv will check it: an `address` that is no migration target
 * (`fe80::1%eth0`) is only found when the first /migrate is refused; xm migrates through xend's relocation port, not
 * ssh, so a `user@` means nothing to it.
 */
function lintMigrateAddress(host: string, h: Record<string, unknown>, findings: LintFinding[]): void {
  const migrate = h['migrateAddress'];
  const address = h['address'];
  if (migrate === undefined && typeof address === 'string' && !MIGRATE_ADDRESS_PATTERN.test(address))
    findings.push({
      path: `hosts.${host}.address`,
      message: `migrations to ${host} would be refused: ${echoValue(address)} is no address xl migrate can be given — set hosts.${host}.migrateAddress`,
      severity: 'warning',
    });
  if (typeof migrate === 'string' && migrate.includes('@') && h['toolstack'] === 'xm')
    findings.push({
      path: `hosts.${host}.migrateAddress`,
      message: `${host} runs xm, which migrates through xend's relocation port rather than ssh: ${echoValue(migrate)} cannot have a user@`,
      severity: 'error',
    });
}

/**
 * The on-call section, beyond the schema: overrides that are over (they only clutter the file), and a handoff at a
 * time the zone skips when clocks go forward (that day's handoff happens an hour later).
 */
function lintOnCall(oncall: Record<string, unknown> | null, now: Date): LintFinding[] {
  if (!oncall) return [];
  const findings: LintFinding[] = [];
  const zone = typeof oncall['timezone'] === 'string' ? oncall['timezone'] : DEFAULT_ZONE;
  if (!isTimeZone(zone)) return [];
  eachOf(oncall['overrides'], (o, i) => {
    const until = asRecord(o)?.['until'];
    const end = typeof until === 'string' ? parseInstant(until, zone) : null;
    if (end && end <= now)
      findings.push({
        path: `oncall.overrides[${i}].until`,
        message: `this override ended ${formatWhen(end, zone, now)} (${zone}); remove it`,
        severity: 'warning',
      });
  });
  const handoff = asRecord(oncall['rotation'])?.['handoff'];
  const time = typeof handoff === 'string' ? parseTimeOfDay(handoff) : null;
  if (time) {
    // The next year from now: a zone's DST rules can change, so name the next day it happens.
    const today = DateTime.fromJSDate(now, { zone });
    for (let d = 0; d <= 366; d++) {
      const day = today.plus({ days: d });
      const at = DateTime.fromObject({ year: day.year, month: day.month, day: day.day, hour: time.hour, minute: time.minute }, { zone });
      if (at.hour !== time.hour || at.minute !== time.minute) {
        findings.push({
          path: 'oncall.rotation.handoff',
          message: `${handoff} does not exist in ${zone} on ${day.toISODate()} (clocks go forward): that day's handoff happens at ${at.toFormat('HH:mm')}`,
          severity: 'warning',
        });
        break;
      }
    }
  }
  return findings;
}

/** Words that only a template or a hand-made example puts in a fingerprint (7+ letters: random base64 never spells them). */
const PLACEHOLDER_WORDS = /replace|placeholder|example|changeme|fingerprint|hostkey|yourkey/i;

/** A secret too short to be taken out of logs and audit entries (see registerSecret): said, so a longer one is chosen. */
function shortSecret(value: unknown, path: string, findings: LintFinding[]): void {
  if (typeof value !== 'string' || value.length === 0 || value.length >= 6) return;
  findings.push({
    path,
    message: 'shorter than 6 characters: it is not taken out of log lines, replies and audit entries that quote it; use a longer one',
    severity: 'warning',
  });
}

/** A Redis URL's password as ioredis sends it (decoded, so maybe shorter than written), which its errors quote. */
function shortRedisPassword(url: unknown, path: string, findings: LintFinding[]): void {
  if (typeof url !== 'string') return;
  shortSecret(redisPasswords(url).sort((a, b) => a.length - b.length)[0], path, findings);
}

/**
 * A fingerprint nobody got from `ssh-keygen -lf`: empty, one character repeated (`SHA256:AAAA…`, `SHA256:xxx`),
 * a run of 8 equal or 8 consecutive characters (`…00000000`, `abcdefgh…`), very few distinct characters, or a
 * template word (`SHA256:ReplaceMe…`). A real SHA-256 in base64 has about 31 distinct characters out of 43; the
 * chance that one trips these rules is below 1e-8.
 */
export function isPlaceholderFingerprint(value: string): boolean {
  const body = value.replace(/^SHA256:/i, '');
  const chars = Array.from(body);
  const distinct = new Set(chars).size;
  if (distinct <= 1) return true;
  if (chars.length >= 16 && distinct < 8) return true;
  if (PLACEHOLDER_WORDS.test(body)) return true;
  let same = 1;
  let ascending = 1;
  for (let i = 1; i < chars.length; i++) {
    const d = (chars[i] as string).charCodeAt(0) - (chars[i - 1] as string).charCodeAt(0);
    same = d === 0 ? same + 1 : 1;
    ascending = d === 1 ? ascending + 1 : 1;
    if (same >= 8 || ascending >= 8) return true;
  }
  return false;
}

/** Problems from the loader and the lint, as check-config prints them: a count, then errors, then warnings. */
export function formatProblems(source: string, problems: readonly LintFinding[]): string {
  const errors = problems.filter((p) => p.severity === 'error');
  const warnings = problems.filter((p) => p.severity === 'warning');
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const line = (p: LintFinding) => `  ${p.severity.padEnd(7)}  ${p.path ? `${p.path}: ` : ''}${p.message}`;
  return [
    `${source}: ${count(errors.length, 'error')}, ${count(warnings.length, 'warning')}`,
    ...errors.map(line),
    ...warnings.map(line),
    '',
  ].join('\n');
}

/**
 * The candidate the name was most likely meant to be: the same but for case, the one whose last part it is
 * (`stop` → `domain.stop`), or the nearest by edit distance (at most a quarter of the name's length, at least 1).
 */
function closest(name: string, candidates: readonly string[]): string | null {
  const lower = name.toLowerCase();
  const sorted = [...new Set(candidates)].sort();
  const sameButCase = sorted.find((c) => c.toLowerCase() === lower);
  if (sameButCase) return sameButCase;
  const byLastPart = sorted.filter((c) => c.toLowerCase().split('.').at(-1) === lower);
  if (byLastPart.length === 1) return byLastPart[0] as string;
  const limit = Math.max(1, Math.floor(Array.from(name).length / 4));
  let best: string | null = null;
  let bestDistance = limit + 1;
  for (const c of sorted) {
    const d = editDistance(lower, c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function eachOf(value: unknown, fn: (item: unknown, index: number) => void): void {
  if (Array.isArray(value)) value.forEach(fn);
}
