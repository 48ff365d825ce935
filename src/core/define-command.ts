import { z } from 'zod';
import type { JobData, JobFailure, JobOp, JobProgress, JobResult } from '../queue/jobs.ts';
import type { FleetChange } from './changes.ts';
import type { CommandOptionSpec, CommandSpec, Risk } from './command-spec.ts';
import type { FleetView } from './fleet-view.ts';
import type { RunsElsewhere } from './moved-away.ts';
import type { OnCallAccess } from './oncall.ts';
import type { Block, Reply } from './reply.ts';
import type { ScheduleSpec } from './schedule.ts';
import type { ToolstackKind } from './xen.ts';

export type { Risk };

/** Where a command's targets come from. */
export type Scope =
  /** optional `host` argument: that host, or every host */
  | 'fleet'
  /** required `host` argument */
  | 'host'
  /** a `domain` argument found across the fleet (`host:domain` when ambiguous) */
  | 'domain'
  /** runs in the bot (help, whoami, audit) */
  | 'local';

/** Failures the bot itself records for a host: no answer in time, no live agent to ask. */
export type BotFailure = { code: 'noAnswer' | 'noAgent'; message: string };

/** The agent serving a host, as its heartbeat last said (for /status). */
export interface AgentSighting {
  /** `pid@hostname` of the agent process. */
  where: string;
  /** Milliseconds since its last heartbeat when the reply was rendered. */
  seenAgoMs: number;
  alive: boolean;
}

/** What one host answered. */
export type HostOutcome<Op extends JobOp> = (
  | { host: string; ok: true; result: JobResult<Op> }
  | { host: string; ok: false; failure: JobFailure | BotFailure }
) & { agent?: AgentSighting | null; frozen?: string | null };

/** A chart the relay rendered for a reply: the PNG (null when rendering failed) and the text fallback. */
export interface RenderedChart {
  host: string;
  png: Uint8Array | null;
  text: string;
}

/** What a render gets besides the outcomes: the moment, the post settings, and what the relay prepared. */
export interface RenderContext {
  now: number;
  posts: { topDomains: number; hostRows: number; changeRows: number };
  /** A scheduled status post: what changed since that schedule's previous post; null on its first; absent otherwise. */
  changes?: FleetChange[] | null;
  /** When the schedule's previous post was made (for "since 12:00"). */
  changesSince?: number | null;
  /** A scheduled post: its schedule's id (two schedules posting in one channel are told apart by it). */
  scheduleId?: string;
  charts?: RenderedChart[];
  /**
   * A plan's final reply: every step in order (the outcomes are the steps that ran, a prefix of these), and what
   * the plan showed before it ran (`PlanResult.summary`).
   */
  plan?: { steps: JobSpec[]; summary: Block[] };
  /** Hosts frozen after the plan's last step succeeded (`freezeAfter`), or why that failed. */
  froze?: { hosts: string[]; reason: string; kept?: string[] } | { error: string };
  /** Free memory a target keeps after a guest lands (config `fleet.memoryReserveMiB`). */
  memoryReserveMiB?: number;
  /**
   * A guest named bare that its host said it does not run, found running on other hosts the asker may use (moved
   * outside xenops since the bot last heard): the relay answers that (runsElsewhereReply) in place of the command's
   * render, for every command alike.
   */
  runsElsewhere?: RunsElsewhere;
  /**
   * The fleet as the bot last heard it, and the hosts the asker may know about (never name others): what a precheck
   * sees, for a read that must say what the change would be refused for (/autostart: it starts with another host).
   */
  fleet?: Pick<PrecheckContext, 'view' | 'visible'>;
}

/** A render context with the default post settings (tests, and renders outside the relay). */
export function renderContext(over: Partial<RenderContext> = {}): RenderContext {
  return { now: Date.now(), posts: { topDomains: 5, hostRows: 20, changeRows: 20 }, ...over };
}

/** A job without its meta: distributive, so `op` still narrows the rest. */
export type JobSpec = JobData extends unknown ? (JobData extends infer J ? (J extends unknown ? Omit<J, 'meta'> : never) : never) : never;

/** What a precheck sees: the fleet as last heard, and the hosts the asker may know about (never name others). */
export interface PrecheckContext {
  view: FleetView;
  visible: readonly string[];
  /** Whether the asker holds a permission on a host (and domain): a plan picks only what the asker may do. */
  may?: (permission: string, host: string, domain?: string) => boolean;
  /** The toolstack the config names for a host; null when it is left to detection (`auto`). */
  toolstack?: (host: string) => ToolstackKind | null;
}

/**
 * What a plan makes: its jobs (run one after another) and what it shows before they run (the approval card, and
 * again in the final reply) — or a reason to refuse, before anything is queued.
 */
export type PlanResult = { jobs: JobSpec[]; summary?: Block[] } | { refuse: string };

/** A resolved target: the host a job runs on and, for domain commands, the domain's name there. */
export interface Target {
  host: string;
  domain?: string;
}

