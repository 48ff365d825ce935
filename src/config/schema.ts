import { z } from 'zod';
import { echoValue } from '../core/args.ts';
import { HostName, Identifier } from '../core/names.ts';
import { isCalendarDate, isTimeZone, parseInstant, parseTimeOfDay, WEEKDAYS, weekdayOf } from '../core/oncall.ts';
import { ApprovalsSection } from './approvals-schema.ts';
import { DEFAULT_HA_LEASE_MS, HaSection } from './ha-schema.ts';
import { MaintenanceWindow } from './maintenance-schema.ts';
import { PlatformId, yamlNumber } from './number-schema.ts';
import { DEFAULT_AGENT_HTTP_PORT, DEFAULT_BOT_HTTP_PORT, opsHttpSection } from './ops-schema.ts';
import { AlertsSection, ConfigSchedule, PostsSection } from './posts-schema.ts';
import { SimFleetSpecSchema } from './simulator-spec.ts';

/** `ssh-keygen -lf` prints `SHA256:<43 base64 chars without padding>`. */
export const Fingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, {
  error: (issue) =>
    `must be a SHA256 fingerprint as \`ssh-keygen -lf\` prints it (SHA256:…, 43 base64 characters), got ${echoValue(issue.input)}`,
});

const Millis = yamlNumber(z.number().int().positive());
const Glob = z.string().min(1);

export const SshDefaults = z.strictObject({
  /** Concurrent commands per host; below OpenSSH's MaxSessions (10). */
  maxConcurrent: yamlNumber(z.number().int().min(1).max(9)).default(4),
  commandTimeoutMs: Millis.default(30_000),
  readyTimeoutMs: Millis.default(15_000),
  keepaliveIntervalMs: Millis.default(10_000),
  keepaliveCountMax: yamlNumber(z.number().int().min(1)).default(3),
  /** Reconnect backoff: base doubles per failed attempt up to max. */
  reconnectBaseMs: Millis.default(500),
  reconnectMaxMs: Millis.default(30_000),
});
export type SshDefaults = z.infer<typeof SshDefaults>;

/**
 * Where `xl migrate` sends a guest: a host name or address, optionally with the `user@` ssh logs in as (xl hands it
 * to ssh as it is). The migration argv checks the same pattern, so what the config takes is what a migration sends.
 */
export const MIGRATE_ADDRESS_PATTERN = /^(?:[A-Za-z0-9_][A-Za-z0-9_.-]*@)?[A-Za-z0-9][A-Za-z0-9.:_-]*$/;

/**
 * Why a config dir path cannot be used, or null. Every path is quoted when sent, so any byte but a control character
 * is fine (`/srv/xen guests`); what would make `DIR/NAME.cfg` name a file outside DIR, or two spellings of one dir, is
 * not. The agent's `cat DIR/NAME.cfg` applies the same rule.
 */
export function configDirProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'must be an absolute path';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'must not hold control characters';
  const parts = path.replace(/\/+$/, '').split('/').slice(1);
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return "must not hold '.', '..' or '//' (write the plain path)";
  return null;
}

const ConfigDir = z.string().superRefine((path, ctx) => {
  const problem = configDirProblem(path);
  if (problem) ctx.addIssue({ code: 'custom', message: `${problem}, got ${echoValue(path)}` });
});

