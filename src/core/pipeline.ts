import type { ApprovalPolicy as ApprovalPolicyConfig } from '../config/approvals-schema.ts';
import type { Config } from '../config/schema.ts';
import { isMutating, opSpec } from '../queue/ops.ts';
import { policyFor } from './approval-policy.ts';
import { argumentRefusal } from './arg-refusal.ts';
import { echoCommand, echoValue, parseArgs, withoutSecrets } from './args.ts';
import {
  authorize,
  channelAllowsCommand,
  channelPolicy,
  domainLimited,
  type Identity,
  identify,
  isAnonymous,
  type Person,
} from './authorize.ts';
import type { AnyCommand, JobCommand, JobSpec, LocalCommand, PrecheckContext, Risk, Target } from './define-command.ts';
import { riskOf } from './define-command.ts';
import { type DomainRef, formatDomainRef, isUuid, onConfiguredHost } from './domain-ref.ts';
import { nearestName } from './edit-distance.ts';
import { UserError } from './errors.ts';
import { type FleetView, hostsRunning } from './fleet-view.ts';
import { NAMED_HOSTS_MAX } from './host-groups.ts';
import { redactSecrets } from './log.ts';
import { DOM0_NAME, DomainName } from './names.ts';
import { type Block, type Reply, reply } from './reply.ts';
import type { ChatRequest } from './request.ts';
import { ago, clockUtc, dateTimeUtc, isTime } from './time-text.ts';

/**
 * The request pipeline, pure: parse → identify → authorize → resolve targets → precheck → (approval) → a
 * Decision. Everything here is a function of the request, the config and a snapshot of the fleet; the I/O shell
 * (src/app/dispatch.ts) carries the decision out.
 */