export interface LocalContext {
  /** Epoch ms on the deployment's shared clock, which audit entries are stamped with: `since:24h` counts back from it. */
  now: () => number;
  person: string | null;
  platformUserId: string;
  platform: string;
  /** Commands this person may run here (for help). */
  allowedCommands: () => ExplainedCommand[];
  roles: readonly string[];
  /** Who is on call; `set` is authorized (oncall.set) and audited by the bot. */
  oncall: OnCallAccess;
  /** Freeze and unfreeze hosts as this person (host.freeze is checked per host). */
  freezes: {
    freeze(hosts: string[], until: Date | null, reason: string): Promise<Reply>;
    unfreeze(hosts: string[]): Promise<Reply>;
    /** The zone `until` is read in. */
    zone: string;
    /** Whether `name` is a host this person may freeze (a reason starting with one was meant as a second host). */
    isHost(name: string): boolean;
  };
  /** Decide approval requests as this person: the desk checks who may, records it and runs what was approved. */
  approvals: {
    approve(id: string): Promise<Reply>;
    deny(id: string, reason: string | undefined): Promise<Reply>;
    /** What waits for this person's approval, and their own requests still waiting. */
    waiting(): Promise<Reply>;
  };
  /** Scheduled posts: add and remove are authorized (schedule.manage) and audited by the bot. */
  schedules: ScheduleAccess;
  /**
   * The newest `n` audit entries matching every given filter, newest first (`since`: epoch ms, on `now`'s clock).
   * The read is bounded:
   * `bounded` says it stopped after `scanned` entries with fewer than `n` found, so older matches may exist.
   */
  readAudit: (query: {
    n: number;
    person?: string;
    host?: string;
    domain?: string;
    command?: string;
    since?: number;
  }) => Promise<{ entries: Record<string, string>[]; scanned: number; bounded: boolean }>;
  /**
   * What /audit's filters are checked against, so a mistyped name is said as such rather than as "nothing happened":
   * the config's hosts (and those whose audit this person may read), its people and their platform ids, and the
   * commands xenops has. The audit may name others (a host since removed, a command typed wrong): never refused.
   */
  auditNames: () => {
    hosts: readonly string[];
    readableHosts: readonly string[];
    people: readonly string[];
    platformIds: readonly string[];
    commands: readonly string[];
  };
}

export interface ScheduleAccess {
  /** Hosts of the config (for `top <host>`). */
  hosts: readonly string[];
  add(input: {
    what: ScheduleSpec['what'];
    host: string | null;
    when: ScheduleSpec['when'];
    /** Another channel of the same platform; null = here. */
    channelId: string | null;
    mode: ScheduleSpec['mode'];
  }): Promise<Reply>;
  list(): Promise<Reply>;
  remove(id: string): Promise<Reply>;
}

interface BaseDefinition<S extends z.ZodObject> {
  name: string;
  description: string;
  args: S;
  /** Field order for text arguments: `/stop web` → { domain: 'web' }. */
  positional: readonly (keyof z.infer<S> & string)[];
  /** The last positional takes the rest of the line (`reason` always does). */
  restOfLine?: keyof z.infer<S> & string;
  /**
   * The usage line, when the one derived from the schema would hide part of the syntax (a word the command itself
   * reads out of another argument, as /freeze reads its until from the reason's first word).
   */
  usage?: string;
  /**
   * What each placeholder of `usage` that is no argument of the schema takes (/freeze's `until`, read off its reason),
   * by name: /help gives it a row, as it gives each argument one.
   */
  placeholders?: Readonly<Record<string, string>>;
  /** null = any known person (help, whoami). */
  permission: string | null;
  risk: Risk | ((args: z.infer<S>) => Risk);
  examples: readonly string[];
}

export interface JobCommand<S extends z.ZodObject, Op extends JobOp> extends BaseDefinition<S> {
  scope: 'fleet' | 'host' | 'domain';
  op: Op;
  job: (args: z.infer<S>, target: Target) => JobSpec & { op: Op };
  /** Other hosts the command acts on (a migration's target): each must exist and is authorized like the target. */
  touches?: (args: z.infer<S>) => string[];
  /**
   * Checks that can be made before queueing, from the bot's fleet view: a reason to refuse, or null. The agent
   * checks again on the host; this only spares the user a queued job that cannot succeed.
   */
  precheck?: (args: z.infer<S>, target: Target, ctx: PrecheckContext) => string | null;
  /**
   * A plan: jobs that run one after another, stopping at the first failure, under one progress message. Without
   * it (or when it returns null), a command makes one job per target, run in parallel. Every job of a plan is
   * authorized like a command of its own (its op's permission on its host and domain, a migration's on its target
   * too).
   */
  plan?: (args: z.infer<S>, target: Target, view: FleetView, ctx: PrecheckContext) => JobSpec[] | PlanResult | null;
  /**
   * Hosts whose capacity the plan needs fresh (free memory, running guests, live CPU): the bot reads them (a
   * host.status job each) right before deciding, and `view.capacity` holds only that reading. null = none needed.
   */
  capacity?: (args: z.infer<S>, visible: readonly string[]) => string[] | null;
  /** Hosts to freeze once every step of the plan succeeded (until /unfreeze), and why; the render is told (ctx.froze). */
  freezeAfter?: (args: z.infer<S>, steps: readonly JobSpec[]) => { hosts: string[]; reason: string } | null;
  render: (outcomes: HostOutcome<Op>[], args: z.infer<S>, ctx: RenderContext) => Reply;
  /** Its render shows each host's agent and freeze: the relay reads them (two more Redis reads) only then. */
  showsHostHealth?: boolean;
  /** Hosts whose last hour the reply charts (a PNG each, with a text fallback): the relay renders them before render(). */
  charts?: (args: z.infer<S>, outcomes: HostOutcome<Op>[]) => string[];
  renderProgress?: (progress: JobProgress, args: z.infer<S>) => Reply;
}