export const HostConfig = z
  .strictObject({
    address: z.string().min(1),
    port: yamlNumber(z.number().int().min(1).max(65535)).default(22),
    user: z.string().min(1).default('root'),
    /** Path of the private key file; or give the key itself in `privateKey` (use ${ENV} for it). */
    privateKeyPath: z.string().min(1).optional(),
    privateKey: z.string().min(1).optional(),
    passphrase: z.string().optional(),
    /** The pinned host key fingerprint. Required unless the dev-only override below is set. */
    hostKey: Fingerprint.optional(),
    /** DEV ONLY: accept any host key. Logged loudly at every connect. Never set it for a real host. */
    dangerouslyAcceptAnyHostKey: z.boolean().default(false),
    toolstack: z.enum(['auto', 'xl', 'xm']).default('auto'),
    /** Prefix every command with `sudo -n` (non-interactive: fails instead of prompting). */
    sudo: z.boolean().default(false),
    configDirs: z.array(ConfigDir).min(1).default(['/etc/xen/vm', '/etc/xen/auto']),
    consoleLogDir: z.string().regex(/^\//, 'must be an absolute path').default('/var/log/xen/console'),
    /** How other Dom0s reach this one for `xl migrate` (an SSH destination: `[user@]host`); defaults to `address`. */
    migrateAddress: z
      .string()
      .regex(MIGRATE_ADDRESS_PATTERN, {
        error: (issue) =>
          `must be a host name or address, optionally with user@ (what xl migrate hands to ssh), got ${echoValue(issue.input)}`,
      })
      .optional(),
    /** Seconds a graceful shutdown may take before xenops reports it as stuck. */
    shutdownTimeoutSeconds: yamlNumber(z.number().int().min(1).max(3600)).default(120),
    ssh: SshDefaults.partial().default({}),
  })
  .superRefine((h, ctx) => {
    for (const issue of hostProblems(h)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });
export type HostConfig = z.infer<typeof HostConfig>;

/**
 * What a host needs besides well-typed fields: a key to log in with and a pinned host key. Reads defensively:
 * the loader also runs it on hosts that failed the schema (zod skips refinements of an object with a bad field),
 * so a missing pin is reported together with a mistyped port.
 */
export function hostProblems(raw: unknown): { path: string[]; message: string }[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const h = raw as Record<string, unknown>;
  const problems: { path: string[]; message: string }[] = [];
  if (!h['privateKeyPath'] && !h['privateKey']) problems.push({ path: ['privateKeyPath'], message: 'give privateKeyPath or privateKey' });
  if (!h['hostKey'] && h['dangerouslyAcceptAnyHostKey'] !== true) {
    problems.push({ path: ['hostKey'], message: 'pin the host key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the Dom0)' });
  }
  return problems;
}

export const PLATFORMS = ['terminal', 'discord', 'telegram'] as const;
export const Platform = z.enum(PLATFORMS);
export type Platform = z.infer<typeof Platform>;

export const Person = z.strictObject({
  displayName: z.string().optional(),
  roles: z.array(Identifier).default([]),
  identities: z
    .strictObject({
      terminal: z.string().min(1).optional(),
      telegram: PlatformId.optional(),
      discord: PlatformId.optional(),
    })
    .default({}),
  /** On call when no rotation is configured (`oncall.rotation`); may approve risky commands of others (approvals issue). */
  onCall: z.boolean().default(false),
});
export type Person = z.infer<typeof Person>;

/** `"domain.start"`, a group (`"read"`), a glob (`"domain.*"`), or scoped to host/domain globs. */
export const PermissionRule = z.union([
  z
    .string()
    .min(1)
    .transform((permission) => ({ permission, hosts: ['*'], domains: ['*'] })),
  z.strictObject({
    permission: z.string().min(1),
    hosts: z.array(Glob).min(1).default(['*']),
    domains: z.array(Glob).min(1).default(['*']),
  }),
]);
export type PermissionRule = z.infer<typeof PermissionRule>;

export const Role = z.strictObject({
  description: z.string().optional(),
  allow: z.array(PermissionRule).default([]),
  /** Deny rules win over every allow, from any role the person has. */
  deny: z.array(PermissionRule).default([]),
});
export type Role = z.infer<typeof Role>;

export const ChannelPolicy = z.strictObject({
  platform: Platform,
  /** Channel or chat id, or `*` for every channel of that platform. */
  id: PlatformId,
  /** Command names or permission groups allowed here; omitted = every command. */
  commands: z.array(z.string().min(1)).optional(),
});
export type ChannelPolicy = z.infer<typeof ChannelPolicy>;

export const RiskOverride = z.enum(['read', 'write', 'dangerous']);

export const DiscordConfig = z.strictObject({
  token: z.string().min(1).optional(),
  applicationId: z
    .string()
    .regex(/^\d{5,25}$/)
    .optional(),
  /** Register commands per guild (instant); omitted = global registration. */
  guildIds: z.array(z.string().regex(/^\d{5,25}$/)).default([]),
  apiRoot: z.url().optional(),
  /** Discord role id → xenops roles. */
  roleBindings: z.record(z.string().regex(/^\d{5,25}$/), z.array(Identifier)).default({}),
});

export const TelegramConfig = z
  .strictObject({
    token: z.string().min(1).optional(),
    apiRoot: z.url().optional(),
    mode: z.enum(['polling', 'webhook']).default('polling'),
    webhook: z
      .strictObject({
        domain: z.string().min(1),
        path: z.string().startsWith('/').default('/telegram'),
        port: yamlNumber(z.number().int().min(1).max(65535)).default(8443),
        /** Where the webhook server listens; put a TLS-terminating proxy in front of it. */
        listenHost: z.string().min(1).default('127.0.0.1'),
        secretToken: z.string().regex(/^[A-Za-z0-9_-]{1,256}$/, 'Telegram allows 1-256 of A-Z a-z 0-9 _ -'),
      })
      .optional(),
    /** Anonymous group admins post as the group itself; refused unless this is true. */
    allowAnonymousAdmins: z.boolean().default(false),
    /** Roles given to anonymous admins when allowed. */
    anonymousAdminRoles: z.array(Identifier).default([]),
  })
  .superRefine((t, ctx) => {
    // Without it the adapter would quietly poll instead.
    if (t.mode === 'webhook' && !t.webhook)
      ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'mode: webhook needs a webhook section (domain, secretToken…)' });
  });

