import picomatch from 'picomatch';
import type { ApprovalPolicy, ApprovalsSection } from '../config/approvals-schema.ts';
import type { Config } from '../config/schema.ts';
import { authorize, isAnonymous, type Person } from './authorize.ts';
import type { Risk } from './command-spec.ts';
import { type AnyCommand, commandSpec, type JobSpec, riskOf, type Target } from './define-command.ts';
import type { ApprovesNone } from './oncall.ts';

/**
 * Who must approve what, and who may: pure over the config. The two-person rule — a request never runs on the
 * word of the one who made it — is here and nowhere else.
 */

/** The policy that applies to a request, or null when it runs without approval. */
export function policyFor(section: ApprovalsSection, command: string, risk: Risk, hosts: readonly string[]): ApprovalPolicy | null {
  if (!section.enabled) return null;
  return (
    section.policies.find(
      (p) =>
        (p.commands.includes(command) || p.risks.includes(risk)) && hosts.some((h) => p.hosts.some((glob) => picomatch.isMatch(h, glob))),
    ) ?? null
  );
}

/** The permission that lets someone approve beyond the on-call rotation (admins have it; escalation goes to them). */
export const APPROVE_ANY = 'approval.grant';

export interface ApproverQuestion {
  config: Config;
  approver: Person;
  /** The person who made the request (whatever platform they used). */
  requester: string;
  policy: ApprovalPolicy;
  /** The command's own permission, checked for the approver on every target: an approver out of scope cannot approve. */
  permission: string;
  command: string;
  targets: readonly Target[];
  /** Other hosts the command touches (a migration's target). */
  touches: readonly string[];
  /**
   * The request's jobs: a plan's guests are named only there (an evacuation's target is its host), so an approver
   * whose scope is some guests would otherwise approve moving the others.
   */
  jobs?: readonly JobSpec[];
  /** Who is on call right now. */
  onCall: readonly string[];
}

export type ApproverAnswer = { ok: true } | { ok: false; reason: string };

export function mayApprove(q: ApproverQuestion): ApproverAnswer {
  const { config, approver } = q;
  if (approver.id === q.requester) return { ok: false, reason: 'you cannot approve your own request (on any platform): someone else must' };
  // The two-person rule needs to know who approves: an anonymous admin may be the requester.
  if (isAnonymous(approver))
    return { ok: false, reason: 'an anonymous group admin cannot approve: xenops cannot tell who you are — turn off "Remain anonymous"' };
  // Every host and domain the command acts on: a permission scoped to some hosts approves only there.
  const places = [
    ...q.targets.flatMap((t) => [t.host, ...q.touches].map((host) => ({ host, ...(t.domain ? { domain: t.domain } : {}) }))),
    ...(q.jobs ?? []).flatMap((j) =>
      'domain' in j
        ? [{ host: j.host, domain: j.domain }, ...(j.op === 'domain.migrate' ? [{ host: j.target, domain: j.domain }] : [])]
        : [{ host: j.host }],
    ),
  ];
  const everywhere = (permission: string) => places.every((p) => authorize(config, approver, permission, p).allowed);
  const byRole = everywhere(APPROVE_ANY);
  // Said when the approver holds it, only elsewhere.
  const where = (permission: string) =>
    authorize(config, approver, permission).allowed ? ` on ${[...new Set(places.map((p) => p.host))].join(', ')}` : '';
  if (q.policy.approvers === 'oncall') {
    // Worded only when read: the card asks this of everyone in the config, and the wording looks at everyone again.
    if (!q.onCall.includes(approver.id) && !byRole)
      return {
        ok: false,
        get reason() {
          return notOnCall(q, places, where(APPROVE_ANY));
        },
      };
  } else if (!everywhere(q.policy.approvers.permission) && !byRole) {
    return {
      ok: false,
      reason: `${approver.id} may not approve this: needs permission ${q.policy.approvers.permission}${where(q.policy.approvers.permission)}`,
    };
  }
  for (const p of places) {
    if (!authorize(config, approver, q.permission, p).allowed)
      return { ok: false, reason: `${approver.id} may not run /${q.command} on ${p.host}, so may not approve it there` };
  }
  return { ok: true };
}

/**
 * Why someone neither on call nor holding approval.grant may not approve, naming who may as the request's card does:
 * the requester on call cannot approve their own request, so with nobody else on call, only approval.grant holders can.
 */