export interface LocalCommand<S extends z.ZodObject> extends BaseDefinition<S> {
  scope: 'local';
  run: (args: z.infer<S>, ctx: LocalContext) => Promise<Reply> | Reply;
}

// biome-ignore lint/suspicious/noExplicitAny: a registry holds commands of every argument shape
export type AnyCommand = JobCommand<any, any> | LocalCommand<any>;

/** Returns its input unchanged, with the argument and result types inferred. */
export function defineCommand<S extends z.ZodObject, Op extends JobOp>(def: JobCommand<S, Op>): JobCommand<S, Op>;
export function defineCommand<S extends z.ZodObject>(def: LocalCommand<S>): LocalCommand<S>;
export function defineCommand(def: AnyCommand): AnyCommand {
  return def;
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; optional: boolean } {
  let s = schema;
  let optional = false;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault) {
      optional = true;
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else return { inner: s, optional };
  }
}

/** Option metadata for adapters, derived from the zod schema: never written twice. */
export function optionSpecs(command: AnyCommand): CommandOptionSpec[] {
  const shape = command.args.shape as Record<string, z.ZodType>;
  const order = [...command.positional, ...Object.keys(shape).filter((k) => !command.positional.includes(k))];
  const specs = order.map((name): CommandOptionSpec => {
    const field = shape[name] as z.ZodType;
    const { inner, optional } = unwrap(field);
    const type = inner instanceof z.ZodBoolean ? 'boolean' : inner instanceof z.ZodNumber ? 'integer' : 'string';
    const spec: CommandOptionSpec = { name, description: field.description ?? inner.description ?? name, type, required: !optional };
    if (name === 'domain') spec.autocomplete = 'domain';
    if (name === 'host' || name === 'target') spec.autocomplete = 'host';
    if (inner instanceof z.ZodNumber) {
      if (inner.minValue !== null && Number.isFinite(inner.minValue)) spec.min = inner.minValue;
      if (inner.maxValue !== null && Number.isFinite(inner.maxValue)) spec.max = inner.maxValue;
    }
    return spec;
  });
  // Platforms want required options first.
  return [...specs.filter((s) => s.required), ...specs.filter((s) => !s.required)];
}

export function usageOf(command: AnyCommand): string {
  if (command.usage !== undefined) return command.usage;
  const parts = optionSpecs(command).map((o) => {
    if (o.type === 'boolean') return `[--${o.name}]`;
    const positional = command.positional.includes(o.name);
    const word = positional ? `<${o.name}>` : `--${o.name} <${o.name}>`;
    return o.required ? word : `[${word}]`;
  });
  return [`/${command.name}`, ...parts].join(' ');
}

/**
 * A command's free-text `reason`: at most 200 characters, shown to `shownTo` (the approver's card, the requester),
 * its control characters escaped where it is shown.
 */
export function reasonArg(shownTo: string) {
  return z.string().trim().max(200).optional().describe(`why (shown to ${shownTo})`);
}

export function riskOf(command: AnyCommand, args: unknown): Risk {
  // biome-ignore lint/suspicious/noExplicitAny: args were parsed by this command's own schema
  return typeof command.risk === 'function' ? command.risk(args as any) : command.risk;
}

/** A command as /help explains it: its spec, and what each placeholder of its usage that is no argument takes. */
export interface ExplainedCommand extends CommandSpec {
  placeholders?: Readonly<Record<string, string>>;
}

export function commandSpec(command: AnyCommand): ExplainedCommand {
  return {
    name: command.name,
    description: command.description,
    options: optionSpecs(command),
    usage: usageOf(command),
    permission: command.permission,
    risk: baselineRisk(command),
    ...(command.placeholders ? { placeholders: command.placeholders } : {}),
  };
}

/** The risk of a command run with its defaults (`/stop web` is write; only `--force` makes it dangerous). */
function baselineRisk(command: AnyCommand): Risk {
  if (typeof command.risk !== 'function') return command.risk;
  // The fields alone: zod makes no .partial() of an object with a check of its own (/oncall's until with its action).
  const defaults = z.strictObject(command.args.shape).partial().safeParse({});
  return defaults.success ? riskOf(command, defaults.data) : 'dangerous';
}

export function commandSpecs(commands: readonly AnyCommand[]): CommandSpec[] {
  return commands.map(commandSpec);
}