/** `HH:MM`, 24-hour. */
const TimeOfDay = z.string().refine((s) => parseTimeOfDay(s) !== null, {
  error: (issue) => `expected a time of day as HH:MM (24-hour, e.g. "09:00"), got ${echoValue(issue.input)}`,
});
const TimeZone = z.string().refine(isTimeZone, {
  error: (issue) => `unknown time zone ${echoValue(issue.input)}: use an IANA name such as Europe/Berlin, America/New_York or UTC`,
});
const CalendarDate = z.string().refine(isCalendarDate, {
  error: (issue) => `expected a date as YYYY-MM-DD (e.g. 2025-01-06), got ${echoValue(issue.input)}`,
});
/** Checked for being a date-time in the section's refinement (an ISO time without an offset is read in its zone). */
const IsoInstant = z.string().min(1);

export const OnCallRotation = z
  .strictObject({
    /** In order: the first person's shift begins at `start`, the next one's a period later, round and round. */
    people: z.array(Identifier).min(1),
    period: z.enum(['daily', 'weekly']),
    /** Wall-clock time of the handoff in `oncall.timezone`. */
    handoff: TimeOfDay,
    /** Weekly rotations: the weekday shifts begin on (`start` must fall on it). */
    handoffDay: z.enum(WEEKDAYS).optional(),
    /** The date the first person's shift begins (at `handoff`). */
    start: CalendarDate,
  })
  .superRefine((r, ctx) => {
    if (r.period === 'weekly' && r.handoffDay === undefined)
      ctx.addIssue({ code: 'custom', path: ['handoffDay'], message: 'a weekly rotation needs the weekday shifts begin on (e.g. monday)' });
    if (r.period === 'daily' && r.handoffDay !== undefined)
      ctx.addIssue({ code: 'custom', path: ['handoffDay'], message: 'only for weekly rotations: a daily one hands off every day' });
    if (r.period === 'weekly' && r.handoffDay !== undefined && isCalendarDate(r.start) && weekdayOf(r.start) !== r.handoffDay)
      ctx.addIssue({
        code: 'custom',
        path: ['start'],
        message: `${r.start} is a ${weekdayOf(r.start)}: a weekly rotation's first shift begins on its handoffDay (${r.handoffDay})`,
      });
  });