export interface PipelineContext {
  config: Config;
  commands: ReadonlyMap<string, AnyCommand>;
  /**
   * A local wall-clock time (a request's receivedAt) on the deployment's shared clock, which is true time as a
   * platform's own stamps are (Telegram's `date`): a bot whose machine clock is off judges a command's age on this.
   * Absent (tests, pure use): the local clock.
   */
  sharedTime?: (localMs: number) => number;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds commands of every argument and op type
export type AnyJobCommand = JobCommand<any, any>;

/** A request that passed parsing, identification, the channel and a permission dry run. Only `evaluate` makes one. */
export interface Evaluated {
  readonly command: AnyCommand;
  readonly args: Record<string, unknown>;
  readonly person: Person;
  readonly risk: Risk;
}

export interface Rejection {
  kind: 'reject';
  reply: Reply;
  /** One line for the audit trail. */
  reason: string;
  /** The person, when known (the audit names them). */
  person: string | null;
  /**
   * `notFound`: a lookup found nothing — the shell may explain why (hosts that did not answer). `precheck`: the
   * command's own check refused it on the fleet view (see decide).
   */
  code?: 'notFound' | 'precheck';
  /** What it refused, when that was resolved before the refusal (the audit records these, not what was typed). */
  targets?: Target[];
}

export type Decision =
  | Rejection
  /** The approval step held it: it runs once someone else approves exactly it (src/app/approval-desk.ts). */
  | {
      kind: 'needsApproval';
      evaluated: Evaluated;
      command: AnyJobCommand;
      targets: Target[];
      mode: 'parallel' | 'sequence';
      jobs: JobSpec[];
      policy: ApprovalPolicyConfig;
      /** What a plan shows before it runs (the approval card shows it). */
      summary?: Block[];
    }
  | { kind: 'local'; evaluated: Evaluated; command: LocalCommand<never> }
  | {
      kind: 'enqueue';
      evaluated: Evaluated;
      command: AnyJobCommand;
      targets: Target[];
      /** parallel = one job per target at once (fan-out); sequence = a plan, one after another. */
      mode: 'parallel' | 'sequence';
      jobs: JobSpec[];
      mutating: boolean;
      /** What a plan shows before it runs (kept for its final reply). */
      summary?: Block[];
    };

export function reject(title: string, message: string, person: string | null, usage?: string): Rejection {
  return { kind: 'reject', reply: reply.error(title, message, usage), reason: `${title}: ${message}`, person };
}

export function isRejection(x: unknown): x is Rejection {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'reject';
}

function identifyRequest(config: Config, req: ChatRequest): Identity {
  if (req.source === 'system' && req.asPerson !== undefined) {
    const p = config.people[req.asPerson];
    if (!p) return { ok: false, code: 'auth.unknownPerson', message: `no person ${req.asPerson} in the config` };
    return { ok: true, person: { id: req.asPerson, displayName: p.displayName ?? req.asPerson, roles: [...p.roles] } };
  }
  return identify(config, req.actor);
}

/** Command, person, channel, arguments and a permission dry run: no I/O, so adapters may call it within 3 s. */
export function evaluate(ctx: PipelineContext, req: ChatRequest): Evaluated | Rejection {
  const { config } = ctx;
  const command = ctx.commands.get(req.command.toLowerCase());
  const who = identifyRequest(config, req);
  const personId = who.ok ? who.person.id : null;
  if (!command || config.commands[command.name]?.disabled) {
    const near = command ? null : nearestCommand(req.command.toLowerCase(), ctx, req);
    return reject(
      'Unknown command',
      // Escaped like any echoed value (line breaks, bidi controls), without the quotes: the reason stays one line.
      `there is no ${echoCommand(req.command)} here — ${near ? `did you mean /${near}? ` : ''}/help lists what you can run`,
      personId,
    );
  }
  if (!who.ok) {
    if (command.name === 'whoami')
      return { command, args: {}, person: { id: '', displayName: req.actor.displayName, roles: [] }, risk: 'read' };
    return reject('Not allowed', who.message, null);
  }
  const here = channelRefusal(config, req, command, personId);
  if (here) return here;
  let args: Record<string, unknown>;
  try {
    // A host the person may use, for the hint at `/list xen1:web` (a host is never suggested to one who may not).
    const permission = command.permission;
    const isHost = (h: string) =>
      Object.hasOwn(config.hosts, h) && (permission === null || authorize(config, who.person, permission, { host: h }).allowed);
    args = withoutSecrets(parseArgs(command, req.args, isHost));
  } catch (error) {
    if (error instanceof UserError) {
      // It may quote what was typed.
      const r = reject(`Bad arguments for /${command.name}`, redactSecrets(error.message), personId, error.context.usage);
      return r;
    }
    throw error;
  }
  if (command.permission !== null) {
    const host = command.scope === 'host' || command.scope === 'fleet' ? args['host'] : undefined;
    // `/list xen1,xen2`: each host named is checked, and refused in the same words, as it is named alone.
    const targets = typeof host === 'string' ? [{ host }] : Array.isArray(host) ? host.map((h) => ({ host: String(h) })) : [{}];
    for (const target of targets) {
      const decision = authorize(config, who.person, command.permission, target, `run /${command.name}`);
      if (!decision.allowed) return reject('Not allowed', decision.message, personId);
    }
  }
  const risk = config.commands[command.name]?.risk ?? riskOf(command, args);
  return staleRefusal(ctx, req, command.name, risk, personId) ?? { command, args, person: who.person, risk };
}

/**
 * A change the person sent long before the bot took it in (Telegram keeps updates for a day while no bot polls: a
 * /start typed during an outage would otherwise run hours later, as if just sent). Reads are answered; /approve
 * counts as a change (it makes one run), though it needs no approval itself.
 */
function staleRefusal(ctx: PipelineContext, req: ChatRequest, command: string, risk: Risk, personId: string | null): Rejection | null {
  if (req.sentAt === undefined || (risk === 'read' && command !== 'approve')) return null;
  const again = 'not run — send it again if it still applies';
  // The platform's number, as it sent it (a malformed update's too): a change whose age cannot be told is not run.
  if (!isTime(req.sentAt))
    return reject('Too late', `the time it was sent (${req.sentAt}) is no time, so its age is unknown: ${again}`, personId);
  // Both on true time: a machine clock 10 min ahead made every change "too late", one behind ran stale ones.
  const age = (ctx.sharedTime?.(req.receivedAt) ?? req.receivedAt) - req.sentAt;
  if (age <= ctx.config.bot.maxCommandAgeMs) return null;
  // Telegram keeps a day of updates: older than that, the time of day alone would read as today's.
  const when = age < DAY_MS ? clockUtc(req.sentAt) : dateTimeUtc(req.sentAt);
  return reject('Too late', `sent at ${when} (${ago(age)}) while xenops was not receiving: ${again}`, personId);
}

const DAY_MS = 86_400_000;

/** The enabled command a mistyped name was most likely meant for (`/lst` → list): within two edits, else none. */
function nearestCommand(typed: string, ctx: PipelineContext, req: ChatRequest): string | null {
  // Only what /help would list for this person here.
  return nearestName(
    typed,
    [...ctx.commands].filter(([, command]) => mayRunHere(ctx, req, command)).map(([name]) => name),
  );
}

function channelRefusal(config: Config, req: ChatRequest, command: AnyCommand, personId: string | null): Rejection | null {
  if (req.source === 'system') return null;
  const channel = channelPolicy(config, req.platform, req.channel);
  if (!channel.allowed)
    return reject('Not allowed here', `xenops is not enabled in this ${req.platform} channel (${req.channel.id})`, personId);
  if (!channelAllowsCommand(config, channel.commands, command.name, command.permission))
    return reject('Not allowed here', `/${command.name} is not allowed in this channel`, personId);
  return null;
}

/**
 * Whether the person may run the command in this channel somewhere in their scope: what /help lists. Asked without
 * arguments, so the permission is asked of no host in particular (evaluate asks it of the host once it has one).
 */
export function mayRunHere(ctx: PipelineContext, req: ChatRequest, command: AnyCommand): boolean {
  const { config } = ctx;
  if (config.commands[command.name]?.disabled) return false;
  const who = identifyRequest(config, req);
  if (!who.ok) return command.name === 'whoami';
  if (channelRefusal(config, req, command, who.person.id)) return false;
  return command.permission === null || authorize(config, who.person, command.permission, {}).allowed;
}

/**
 * Answers that depend on the config, a permission and a person's roles alone, cached by them: visible hosts are
 * asked two or three times per request, each an authorize() per host with glob matching — 10 % of the bot's CPU at
 * 100 hosts, more with more hosts.
 */
const byRolesCache = new WeakMap<Config, Map<string, unknown>>();
const BY_ROLES_CACHE_MAX = 1_000;

function byRoles<T>(config: Config, what: string, permission: string, person: Person, compute: () => T): T {
  let byKey = byRolesCache.get(config);
  if (!byKey) {
    byKey = new Map();
    byRolesCache.set(config, byKey);
  }
  const key = `${what}\u0000${permission}\u0000${person.roles.join('\u0000')}`;
  if (byKey.has(key)) return byKey.get(key) as T;
  const value = compute();
  // Role sets come from the config and Discord's role bindings: few. The bound only guards against surprises.
  if (byKey.size >= BY_ROLES_CACHE_MAX) byKey.clear();
  byKey.set(key, value);
  return value;
}

/** Hosts on which the person could run this command at all: lookups and replies never reach past them. */
export function visibleHosts(config: Config, ev: Evaluated): string[] {
  const permission = ev.command.permission;
  if (permission === null) return Object.keys(config.hosts);
  const hosts = byRoles(config, 'visible', permission, ev.person, () =>
    Object.keys(config.hosts).filter((host) => authorize(config, ev.person, permission, { host }).allowed),
  );
  return [...hosts];
}

export type Resolution = { kind: 'targets'; targets: Target[] } | Rejection | { kind: 'lookup'; hosts: string[] };

/**
 * Where a command runs. `lookup` asks the shell to refresh these hosts' lists and call again (with
 * `refreshed: true`); after a refresh a missing domain is a clear "not found" among the hosts the person may use.
 */
export function resolveTargets(ctx: PipelineContext, ev: Evaluated, view: FleetView, refreshed: boolean): Resolution {
  const { config } = ctx;
  const command = ev.command;
  const person = ev.person.id;
  const visible = visibleHosts(config, ev);
  const hostArg = (h: string): string | Rejection => {
    // Own keys only: `constructor` is a valid host name that every object answers to.
    const known = Object.hasOwn(config.hosts, h);
    if (!known || !visible.includes(h))
      return known
        ? reject('Not allowed', `${person} may not run /${command.name} on ${h}`, person)
        : reject(
            'Cannot do that',
            `no host named ${truncate(h, 32)} (hosts: ${hostList(visible, (n) => `${n} you may use, not named here`) || 'none you may use'})`,
            person,
          );
    return h;
  };
  switch (command.scope) {
    case 'local':
      return { kind: 'targets', targets: [] };
    case 'fleet':
    case 'host': {
      const h = ev.args['host'];
      if (typeof h === 'string') {
        const host = hostArg(h);
        return typeof host === 'string' ? { kind: 'targets', targets: [{ host }] } : host;
      }
      // A fleet command may name several hosts (`hosts`, or `host` as a list: `/list xen1,xen2`): each is checked
      // like `host`, and they run in the config's order, as the fleet does when none is named.
      const many = Array.isArray(h) ? h : ev.args['hosts'];
      if (command.scope === 'fleet' && Array.isArray(many) && many.length > 0) {
        const hosts = new Set<string>();
        for (const name of many) {
          const host = hostArg(String(name));
          if (typeof host !== 'string') return host;
          hosts.add(host);
        }
        return { kind: 'targets', targets: visible.filter((host) => hosts.has(host)).map((host) => ({ host })) };
      }
      if (visible.length === 0) return reject('Not allowed', `${person} may not run /${command.name} on any host`, person);
      return { kind: 'targets', targets: visible.map((host) => ({ host })) };
    }
    case 'domain': {
      const ref = onConfiguredHost(ev.args['domain'] as DomainRef, (h) => Object.hasOwn(config.hosts, h));
      // A guest outside the person's domain scope is not theirs to find: it neither makes a name ambiguous, nor is
      // chosen, nor named (by a UUID) — it is "not found", as one that does not exist.
      const permission = command.permission;
      const mayAct = (h: string, name: string) =>
        permission === null || authorize(config, ev.person, permission, { host: h, domain: name }).allowed;
      if (ref.host !== undefined) {
        const host = hostArg(ref.host);
        if (typeof host !== 'string') return host;
        // Named on its host: there, or (once the host's list is read again) a clear "not found" — never an approval
        // request, or a job, about a domain the host does not have. A host never heard from (no agent) is not said to
        // lack it: the request goes on and is answered from there.
        if (!isUuid(ref.domain)) {
          const target = { kind: 'targets' as const, targets: [{ host, domain: ref.domain }] };
          // Domain-0 is on every host (checkTargets refuses it as the target of a mutation).
          if (ref.domain === DOM0_NAME || view.domains(host).some((d) => d.name === ref.domain)) return target;
          // Out of scope: refused as such (checkTargets) whether or not the host has it — its answer would tell.
          if (!view.known(host) || !mayAct(host, ref.domain)) return target;
          if (!refreshed) return { kind: 'lookup', hosts: [host] };
          return { ...reject('Cannot do that', `no domain named ${ref.domain} on ${host}`, person), code: 'notFound' };
        }
      }
      const hosts = ref.host !== undefined ? [ref.host] : visible;
      if (isUuid(ref.domain)) {
        const found = hosts.flatMap((h) =>
          view
            .domains(h)
            .filter((d) => d.uuid?.toLowerCase() === ref.domain.toLowerCase() && mayAct(h, d.name))
            .map((d) => ({ h, d })),
        );
        // Xen gives every host's Domain-0 the nil UUID: found on several hosts, it names Domain-0 on each — answered
        // as that name is (never "no domain with UUID …"), with no lookup: asking the hosts again cannot narrow it.
        if (found.length > 1 && found.every((f) => f.d.name === DOM0_NAME)) {
          if (isMutating(command.op)) return dom0Refusal(command.name, person);
          const refused = argumentRefusal(command, 'domain', DOM0_NAME);
          if (refused) return reject('Cannot do that', refused, person);
          const on = found.map((f) => f.h);
          const named = on.length <= NAMED_HOSTS_MAX;
          const where = named ? on.join(' and ') : `each of the ${on.length} hosts you may use`;
          const which = named ? on.map((h) => `${h}:${DOM0_NAME}`).join(' or ') : `${on[0]}:${DOM0_NAME}, for one`;
          return reject('Cannot do that', `the domain with UUID ${ref.domain} is ${DOM0_NAME}, on ${where}; say which: ${which}`, person);
        }
        const running = found.filter((f) => f.d.status !== 'defined');
        const pick = running.length === 1 ? running[0] : found.length === 1 ? found[0] : undefined;
        if (pick) {
          // A host's list may hold names xl allows and xenops does not (`my web`): the UUID must not smuggle one past
          // the check every typed name gets, into an approval preview or a job the agent refuses.
          const named = DomainName.safeParse(pick.d.name);
          if (!named.success)
            return reject(
              'Cannot do that',
              `the domain with UUID ${ref.domain} on ${pick.h} is ${echoValue(pick.d.name)}, a name xenops does not act on (${named.error.issues[0]?.message ?? 'invalid'})`,
              person,
            );
          return { kind: 'targets', targets: [{ host: pick.h, domain: pick.d.name }] };
        }
        if (!refreshed) return { kind: 'lookup', hosts };
        return {
          ...reject(
            'Cannot do that',
            // A stopped domain's UUID is not in `xl list`: "no domain" alone would say a stopped guest does not exist.
            `no domain with UUID ${ref.domain} on ${hostList(hosts, (n) => `any of the ${n} hosts you may use`)} — a stopped domain's UUID is not in xl list: name it`,
            person,
          ),
          code: 'notFound',
        };
      }
      // "say which: xen1:Domain-0 or xen2:Domain-0" would suggest what checkTargets then refuses.
      if (ref.domain === DOM0_NAME && isMutating(command.op)) return dom0Refusal(command.name, person);
      const withName = hosts.filter((h) => view.domains(h).some((d) => d.name === ref.domain) && mayAct(h, ref.domain));
      const running = hostsRunning(view, withName, (d) => d.name === ref.domain);
      // After a migration the config exists on both hosts: the bare name means the copy that runs.
      const candidates = running.length > 0 ? running : withName;
      // Only stopped copies known: a host never heard from may run it (the copy the name means) — ask it first; so may
      // one last heard before the guest was found not running where the view had it run (moved outside xenops).
      const cold = hosts.filter((h) => !view.known(h, ref.domain));
      if (!refreshed && running.length === 0 && withName.length > 0 && cold.length > 0) return { kind: 'lookup', hosts: cold };
      if (candidates.length === 1 && candidates[0]) return { kind: 'targets', targets: [{ host: candidates[0], domain: ref.domain }] };
      if (candidates.length > 1) {
        const how = running.length > 1 ? 'runs on' : 'is defined on';
        return reject(
          'Cannot do that',
          `${ref.domain} ${how} ${candidates.join(' and ')}; say which: ${candidates.map((h) => `${h}:${ref.domain}`).join(' or ')}`,
          person,
        );
      }
      if (!refreshed) return { kind: 'lookup', hosts };
      // `xen9:web` with no host xen9 was looked for as a domain of that whole name (xend's names may hold `:`): a host
      // mistyped read as "no domain named xen9:web" only.
      const typedHost = (ev.args['domain'] as DomainRef).host;
      const notFound =
        typedHost !== undefined && ref.host === undefined
          ? `${typedHost} is no host here (hosts: ${hostList(hosts, (n) => `${n} you may use, not named here`) || 'none you may use'}), and no domain is named ${ref.domain}`
          : `no domain named ${ref.domain} on ${hostList(hosts, (n) => `any of the ${n} hosts you may use`) || 'any host you may use'}${hostNamedAsDomain(command, ev.args, ref.domain, hosts)}`;
      return { ...reject('Cannot do that', notFound, person), code: 'notFound' };
    }
    default:
      return command satisfies never;
  }
}

/**
 * `/migrate xen2 web` (the target first) or `/show xen1` (a host where a domain goes): no domain is named so, and the
 * refusal says the word is a host, with the line meant. Only a host the asker may use (`hosts`).
 */
function hostNamedAsDomain(command: AnyCommand, args: Record<string, unknown>, name: string, hosts: readonly string[]): string {
  if (!hosts.includes(name)) return '';
  const target = args['target'];
  return typeof target === 'string' && command.name === 'migrate'
    ? ` (${name} is a host: /migrate ${target} ${name})`
    : ` (${name} is a host: /${command.name} ${name}:<domain>, /list ${name} shows its domains)`;
}

/**
 * Whether the domain a request names runs on `host` (answering a lookup's refresh) where the person may act on it:
 * then the lookup need not wait for the other hosts — a name found running is taken at once from the cache too — and
 * one host slow to answer, or down, delays no request for a guest that runs elsewhere. A name found nowhere, or only
 * stopped (a host yet to answer may run it), still waits for every host.
 */
export function lookupFoundOn(ctx: PipelineContext, ev: Evaluated, view: FleetView, host: string): boolean {
  const { config } = ctx;
  const permission = ev.command.permission;
  if (ev.command.scope !== 'domain') return false;
  const ref = onConfiguredHost(ev.args['domain'] as DomainRef, (h) => Object.hasOwn(config.hosts, h));
  if (ref.host !== undefined && ref.host !== host) return false;
  const uuid = isUuid(ref.domain) ? ref.domain.toLowerCase() : null;
  return view
    .domains(host)
    .some(
      (d) =>
        d.status !== 'defined' &&
        (uuid === null ? d.name === ref.domain : d.uuid?.toLowerCase() === uuid) &&
        (permission === null || authorize(config, ev.person, permission, { host, domain: d.name }).allowed),
    );
}

function dom0Refusal(command: string, person: string): Rejection {
  return reject('Cannot do that', `${DOM0_NAME} is the host's own domain: /${command} cannot target it`, person);
}

/**
 * Everything that can be refused before queueing: the permission on every host the command touches, Domain-0 as a
 * target, unknown or out-of-scope hosts, and the command's own prechecks against the fleet view.
 */
export function checkTargets(ctx: PipelineContext, ev: Evaluated, targets: Target[], view: FleetView): Rejection | null {
  const { config } = ctx;
  const command = ev.command as AnyJobCommand;
  const person = ev.person.id;
  const permission = command.permission ?? '';
  const mutating = isMutating(command.op);
  for (const t of targets) {
    if (mutating && t.domain === DOM0_NAME) return dom0Refusal(command.name, person);
    const d = authorize(config, ev.person, permission, t, `run /${command.name}`);
    if (!d.allowed) return reject('Not allowed', d.message, person);
    for (const other of command.touches?.(ev.args) ?? []) {
      if (!Object.hasOwn(config.hosts, other))
        return reject(
          'Cannot do that',
          `no host named ${truncate(other, 32)} (hosts: ${hostList(visibleHosts(config, ev), (n) => `${n} you may use, not named here`)})`,
          person,
        );
      const o = authorize(
        config,
        ev.person,
        permission,
        { host: other, ...(t.domain ? { domain: t.domain } : {}) },
        `run /${command.name} to ${other}`,
      );
      if (!o.allowed) return reject('Not allowed', o.message, person);
    }
    const reason = command.precheck?.(ev.args, t, precheckContext(config, ev, view));
    if (reason) return { ...reject('Cannot do that', reason, person), code: 'precheck' };
  }
  return null;
}

function precheckContext(config: Config, ev: Evaluated, view: FleetView): PrecheckContext {
  return {
    view,
    visible: visibleHosts(config, ev),
    may: (permission, host, domain) => authorize(config, ev.person, permission, { host, ...(domain ? { domain } : {}) }).allowed,
    toolstack: (host) => {
      const kind = config.hosts[host]?.toolstack;
      return kind === 'xl' || kind === 'xm' ? kind : null;
    },
  };
}

/**
 * Every job of a plan, authorized like a command of its own: its op's permission on its host and domain, and a
 * migration's on its target too (a read step: the command's own permission on its host). A plan picks its jobs from the fleet (an evacuation, a rebalance), so the hosts
 * and domains it acts on are checked here, where they are known.
 */
export function checkPlanJobs(config: Config, ev: Evaluated, jobs: readonly JobSpec[]): Rejection | null {
  const person = ev.person.id;
  for (const j of jobs) {
    const domain = 'domain' in j ? j.domain : undefined;
    if (!isMutating(j.op)) {
      // A read the plan makes for itself (an evacuation reading its host back): the command's own permission there.
      const read = authorize(config, ev.person, ev.command.permission ?? '', { host: j.host }, `/${ev.command.name} on ${j.host}`);
      if (!read.allowed) return reject('Not allowed', read.message, person);
      continue;
    }
    if (isMutating(j.op) && domain === DOM0_NAME)
      return reject('Cannot do that', `${DOM0_NAME} is the host's own domain: /${ev.command.name} cannot move or stop it`, person);
    const what =
      j.op === 'domain.migrate' ? `migrate ${j.domain} from ${j.host}` : `${opSpec(j.op).verb}${domain ? ` ${domain}` : ''} on ${j.host}`;
    const here = authorize(config, ev.person, j.op, { host: j.host, ...(domain ? { domain } : {}) }, what);
    if (!here.allowed) return reject('Not allowed', here.message, person);
    if (j.op === 'domain.migrate') {
      const there = authorize(config, ev.person, j.op, { host: j.target, domain: j.domain }, `migrate ${j.domain} to ${j.target}`);
      if (!there.allowed) return reject('Not allowed', there.message, person);
    }
  }
  return null;
}

/** Every host a request acts on besides its targets' own: what `touches` names, and each migration's target. */
export function hostsTouched(command: AnyJobCommand, args: Record<string, unknown>, jobs: readonly JobSpec[]): string[] {
  const hosts = [...(command.touches?.(args) ?? []), ...jobs.flatMap((j) => (j.op === 'domain.migrate' ? [j.target] : []))];
  return [...new Set(hosts)];
}

/** The jobs a resolved, checked request makes. `ctx` authorizes a plan's jobs (without it they are not checked). */
export function plan(ev: Evaluated, targets: Target[], view: FleetView, ctx?: PipelineContext): Decision {
  const command = ev.command as AnyJobCommand;
  const first = targets[0];
  const made =
    command.plan && first ? command.plan(ev.args, first, view, ctx ? precheckContext(ctx.config, ev, view) : { view, visible: [] }) : null;
  if (made) {
    const p = Array.isArray(made) ? { jobs: made } : made;
    if ('refuse' in p) return reject('Cannot do that', p.refuse, ev.person.id);
    const refused = ctx ? checkPlanJobs(ctx.config, ev, p.jobs) : null;
    if (refused) return refused;
    return {
      kind: 'enqueue',
      evaluated: ev,
      command,
      targets,
      mode: 'sequence',
      jobs: p.jobs,
      mutating: true,
      ...(p.summary ? { summary: p.summary } : {}),
    };
  }
  const jobs = targets.map((t) => command.job(ev.args, t) as JobSpec);
  return { kind: 'enqueue', evaluated: ev, command, targets, mode: 'parallel', jobs, mutating: jobs.some((j) => isMutating(j.op)) };
}

/** The approval policy a checked request falls under, or null when it runs at once. */
export type ApprovalRule = (ev: Evaluated, targets: Target[], jobs?: readonly JobSpec[]) => ApprovalPolicyConfig | null;
export const noApprovals: ApprovalRule = () => null;

/** The policy from the config: the first one whose commands or risk, and hosts, match. */
export function approvalRule(config: Config): ApprovalRule {
  return (ev, targets, jobs = []) => {
    const command = ev.command as AnyJobCommand;
    const hosts = [...targets.map((t) => t.host), ...jobs.map((j) => j.host), ...hostsTouched(command, ev.args, jobs)];
    return policyFor(config.approvals, command.name, ev.risk, hosts);
  };
}

/**
 * The approval step: between the checks and the queue. It holds every request a policy names, system requests
 * (a schedule acting as a person) included: only an approval, recorded by the desk, lets one run — and that one
 * does not come back through the pipeline.
 */
export function approvalStep(d: Decision, rule: ApprovalRule): Decision {
  if (d.kind !== 'enqueue') return d;
  const policy = rule(d.evaluated, d.targets, d.jobs);
  if (!policy) return d;
  // Nobody could tell whether the approver is someone else.
  if (isAnonymous(d.evaluated.person))
    return reject(
      'Not allowed',
      `an anonymous group admin cannot ask for /${d.command.name}: it needs someone else's approval, and xenops cannot tell who you are — turn off "Remain anonymous"`,
      d.evaluated.person.id,
    );
  return {
    kind: 'needsApproval',
    evaluated: d.evaluated,
    command: d.command,
    targets: d.targets,
    mode: d.mode,
    jobs: d.jobs,
    policy,
    ...(d.summary ? { summary: d.summary } : {}),
  };
}

/**
 * The whole pure pipeline over one fleet snapshot. `lookup` means: refresh these hosts, then call again with
 * `refreshed: true`.
 */
export function decide(
  ctx: PipelineContext,
  req: ChatRequest,
  view: FleetView,
  refreshed: boolean,
  approval: ApprovalRule = noApprovals,
): Decision | { kind: 'lookup'; hosts: string[]; evaluated: Evaluated } {
  const ev = evaluate(ctx, req);
  if (isRejection(ev)) return ev;
  if (ev.command.scope === 'local') return { kind: 'local', evaluated: ev, command: ev.command as LocalCommand<never> };
  const resolved = resolveTargets(ctx, ev, view, refreshed);
  if (resolved.kind === 'reject') return resolved;
  if (resolved.kind === 'lookup') return { ...resolved, evaluated: ev };
  const refused = checkTargets(ctx, ev, resolved.targets, view);
  // A precheck refuses on what the hosts last said ("already on xen2", "running on xen2"): a guest moved or stopped
  // outside xenops since is not refused on that word — the hosts are asked, and it is decided again on their answer.
  if (refused?.code === 'precheck' && !refreshed && ev.command.scope === 'domain')
    return { kind: 'lookup', hosts: [...view.hostNames], evaluated: ev };
  if (refused) return { ...refused, targets: resolved.targets };
  const decided = approvalStep(plan(ev, resolved.targets, view, ctx), approval);
  return isRejection(decided) ? { ...decided, targets: resolved.targets } : decided;
}

/**
 * Names hosts the asker may not use as "another host": messages from the agents (a guest running elsewhere, who holds
 * a lock) must not tell a scoped person what runs outside their scope.
 */
export function redactHosts(text: string, allHosts: readonly string[], visible: readonly string[]): string {
  const hidden = allHosts.filter((h) => !visible.includes(h)).sort((a, b) => b.length - a.length);
  let out = text;
  for (const h of hidden)
    out = out.replace(new RegExp(`(?<![A-Za-z0-9_-])${h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![A-Za-z0-9_-])`, 'g'), 'another host');
  return out;
}

/** Whether the person's permission for this command leaves out some domains of a host it may use (cached as above). */
export function domainScoped(config: Config, ev: Evaluated, visible: readonly string[]): boolean {
  const permission = ev.command.permission;
  if (permission === null) return false;
  return byRoles(config, 'domainScoped', permission, ev.person, () =>
    visible.some((host) => domainLimited(config, ev.person, permission, host)),
  );
}

type Named = { name: string };
const isNamedList = (v: unknown): v is Named[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'object' && x !== null && typeof (x as Named).name === 'string');

/**
 * A read's result (a list, top, uptime, digest, status) without the domains `mayName` leaves out: every list of named
 * rows is filtered, and lines of text that name a left-out domain (notes, lines that could not be parsed) go too.
 */
export function scopeResult<T>(result: T, mayName: (domain: string) => boolean): T {
  if (typeof result !== 'object' || result === null) return result;
  const hidden = new Set<string>();
  const out = filterNamed(result as Record<string, unknown>, mayName, hidden);
  return dropLines(out, mayName, hidden) as T;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Nested results too (a digest's `unreadUptime: { lines }`): a list one level down is as visible as one at the top. */
function filterNamed(obj: Record<string, unknown>, mayName: (domain: string) => boolean, hidden: Set<string>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  const left: Named[] = [];
  for (const [k, v] of Object.entries(out)) {
    if (isPlainObject(v)) out[k] = filterNamed(v, mayName, hidden);
    if (!isNamedList(v) || v.length === 0) continue;
    out[k] = v.filter((x) => {
      if (mayName(x.name)) return true;
      hidden.add(x.name);
      if (k === 'domains') left.push(x);
      return false;
    });
  }
  // /status counts a host's guests by state beside its list: a count that took in the guests left out would tell the
  // person they exist.
  const counts = out['domainsByStatus'];
  if (isPlainObject(counts) && left.length > 0) {
    const recount: Record<string, unknown> = { ...counts };
    for (const x of left) {
      const s = (x as Named & { status?: unknown }).status;
      const n = typeof s === 'string' ? recount[s] : undefined;
      if (typeof s === 'string' && typeof n === 'number') recount[s] = n > 1 ? n - 1 : undefined;
    }
    out['domainsByStatus'] = Object.fromEntries(Object.entries(recount).filter(([, n]) => n !== undefined));
  }
  return out;
}

/**
 * Where a result carries lines of host output the agent could not read: raw (`unparsed`, a digest's
 * `unreadUptime.lines`) or quoted in a note (`notes`). Named, not every list of text: a console snapshot's `lines` are
 * the guest's own output, for whoever may read its console.
 */
const UNREAD_RAW = new Set(['unparsed', 'unreadUptime.lines']);
const UNREAD_QUOTED = new Set(['notes']);

/**
 * A line the host printed and the agent could not read never made a row, so its guest is in no list to leave out:
 * such a line (raw, or quoted in a note) is shown only when the name it starts with is one the person may see. Any
 * other text naming a guest left out of a list goes with it.
 */
function dropLines(
  obj: Record<string, unknown>,
  mayName: (domain: string) => boolean,
  hidden: ReadonlySet<string>,
  at = '',
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...obj };
  for (const [k, v] of Object.entries(out)) {
    const path = at ? `${at}.${k}` : k;
    if (isPlainObject(v)) out[k] = dropLines(v, mayName, hidden, path);
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string'))
      out[k] = v.filter(
        (line: string) =>
          ![...hidden].some((name) => namesIn(line, name)) &&
          (!UNREAD_RAW.has(path) || rawLineMayShow(line, mayName)) &&
          (!UNREAD_QUOTED.has(path) || quotedLines(line).every((q) => rawLineMayShow(q, mayName))),
      );
  }
  return out;
}

function rawLineMayShow(line: string, mayName: (domain: string) => boolean): boolean {
  const first = line.trim().split(/\s+/)[0];
  return first === undefined || first === '' || mayName(first);
}

/** The host's lines a note quotes as JSON strings (`could not read this line of xl list: "payroll  7 …"`). */
function quotedLines(line: string): string[] {
  return [...line.matchAll(/"(?:[^"\\]|\\.)*"/g)].flatMap((m) => {
    try {
      const q: unknown = JSON.parse(m[0]);
      return typeof q === 'string' ? [q] : [];
    } catch {
      return [];
    }
  });
}

/** Whether the line names the domain as a whole word (`db`, not the `db` of `db2`). */
function namesIn(line: string, name: string): boolean {
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // `xen2:backup` and `backup:` name it; `backup2` and `backup.old` do not.
  return new RegExp(`(?<![A-Za-z0-9_.+-])${esc}(?![A-Za-z0-9_+-]|[.:][A-Za-z0-9_])`).test(line);
}

export function describeTargets(targets: Target[]): string {
  return targets.map((t) => (t.domain ? formatDomainRef({ host: t.host, domain: t.domain }) : t.host)).join(', ');
}

/** Hosts named in a refusal: counted past a few, so a refusal stays one line at 1,000 hosts (and in the audit). */
function hostList(hosts: readonly string[], many: (count: number) => string): string {
  return hosts.length > NAMED_HOSTS_MAX ? many(hosts.length) : hosts.join(', ');
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