function notOnCall(q: ApproverQuestion, places: readonly { host: string; domain?: string }[], where: string): string {
  const others = q.onCall.filter((p) => p !== q.requester);
  if (others.length > 0) return `only the person on call (${others.join(', ')}) or someone with ${APPROVE_ANY}${where} may approve this`;
  const holders = Object.entries(q.config.people)
    .filter(([id, p]) => {
      if (id === q.requester) return false;
      const person: Person = { id, displayName: id, roles: [...p.roles] };
      // As the card's off-call approvers: approval.grant, and the command's own permission, on every place it touches.
      return places.every(
        (at) => authorize(q.config, person, APPROVE_ANY, at).allowed && authorize(q.config, person, q.permission, at).allowed,
      );
    })
    .map(([id]) => id);
  const why = q.onCall.includes(q.requester) ? `the person on call (${q.requester}) asked for it` : 'nobody is on call';
  return `only someone with ${APPROVE_ANY}${where} (${holders.join(', ') || 'nobody but the requester'}) may approve this: ${why}`;
}

/**
 * The risks a command may be asked at: its `commands.NAME.risk` from the config, else its own — with its defaults and
 * with every option given, when it depends on them (`/stop web` is write, `--force` dangerous; `/rebalance` a read,
 * `--run` dangerous).
 */
function risksOf(config: Config, command: AnyCommand): Risk[] {
  const set = config.commands[command.name]?.risk;
  if (set !== undefined) return [set];
  if (typeof command.risk !== 'function') return [command.risk];
  const everyOption = new Proxy({}, { get: () => true });
  return [...new Set([commandSpec(command).risk, riskOf(command, everyOption)])];
}

interface Need {
  command: AnyCommand;
  host: string;
  policy: ApprovalPolicy;
}

/** What needs approval: each command (queued to a host, not disabled) with the policy that holds it on each host. */
function approvalNeeds(config: Config, commands: readonly AnyCommand[]): Need[] {
  const hosts = hostsAlike(config);
  return commands
    .filter((c) => c.scope !== 'local' && !config.commands[c.name]?.disabled)
    .flatMap((command) =>
      hosts.flatMap((host) =>
        risksOf(config, command).flatMap((risk) => {
          const policy = policyFor(config.approvals, command.name, risk, [host]);
          return policy ? [{ command, host, policy }] : [];
        }),
      ),
    );
}

/**
 * One host for each way the config's host globs (its roles' rules, its approval policies) match: who may do what
 * there, and which policy holds, is the same for every host matching the same globs, so 1,000 hosts asked about every
 * command, risk and person (a few seconds of the bot's event loop) are a handful.
 */
export function hostsAlike(config: Config): string[] {
  const globs = [
    ...new Set([
      ...Object.values(config.roles).flatMap((r) => [...r.allow, ...r.deny].flatMap((rule) => rule.hosts)),
      ...config.approvals.policies.flatMap((p) => p.hosts),
    ]),
  ].map((g) => picomatch(g));
  const one = new Map<string, string>();
  for (const host of Object.keys(config.hosts)) {
    const matches = globs.map((m) => (m(host) ? '1' : '0')).join('');
    if (!one.has(matches)) one.set(matches, host);
  }
  return [...one.values()];
}

/**
 * Whether `person` may approve any of `needs` somewhere, `onCall` being on call: the approval desk's own rule
 * (mayApprove), for a request of someone else's on a host (any of its guests).
 */
function approvesAny(config: Config, needs: readonly Need[], person: string, onCall: readonly string[]): boolean {
  const approver: Person = { id: person, displayName: person, roles: [...(config.people[person]?.roles ?? [])] };
  return needs.some(
    (n) =>
      mayApprove({
        config,
        approver,
        // Nobody's id: the person is judged as approving someone else's request.
        requester: '',
        policy: n.policy,
        permission: n.command.permission ?? APPROVE_ANY,
        command: n.command.name,
        targets: [{ host: n.host }],
        touches: [],
        onCall,
      }).ok,
  );
}

/**
 * Null unless `person`, put on call, may approve none of what needs approval (`onCall`: everyone on call after it).
 * One who may gain roles through a Discord role binding is not judged: those are known only when they click, and the
 * approval desk calls on them too.
 */
export function approvesNone(
  config: Config,
  commands: readonly AnyCommand[],
  person: string,
  onCall: readonly string[],
): ApprovesNone | null {
  const bound = !!config.people[person]?.identities['discord'] && Object.keys(config.discord?.roleBindings ?? {}).length > 0;
  if (bound) return null;
  const needs = approvalNeeds(config, commands);
  if (needs.length === 0 || approvesAny(config, needs, person, [person])) return null;
  return {
    commands: [...new Set(needs.map((n) => n.command.name))],
    others: Object.keys(config.people).filter((p) => p !== person && approvesAny(config, needs, p, onCall)),
  };
}