/** Who is on call: a rotation and overrides. Without a rotation, the people with `onCall: true` are. */
export const OnCallSection = z
  .strictObject({
    /** IANA zone of the handoffs; /oncall shows and reads times in it. */
    timezone: TimeZone.default('UTC'),
    rotation: OnCallRotation.optional(),
    /** Someone else on call for a while (they beat the rotation; /oncall set adds more from chat). */
    overrides: z.array(z.strictObject({ person: Identifier, from: IsoInstant, until: IsoInstant })).default([]),
  })
  .superRefine((o, ctx) => {
    // Times without an offset are read in the zone: with an unknown zone (reported above) they cannot be checked.
    if (!isTimeZone(o.timezone)) return;
    o.overrides.forEach((override, i) => {
      const from = parseInstant(override.from, o.timezone);
      const until = parseInstant(override.until, o.timezone);
      const expected = (value: string) =>
        `expected an ISO date-time such as 2025-03-01T09:00 (in ${o.timezone}) or 2025-03-01T09:00+01:00, got ${echoValue(value)}`;
      if (!from) ctx.addIssue({ code: 'custom', path: ['overrides', i, 'from'], message: expected(override.from) });
      if (!until) ctx.addIssue({ code: 'custom', path: ['overrides', i, 'until'], message: expected(override.until) });
      if (from && until && until <= from)
        ctx.addIssue({ code: 'custom', path: ['overrides', i, 'until'], message: `must be after from (${override.from})` });
    });
  });
export type OnCallSection = z.infer<typeof OnCallSection>;

export const Config = z
  .strictObject({
    redis: z
      .strictObject({
        url: z
          .string()
          .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
          .default('redis://127.0.0.1:6379'),
        /** Hash-tagged so all keys share one Redis Cluster slot. */
        prefix: z
          .string()
          .regex(/^\{[A-Za-z0-9_.-]+\}$/, 'must be a hash tag such as {xenops}')
          .default('{xenops}'),
        /**
         * A Redis Cluster: `url` (and `nodes`) are seed nodes, the others are discovered. Every key is under the
         * prefix's hash tag, so xenops and its queues live in one slot, on one master. Default: one Redis server.
         */
        cluster: z.boolean().default(false),
        /** More seed nodes of the Cluster besides `url` (tried when it does not answer); only with `cluster: true`. */
        nodes: z.array(z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')).default([]),
      })
      .refine((r) => r.cluster || r.nodes.length === 0, {
        path: ['nodes'],
        message: 'seed nodes are for a Redis Cluster: set cluster: true',
      })
      .default({ url: 'redis://127.0.0.1:6379', prefix: '{xenops}', cluster: false, nodes: [] }),
    ssh: SshDefaults.default(SshDefaults.parse({})),
    hosts: z.record(HostName, HostConfig).refine((h) => Object.keys(h).length > 0, 'define at least one host'),
    people: z.record(Identifier, Person).default({}),
    /** Who is on call (a rotation, overrides); omitted = the people with `onCall: true`. */
    oncall: OnCallSection.optional(),
    roles: z.record(Identifier, Role).default({}),
    /** Extra permission groups: name → permissions (or other groups). Built-ins: read, operate, admin. */
    permissionGroups: z.record(Identifier, z.array(z.string().min(1))).default({}),
    /** Where commands may be used. No entry for a platform = no channel of it is allowed (deny by default). */
    channels: z.array(ChannelPolicy).default([]),
    /** Per-command risk overrides (e.g. make `stop` dangerous so it always needs approval). */
    commands: z.record(z.string(), z.strictObject({ risk: RiskOverride.optional(), disabled: z.boolean().optional() })).default({}),
    terminal: z
      .strictObject({
        defaultUser: z.string().min(1).default('operator'),
        /** Attachments (charts, long console snapshots, full xl info) are written here and the reply prints the path. */
        attachmentsDir: z.string().min(1).default('var/attachments'),
        /**
         * Lines may start with `@person` to speak as them: the demo's way of playing several people. Off by default: at
         * a real terminal it lets one person approve their own request as someone else (the two-person rule).
         */
        speakAs: z.boolean().default(false),
      })
      .default({ defaultUser: 'operator', attachmentsDir: 'var/attachments', speakAs: false }),
    discord: DiscordConfig.optional(),
    telegram: TelegramConfig.optional(),
    audit: z
      .strictObject({
        file: z.string().min(1).default('var/audit.jsonl'),
        streamMaxLen: yamlNumber(z.number().int().min(100)).default(10_000),
        /**
         * Entries gather this long before one script call appends them to the stream (the file gets each at once; a
         * mutation's request entry goes at once). 0: every entry on its own.
         */
        streamLingerMs: yamlNumber(z.number().int().min(0).max(5_000)).default(50),
      })
      .default({ file: 'var/audit.jsonl', streamMaxLen: 10_000, streamLingerMs: 50 }),
    agent: z
      .strictObject({
        /** Hosts this agent serves; omitted = all. Several agents (one per site) serve disjoint sets. */
        hosts: z.array(HostName).optional(),
        /** Jobs run at once per host queue. */
        concurrency: yamlNumber(z.number().int().min(1).max(9)).default(2),
        /** How often the agent says it is alive, per host it serves (the bot refuses mutations for silent hosts). */
        heartbeatMs: Millis.default(2_000),
        /** BullMQ job lock: when an agent dies its job is handed to another within about this plus stalledIntervalMs. */
        lockDurationMs: Millis.default(5_000),
        /** How often workers look for the jobs of dead agents (the first check runs at start). */
        stalledIntervalMs: Millis.default(3_000),
        /** How many agent deaths a job survives (it is resumed, reading the state back) before it is given up. */
        maxStalledCount: yamlNumber(z.number().int().min(1).max(100)).default(3),
        /** On SIGTERM: how long running jobs may finish before they are handed back to the queue for another agent. */
        closeGraceMs: Millis.default(3_000),
        /** /healthz, /readyz (workers running, Redis reachable) and /metrics of the agent; off by default. */
        http: opsHttpSection(DEFAULT_AGENT_HTTP_PORT),
      })
      .default({
        concurrency: 2,
        heartbeatMs: 2_000,
        lockDurationMs: 5_000,
        stalledIntervalMs: 3_000,
        maxStalledCount: 3,
        closeGraceMs: 3_000,
        http: { enabled: false, host: '127.0.0.1', port: DEFAULT_AGENT_HTTP_PORT, allowNonLoopback: false },
      }),
    /** The agent's live sampling: one `xentop -b -d N -f` per host, samples and history in Redis, fleet events. */
    sampling: z
      .strictObject({
        enabled: z.boolean().default(true),
        /** xentop's -d: seconds between samples. */
        intervalSeconds: yamlNumber(z.number().int().min(1).max(60)).default(5),
        /** One history point (averages/maxima of the samples) per this many seconds. */
        historyEverySeconds: yamlNumber(z.number().int().min(1).max(3600)).default(60),
        /** How much history each host keeps. */
        historyHours: yamlNumber(z.number().int().min(1).max(168)).default(24),
        /** Consecutive failed (re)starts of a host's stream before a host.unreachable event. */
        unreachableAfterFailures: yamlNumber(z.number().int().min(1).max(100)).default(2),
      })
      .default({ enabled: true, intervalSeconds: 5, historyEverySeconds: 60, historyHours: 24, unreachableAfterFailures: 2 }),
    bot: z
      .strictObject({
        /** How long a read command waits for a host's answer before reporting "no answer". */
        readTimeoutMs: Millis.default(60_000),
        /** How often the fleet cache (autocomplete, domain lookup) refreshes. */
        fleetRefreshMs: Millis.default(60_000),
        /** A mutation no agent picked up within this time is withdrawn (and never runs later). */
        pickupTimeoutMs: Millis.default(60_000),
        /**
         * A change sent longer ago than this when the bot takes it in is refused, not run late: Telegram hands over what
         * was sent while no bot polled, for up to a day. Reads are answered whatever their age.
         */
        maxCommandAgeMs: Millis.default(300_000),
        /** An agent silent for this long counts as gone: mutations for its hosts are refused at once. */
        agentStaleMs: Millis.default(10_000),
        /**
         * How long a request's later replies (progress, result) wait for its "queued" reply to reach the platform: one
         * that hangs must not hold the result back.
         */
        queuedReplyWaitMs: Millis.default(10_000),
        /**
         * How long a request's "queued" reply waits before it is sent: a result (or progress) that comes first is sent
         * in its place, so a quick read is one message, not a message and an edit. 0 sends it at once.
         */
        queuedReplyDelayMs: yamlNumber(z.number().int().min(0)).default(1_000),
        /** /healthz, /readyz (Redis, a live agent per host, chat adapters connected) and /metrics of the bot; off by default. */
        http: opsHttpSection(DEFAULT_BOT_HTTP_PORT),
        /** High availability: only the holder of a leader lease in Redis runs Telegram and Discord; others stand by. */
        ha: HaSection,
      })
      .default({
        readTimeoutMs: 60_000,
        fleetRefreshMs: 60_000,
        pickupTimeoutMs: 60_000,
        maxCommandAgeMs: 300_000,
        agentStaleMs: 10_000,
        queuedReplyWaitMs: 10_000,
        queuedReplyDelayMs: 1_000,
        http: { enabled: false, host: '127.0.0.1', port: DEFAULT_BOT_HTTP_PORT, allowNonLoopback: false },
        ha: { enabled: true, leaseMs: DEFAULT_HA_LEASE_MS },
      }),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Demo and tests only: the simulated fleet `xenops sim` and `npm run demo` serve. Ignored by bot and agent. */
    simulator: SimFleetSpecSchema.optional(),
    /** Which risky commands need another person's approval, who may give it, and where requests are announced. */
    approvals: ApprovalsSection,
    /** Windows in which mutating commands on some hosts are refused (reads go on); /freeze adds more from chat. */
    maintenance: z.array(MaintenanceWindow).default([]),
    /** Scheduled posts (status, top, digest) defined here; /schedule adds more from chat. */
    schedules: z.record(Identifier, ConfigSchedule).default({}),
    /** State changes nobody asked xenops for (a crash, a guest started or stopped by hand, a host gone). */
    alerts: AlertsSection,
    /** How status posts and digests look. */
    posts: PostsSection,
    /** Placing guests: /evacuate and /rebalance. */
    fleet: z
      .strictObject({
        /**
         * Free memory (MiB) a host must keep after a guest is migrated onto it: headroom for Xen's per-domain
         * overhead and for guests ballooning up towards their maxmem after they are placed. A guest is only placed
         * where free_memory − its memory ≥ this.
         */
        memoryReserveMiB: yamlNumber(z.number().int().min(0).max(1_048_576)).default(512),
      })
      .default({ memoryReserveMiB: 512 }),
  })
  .superRefine((c, ctx) => {
    for (const issue of crossCheckConfig(c)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    // A beat slower than the staleness limit makes a healthy agent look gone between beats (mutations refused).
    if (c.agent.heartbeatMs >= c.bot.agentStaleMs)
      ctx.addIssue({
        code: 'custom',
        path: ['agent', 'heartbeatMs'],
        message: `must be below bot.agentStaleMs (${c.bot.agentStaleMs}), or a running agent counts as gone between beats; a bot with a config of its own must keep the same rule`,
      });
  });
export type Config = z.infer<typeof Config>;
export type ConfigInput = z.input<typeof Config>;

/**
 * References between sections (roles named by people, hosts named by the agent, identities held twice) and each
 * host's key and pin.
 * Reads defensively so the loader can also run it on a file that failed the schema and list every problem at once.
 */
export function crossCheckConfig(raw: unknown): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const c = (raw ?? {}) as {
    roles?: Record<string, unknown>;
    hosts?: Record<string, unknown>;
    people?: Record<string, { roles?: unknown; identities?: Record<string, unknown> } | undefined>;
    discord?: { roleBindings?: Record<string, unknown> };
    telegram?: { anonymousAdminRoles?: unknown };
    agent?: { hosts?: unknown };
    oncall?: { rotation?: { people?: unknown }; overrides?: unknown };
    schedules?: Record<string, { as?: unknown; host?: unknown } | null>;
    channels?: unknown;
  };
  const roleNames = new Set(Object.keys(c.roles ?? {}));
  const checkRoles = (roles: unknown, path: (string | number)[]) => {
    if (!Array.isArray(roles)) return;
    roles.forEach((r, i) => {
      if (typeof r === 'string' && !roleNames.has(r)) issues.push({ path: [...path, i], message: `unknown role "${r}"` });
    });
  };
  const seen = new Map<string, string>();
  for (const [person, p] of Object.entries(c.people ?? {})) {
    checkRoles(p?.roles, ['people', person, 'roles']);
    // One identity must map to one person, or the audit trail and approvals could confuse two people.
    for (const [platform, id] of Object.entries(p?.identities ?? {})) {
      if (id === undefined || id === null) continue;
      const key = `${platform}:${String(id)}`;
      const other = seen.get(key);
      if (other) issues.push({ path: ['people', person, 'identities', platform], message: `${key} is already ${other}'s identity` });
      else seen.set(key, person);
    }
  }
  for (const [roleId, roles] of Object.entries(c.discord?.roleBindings ?? {})) checkRoles(roles, ['discord', 'roleBindings', roleId]);
  // A misspelt one left anonymous admins with no role at all, silently.
  checkRoles(c.telegram?.anonymousAdminRoles, ['telegram', 'anonymousAdminRoles']);
  if (c.hosts !== null && typeof c.hosts === 'object') {
    for (const [name, host] of Object.entries(c.hosts)) {
      for (const p of hostProblems(host)) issues.push({ path: ['hosts', name, ...p.path], message: p.message });
    }
  }
  // Everyone the on-call schedule names must be a person of the config.
  const people = Object.keys(c.people ?? {});
  const checkPerson = (name: unknown, path: (string | number)[]) => {
    if (typeof name === 'string' && !people.includes(name))
      issues.push({ path, message: `unknown person "${name}" (people: ${people.join(', ') || 'none'})` });
  };
  if (Array.isArray(c.oncall?.rotation?.people)) {
    c.oncall.rotation.people.forEach((p, i) => {
      checkPerson(p, ['oncall', 'rotation', 'people', i]);
    });
  }
  if (Array.isArray(c.oncall?.overrides)) {
    c.oncall.overrides.forEach((o, i) => {
      checkPerson((o as { person?: unknown } | null)?.person, ['oncall', 'overrides', i, 'person']);
    });
  }
  // A schedule runs as a person of the config, on a host of the config. Own keys only: `in` found "constructor" in any
  // object, so a host of that name passed for configured.
  for (const [name, sched] of Object.entries(c.schedules ?? {})) {
    checkPerson(sched?.as, ['schedules', name, 'as']);
    if (typeof sched?.host === 'string' && !Object.hasOwn(c.hosts ?? {}, sched.host))
      issues.push({ path: ['schedules', name, 'host'], message: `unknown host "${sched.host}"` });
  }
  // Only a channel's first entry is ever looked up: a second one (narrowing its commands, say) was silently ignored.
  if (Array.isArray(c.channels)) {
    const first = new Map<string, number>();
    c.channels.forEach((ch: unknown, i) => {
      const { platform, id } = (ch ?? {}) as { platform?: unknown; id?: unknown };
      if (typeof platform !== 'string' || (typeof id !== 'string' && typeof id !== 'number')) return;
      const key = `${platform}:${String(id)}`;
      const j = first.get(key);
      if (j === undefined) first.set(key, i);
      else
        issues.push({
          path: ['channels', i],
          message: `${platform} channel ${echoValue(String(id))} is listed already (channels[${j}]): merge the two`,
        });
    });
  }
  if (Array.isArray(c.agent?.hosts)) {
    c.agent.hosts.forEach((h, i, all) => {
      if (typeof h === 'string' && !Object.hasOwn(c.hosts ?? {}, h))
        issues.push({ path: ['agent', 'hosts', i], message: `unknown host "${h}"` });
      // Twice would start two workers on the host's queue: twice agent.concurrency jobs there at once.
      else if (all.indexOf(h) !== i) issues.push({ path: ['agent', 'hosts', i], message: `"${h}" is listed twice` });
    });
  }
  return issues;
}
