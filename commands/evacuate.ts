import { z } from 'zod';
import {
  defineCommand,
  type HostOutcome,
  type JobSpec,
  type PlanResult,
  type PrecheckContext,
  type RenderContext,
  reasonArg,
} from '../src/core/define-command.ts';
import { DOM0_NAME, HostName } from '../src/core/names.ts';
import {
  type CapacityReading,
  describeUnplaced,
  type Guest,
  type HostCapacity,
  type HostGuests,
  inFlight,
  isMovable,
  MOVABLE,
  placeGuests,
  whyNotMovable,
} from '../src/core/placement.ts';
import { type Block, type Reply, reply } from '../src/core/reply.ts';
import type { DomainStatus, DomainSummary, MigrateResult } from '../src/core/xen.ts';
import type { JobOp, JobResult } from '../src/queue/jobs.ts';
import { arrivedNotRunning, autostartLeftBehind, mib, runningNowhere } from './render-helpers.ts';

/**
 * `/evacuate HOST [to HOST…] [--shutdown-rest]`: live-migrates every running guest off a host, one at a time, each
 * verified on its target, then freezes the host (every mutating command refused) until /unfreeze.
 *
 * Design — how the plan gets fresh figures. The plan is made by the bot before the request is decided, from a
 * capacity reading taken for this request alone (`capacity` below; src/app/capacity.ts): a host.status job on the
 * source and on every candidate (`xl info`'s total_memory and free_memory, `xl list`'s domains and their memory,
 * the live CPU sample), plus the freezes in force. host.status is an existing read op, so the agent needs nothing
 * new; the read costs one round trip per host, in parallel, and only this command and `/rebalance --run` pay it.
 * The planner (src/core/placement.ts, pure) then places the guests and the pipeline turns the placements into one
 * request whose jobs are the migrations — a plan (`plan`): the approval card lists every one (its exact `xl migrate`
 * line, the guest's state and memory) with the plan's figures, one approval binds them all, and the existing plan
 * machinery runs them one after another under one message, stopping at the first failure. A two-step design (show
 * a plan id, then `/evacuate run ID`) would have needed a plan store and a second approval path; the approval
 * request already is that id.
 *
 * Placement: best-fit decreasing — the largest guest first, each on the candidate where it fits most tightly while
 * keeping `fleet.memoryReserveMiB` free — ties broken by name. Candidates are the hosts named after `to` (default:
 * every host the asker may use for /evacuate), minus the hosts that did not answer, are frozen, run another toolstack
 * (no live migration between xl and xm), or that the asker may not migrate that guest to (domain.migrate, per guest).
 * A guest that fits nowhere refuses the whole plan, naming its figures, before anything moves — unless
 * `--shutdown-rest`, which shuts those guests down gracefully (`xl shutdown`) as the plan's last steps, after every
 * migration succeeded. When no host may take any guest at all (every candidate out, or each barred per guest), the
 * plan is refused, --shutdown-rest or not: it would shut down every guest and migrate none, which /stop says plainly
 * (the refusal says so, with the reasons). Crashed, dying or shut-down guests cannot be migrated, nor can one whose
 * migration is under way (`NAME--incoming` or `NAME--migratedaway` listed on a host read): the plan names them and
 * leaves them. The read-back after the last step counts what it left as it counts a guest started there meanwhile: a
 * paused, crashed or dying guest still holds its place on the host and goes down with it, so the host is "not empty",
 * never "evacuated" — only shut-down and defined-only domains are gone from it.
 *
 * Approved or not, the migrations are bound to the figures of the moment they were planned, and the target may fill
 * up meanwhile (a guest started there, another plan's migration arriving: xl builds the arriving copy with its memory
 * at the start). So each migration job carries the reserve (`keepFreeMiB`), and the agent reads the target's
 * free_memory right before sending it: one that would leave less is not sent (xl would not keep the reserve, and may
 * not even refuse), which stops the plan there. Two plans' steps bound for one target could read its free_memory at the
 * same moment, before either copy is built there: each step holds its target in Redis from that check to its
 * read-back (src/queue/incoming-migrations.ts), so the other waits and is judged on what is left. A guest that moved
 * but reads back not running on its target (it crashed as soon as it ran there, or was paused) stops the plan too
 * (queue/jobs.ts endsPlan): the evacuation's point, every guest running elsewhere, is missed already, and the next
 * guests would go to the same targets, which may be why it crashed — the operator looks before anything else moves.
 * It is reported as moved, with its state there, never as "still on" the source, and the host is not frozen; one that
 * then runs on neither host (destroyed there by its on_crash) is reported so, with no state given it on the target.
 * Once every step succeeded, the host is frozen (/freeze semantics: mutating commands refused, reads go on) until
 * /unfreeze — whatever the read-back found there: nothing new should start on it while what is left is seen to — and
 * the final reply says so, once (the card's promise of it is left out of the plan it repeats); after a failure it is
 * not frozen and the reply says what moved and what did not. The freeze is made by the bot that delivers the reply (`freezeAfter`), as the requester, audited; it needs no
 * host.freeze of them (it is the evacuation's consequence), while /unfreeze does.
 *
 * Permissions: `host.evacuate` (group operate) lets one plan, see and approve an evacuation — an approver must hold
 * it on the source and on every target of the plan. Running one also needs each job's own permission: the
 * requester's domain.migrate on the source and on the target, per guest (and domain.stop for --shutdown-rest), so an
 * operator on call can approve an admin's evacuation but cannot run one. A running guest outside the asker's domain
 * scope (of host.evacuate) refuses the plan, movable or not — they cannot empty that host — and, like any such guest,
 * is counted, never named. The relay hands such an asker's render a read-back without those guests, so their card
 * says they may not see every guest (`scopedPrefix`) and the final reply never calls the host empty from it.
 * Approval is needed by default (the command is in the default policy, and dangerous).
 */

/**
 * `to xen2 xen3`, `xen2,xen3` or `xen2`: the hosts named after the word `to` (optional in `--to xen2` and `to:xen2`;
 * typed in place, `/evacuate xen1 xen2` is refused by the parser: see openedBy in src/core/args.ts). A second `to`
 * (`to xen2 to xen3`) is refused as the form it is, not looked up as a host named "to".
 */
export const HostWords = z
  .string()
  .transform((s, ctx) => {
    const words = s.split(/[\s,]+/).filter((w) => w !== '');
    const hosts = words[0]?.toLowerCase() === 'to' ? words.slice(1) : words;
    if (!hosts.some((w) => w.toLowerCase() === 'to')) return hosts;
    ctx.addIssue({ code: 'custom', message: '"to" comes once, before the hosts: to xen2 xen3' });
    return z.NEVER;
  })
  .pipe(z.array(HostName).min(1, 'name at least one host').max(64, 'at most 64 hosts'));

const Args = z.strictObject({
  host: HostName.describe('the host to empty'),
  to: HostWords.optional().describe('only to these hosts: to xen2 xen3'),
  'shutdown-rest': z.boolean().default(false).describe('shut down the guests that fit nowhere, after the migrations, instead of refusing'),
  reason: reasonArg('the approver, and on the freeze'),
});
type Args = z.infer<typeof Args>;

/** "12:00:03 UTC". */
function clock(ms: number): string {
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

const MiB = mib;

/** Why each candidate host is out (did not answer, frozen, another toolstack, out of scope), in host order. */
function exclusions(reading: CapacityReading, source: HostGuests, names: readonly string[], may: PrecheckContext['may']): string[] {
  const out: string[] = [];
  for (const h of names) {
    const c = reading.hosts[h];
    if (!c) out.push(reading.unanswered[h] ?? `${h} did not answer`);
    else if (reading.frozen[h]) out.push(`${h} is frozen`);
    else if (c.toolstack !== source.toolstack)
      out.push(`${h} runs ${c.toolstack}, ${source.host} ${source.toolstack}: no live migration between them`);
    else if (may && !source.guests.some((g) => may('domain.migrate', h, g.name))) out.push(`you may not migrate to ${h}`);
  }
  return out;
}

/**
 * The targets in the plan that a guest which fits nowhere was kept off, and why — a domain of its name listed there
 * (powered off, not cleared away), or the asker's scope for that guest — so "fits nowhere" is not read as "no room"
 * when a host with room was passed over. Hosts no guest may go to are said once, under "not considered".
 */
function barredTargets(
  domain: string,
  usable: readonly string[],
  reading: CapacityReading,
  source: HostGuests,
  may: PrecheckContext['may'],
): string[] {
  return usable.flatMap((h) => {
    const same = reading.hosts[h]?.guests.find((g) => g.name === domain);
    if (same) return [`${h} already lists a domain named ${domain} (${same.status}): clear it there first`];
    const scoped = may && !may('domain.migrate', h, domain) && source.guests.some((g) => may('domain.migrate', h, g.name));
    return scoped ? [`you may not migrate ${domain} to ${h}`] : [];
  });
}

export function planEvacuation(args: Args, view: PrecheckContext['view'], ctx: PrecheckContext): PlanResult {
  const reading = view.capacity;
  if (!reading) return { refuse: `the hosts' free memory could not be read for this plan, so nothing was planned — try again` };
  // Its own memory figures are not needed: a source whose xl info failed part-way is planned from its guests.
  const source = reading.hosts[args.host] ?? reading.listedOnly?.[args.host];
  if (!source)
    return { refuse: `cannot plan the evacuation of ${args.host}: ${reading.unanswered[args.host] ?? `${args.host} did not answer`}` };
  if (args.to?.includes(args.host)) return { refuse: `${args.host} is the host being evacuated: it cannot be a target` };
  // A migration of a guest under way (or left unfinished) anywhere read: moving it again would run a second one.
  const busy = inFlight([...Object.values(reading.hosts), ...Object.values(reading.listedOnly ?? {})]);
  const why = (g: Guest) => (isMovable(g) ? busy(g.name) : whyNotMovable(g));
  // A guest outside the asker's domain scope is never named to them (a read's result leaves it out): it is counted.
  const mayName = (g: { name: string }) => ctx.may?.('host.evacuate', args.host, g.name) ?? true;
  const movable = source.guests.filter((g) => why(g) === null);
  const stuck = source.guests.filter((g) => why(g) !== null && mayName(g));
  const stuckText = stuck.map((g) => `${g.name} (${why(g)})`).join(', ');
  if (movable.length === 0)
    return {
      refuse: `${args.host} runs no guest to move: nothing to evacuate${stuck.length > 0 ? ` (${stuckText} cannot be migrated)` : ''}`,
    };
  // Any running guest outside the scope, movable or not (a migration of it under way, a name xenops does not act on):
  // the asker cannot empty the host, and the read-back after the last step, shown without it, would call it empty.
  const hidden = source.guests.filter((g) => MOVABLE.includes(g.status) && !mayName(g)).length;
  const barred = ctx.may ? movable.filter((g) => mayName(g) && !ctx.may?.('domain.migrate', args.host, g.name)).map((g) => g.name) : [];
  if (barred.length > 0 || hidden > 0)
    return {
      refuse: `${[
        ...(barred.length > 0
          ? [`you may not migrate ${barred.sort().join(', ')} off ${args.host} (that needs permission domain.migrate there)`]
          : []),
        ...(hidden > 0
          ? [`${args.host} runs ${hidden} guest${hidden === 1 ? '' : 's'} outside your scope, which you may not migrate`]
          : []),
      ].join('; ')}: nothing was planned`,
    };
  const asked = [...new Set([...Object.keys(reading.hosts), ...Object.keys(reading.unanswered)])].sort();
  const names = (args.to ?? asked).filter((h) => h !== args.host);
  const out = exclusions(reading, source, names, ctx.may);
  const usable = names.filter((h) => {
    const c = reading.hosts[h];
    return c !== undefined && !reading.frozen[h] && c.toolstack === source.toolstack;
  });
  const candidates = usable.map((h) => ({ host: h, freeMiB: reading.hosts[h]?.freeMiB ?? 0 }));
  const reserve = reading.reserveMiB;
  // Never onto a host that lists a domain of that name (even powered off, not cleared away): xl would copy the whole
  // guest there and then fail to rename it.
  const nameFree = (d: string, h: string) => !(reading.hosts[h]?.guests ?? []).some((g) => g.name === d);
  const allowed = (d: string, h: string) => nameFree(d, h) && (ctx.may?.('domain.migrate', h, d) ?? true);
  // No guest may go to any host: nothing can be migrated. Refused outright, --shutdown-rest or not: "the rest" would be
  // every guest, and an evacuation that only shuts guests down is a mass shutdown nobody asked for by that name.
  if (!usable.some((h) => movable.some((g) => allowed(g.name, h)))) {
    const reasons = [
      ...(out.length > 0 ? [`not considered: ${out.join('; ')}`] : []),
      ...movable.flatMap((g) => barredTargets(g.name, usable, reading, source, ctx.may)),
      ...(names.length === 0 ? ['there is no other host you may use'] : []),
    ];
    const first = movable[0]?.name ?? '';
    return {
      refuse: `no host can take a guest from ${args.host}, so nothing was planned and nothing was moved${reasons.map((r) => `; ${r}`).join('')}${
        args['shutdown-rest']
          ? `. --shutdown-rest shuts down only the guests that fit nowhere after the others moved, never every guest: to shut them all down, /stop each (/stop ${args.host}:${first}) and /freeze ${args.host}`
          : ''
      }`,
    };
  }
  const placed = placeGuests(movable, candidates, reserve, allowed);
  const notConsidered = out.length > 0 ? `; not considered: ${out.join('; ')}` : '';
  const unplacedText = placed.unplaced
    .map((u) => [describeUnplaced(u, reserve), ...barredTargets(u.domain, usable, reading, source, ctx.may)].join('; '))
    .join('; ');
  if (placed.unplaced.length > 0 && !args['shutdown-rest'])
    return {
      refuse: `${unplacedText} — the evacuation of ${args.host} was refused and nothing was moved (--shutdown-rest would shut ${placed.unplaced.length === 1 ? 'it' : 'them'} down instead)${notConsidered}`,
    };
  const jobs: JobSpec[] = [
    // Each sent only if its target still has room then (the agent reads it again): it may have filled since this reading.
    ...placed.placements.map(
      (p): JobSpec => ({ op: 'domain.migrate', host: args.host, domain: p.domain, target: p.target, keepFreeMiB: reserve }),
    ),
    ...placed.unplaced.map((u): JobSpec => ({ op: 'domain.stop', host: args.host, domain: u.domain, force: false })),
    // Read back last: a guest started (or moved) there while the plan ran means the host is not empty, whatever moved.
    { op: 'domain.list', host: args.host },
  ];
  const rows = [
    ...placed.placements.map((p, i) => [String(i + 1), p.domain, MiB(p.memoryMiB), p.target, MiB(p.freeBeforeMiB), MiB(p.freeAfterMiB)]),
    ...placed.unplaced.map((u, i) => [
      String(placed.placements.length + i + 1),
      u.domain,
      MiB(u.memoryMiB),
      `shut down on ${args.host}`,
      '-',
      '-',
    ]),
  ];
  const used = [...new Set(placed.placements.map((p) => p.target))].sort();
  // Whether the relay will leave guests out of this asker's read-back: its render must not take a list without them
  // for an empty host. A name no rule lists is what src/core/authorize.ts (domainLimited) asks about too; a scope
  // made by deny rules allows it, and a guest of the host (stopped, as last listed) that it leaves out tells instead.
  const hiddenLeft = source.guests.filter((g) => !mayName(g)).length;
  const scoped =
    ctx.may !== undefined &&
    (hiddenLeft > 0 ||
      !mayName({ name: '\u0000every-domain' }) ||
      view.domains(args.host).some((d) => d.name !== DOM0_NAME && !mayName(d)));
  const hiddenLeftText =
    hiddenLeft > 0 ? `${hiddenLeft} not running there ${hiddenLeft === 1 ? 'stays' : 'stay'} (not migrated, not named); ` : '';
  const summary: Block[] = [
    reply.text(
      `Evacuation of ${args.host} (${source.toolstack}): ${placed.placements.length} migration${placed.placements.length === 1 ? '' : 's'}${
        placed.unplaced.length > 0 ? ` and ${placed.unplaced.length} shutdown${placed.unplaced.length === 1 ? '' : 's'}` : ''
      }, one at a time, each verified on its target. Figures read at ${clock(reading.at)}; every target keeps ${MiB(reserve)} free (fleet.memoryReserveMiB).`,
    ),
    reply.table({ columns: ['#', 'domain', 'memory', 'to', 'target free before', 'after'], rows, alignRight: [0, 2, 4, 5] }, 'the plan'),
    // A plan of shutdowns only has no target to show.
    ...(used.length > 0
      ? [
          reply.text(
            `targets: ${used
              .map((h) => {
                const c = reading.hosts[h] as HostCapacity;
                const after = Math.min(...placed.placements.filter((p) => p.target === h).map((p) => p.freeAfterMiB));
                return `${h} ${MiB(c.freeMiB)} free of ${MiB(c.totalMiB)} → ${MiB(after)} after`;
              })
              .join('; ')}`,
          ),
        ]
      : []),
    ...(placed.unplaced.length > 0
      ? [reply.text(`--shutdown-rest: ${unplacedText} — shut down on ${args.host} (xl shutdown) after the migrations`)]
      : []),
    ...(out.length > 0 ? [reply.text(`not considered: ${out.join('; ')}`)] : []),
    ...(stuck.length > 0 ? [reply.text(`${leftPrefix(args.host)}${stuckText} — not migrated`)] : []),
    ...(scoped
      ? [reply.text(`${scopedPrefix(args.host)}${hiddenLeftText}the read-back after the last step shows only those you may see`)]
      : []),
    reply.text(freezePromise(args.host)),
  ];
  return { jobs, summary };
}

/**
 * The card's word on the freeze: the final reply says what became of it instead, and leaves this line out. A frozen
 * host refuses every mutating command, not only starts ("frozen for new starts" said less than it does).
 */
const freezePromise = (host: string) => `once every step has succeeded, ${host} is frozen (mutating commands refused) until /unfreeze`;
/** The line as cards made before it was reworded say it: such a card, approved after an upgrade, is rendered here. */
const formerFreezePromise = (host: string) => `once every step has succeeded, ${host} is frozen for new starts until /unfreeze`;

/** How the plan's card starts the line naming the guests it leaves on the host: `left on xen1: a (why), b (why)`. */
const leftPrefix = (host: string) => `left on ${host}: `;

/** How the card of an asker who may not see every guest on the host says so: the render tells by this line. */
const scopedPrefix = (host: string) => `you may not see every guest on ${host}: `;

/** Whether the plan (its card, as the relay kept it) was made for someone whose read-back leaves guests out. */
function scopedPlan(summary: readonly Block[], host: string): boolean {
  return summary.some((b) => b.type === 'text' && b.text.startsWith(scopedPrefix(host)));
}

/**
 * Whether the plan (its card, as the relay kept it) named `domain` among the guests it leaves on the host: one found
 * running there afterwards was not "started or moved there while the plan ran".
 */
function leftByPlan(summary: readonly Block[], host: string): (domain: string) => boolean {
  const line = summary.find((b) => b.type === 'text' && b.text.startsWith(leftPrefix(host)));
  // Each entry is `NAME (why)`, joined by ", ": a leading ", " makes every one start the same way.
  const entries = line?.type === 'text' ? `, ${line.text.slice(leftPrefix(host).length)}` : '';
  return (domain) => entries.includes(`, ${domain} (`);
}

/** What one step of a plan is: "web → xen2", "big: shut down on xen1". */
export function stepLabel(step: JobSpec): string {
  if (step.op === 'domain.migrate') return `${step.domain} → ${step.target}`;
  if (step.op === 'domain.stop') return `${step.domain}: shut down on ${step.host}`;
  return `${step.op} on ${step.host}`;
}

/**
 * One line per step of a plan: done (verified), failed (why), or not attempted — from the plan's steps (all of them)
 * and the outcomes (the steps that ran: a prefix). Also which domains moved and which did not.
 */
export function stepReport(
  steps: readonly JobSpec[],
  outcomes: readonly HostOutcome<JobOp>[],
): {
  lines: Block[];
  moved: string[];
  notMoved: string[];
  gone: string[];
  unknown: string[];
  nowhere: string[];
  failedAt: number | null;
} {
  const lines: Block[] = [];
  const moved: string[] = [];
  const notMoved: string[] = [];
  const gone: string[] = [];
  // Steps whose outcome is unknown (an agent sent the command and its result was lost): neither moved nor not.
  const unknown: string[] = [];
  // Steps whose migration reported success and whose guest then ran on neither host: neither moved nor still there.
  const nowhere: string[] = [];
  let failedAt: number | null = null;
  steps.forEach((step, i) => {
    const o = outcomes[i];
    const name = 'domain' in step ? step.domain : step.host;
    if (!o) {
      lines.push(reply.text(`– ${i + 1}. ${stepLabel(step)}: not attempted`));
      if (step.op === 'domain.migrate') notMoved.push(`${name} (not attempted)`);
      return;
    }
    if (!o.ok) {
      failedAt ??= i;
      if (o.failure.code === 'outcomeUnknown') {
        lines.push(reply.text(`✖ ${i + 1}. ${stepLabel(step)}: outcome unknown — ${o.failure.message}`));
        unknown.push(name);
        return;
      }
      lines.push(reply.text(`✖ ${i + 1}. ${stepLabel(step)}: failed — ${o.failure.message}`));
      // Not running there any more (stopped, moved or removed meanwhile): not "still on" the source.
      if (step.op === 'domain.migrate' && o.failure.code === 'domain.notFound') gone.push(name);
      else if (step.op === 'domain.migrate') notMoved.push(`${name} (failed)`);
      return;
    }
    if (step.op === 'domain.migrate') {
      const r = o.result as MigrateResult;
      if (r.outcome === 'running-nowhere') {
        // The plan stops here too (endsPlan): the guest left its host and the next ones would go the same way.
        failedAt ??= i;
        lines.push(reply.text(`✖ ${i + 1}. ${stepLabel(step)}: running on neither host after the migration reported success`));
        lines.push(reply.text(runningNowhere(r, o.host)));
        if (r.sourceAutostart) lines.push(reply.text(autostartLeftBehind(name, o.host)));
        nowhere.push(`${name} → ${r.target}`);
        return;
      }
      if (r.outcome === 'arrived-not-running') {
        // Moved, and the plan stops here (endsPlan): where the guest is and in what state, never "still on" the source.
        failedAt ??= i;
        const state = `${r.domain.status}${r.domain.flags ? ` (${r.domain.flags})` : ''}`;
        lines.push(reply.text(`✖ ${i + 1}. ${stepLabel(step)}: moved, but not running there: ${state}`));
        lines.push(reply.text(arrivedNotRunning(r)));
        if (r.sourceAutostart) lines.push(reply.text(autostartLeftBehind(name, o.host)));
        moved.push(`${name} → ${r.target} (not running there: ${r.domain.status})`);
        return;
      }
      const how = r.outcome === 'already-on-target' ? 'was already there' : `running there as id ${r.domain.id} (verified)`;
      lines.push(reply.text(`✔ ${i + 1}. ${stepLabel(step)}: ${how}${r.resumed ? ', read back after an agent restart' : ''}`));
      if (r.sourceAutostart) lines.push(reply.text(autostartLeftBehind(name, o.host)));
      moved.push(`${name} → ${r.target}`);
    } else if (step.op === 'domain.stop') {
      const r = o.result as { outcome: string };
      lines.push(reply.text(`✔ ${i + 1}. ${stepLabel(step)}: ${r.outcome === 'already-stopped' ? 'was not running' : 'done (read back)'}`));
    } else lines.push(reply.text(`✔ ${i + 1}. ${stepLabel(step)}`));
  });
  return { lines, moved, notMoved, gone, unknown, nowhere, failedAt };
}

/** Guests whose migration reported success and that then ran on neither host (see runningNowhere). */
export function nowhereLine(nowhere: readonly string[], host?: string): Block[] {
  return nowhere.length > 0
    ? [reply.text(`running on neither host (left ${host ?? 'its host'}, not on its target): ${nowhere.join(', ')}`)]
    : [];
}

/** Guests a step did not find running on their host: someone stopped, moved or removed them while the plan ran. */
export function goneLine(gone: readonly string[], host: string): Block[] {
  return gone.length > 0
    ? [reply.text(`not running on ${host} when their turn came (stopped, moved or removed meanwhile): ${gone.join(', ')}`)]
    : [];
}

/** The steps whose outcome is unknown, to be looked at before anything is retried. */
export function unknownLine(unknown: readonly string[]): Block[] {
  return unknown.length > 0 ? [reply.text(`moved or not, unknown (check with /list before retrying): ${unknown.join(', ')}`)] : [];
}

/** The plan's steps as the relay kept them; without them (an old pending request), the outcomes' own. */
function stepsOf(outcomes: readonly HostOutcome<JobOp>[], ctx: RenderContext): JobSpec[] {
  if (ctx.plan && ctx.plan.steps.length > 0) return ctx.plan.steps;
  return outcomes.map((o): JobSpec => {
    const r = o.ok ? (o.result as { target?: string; domain?: { name: string } | null }) : null;
    return r?.target && r.domain
      ? { op: 'domain.migrate', host: o.host, domain: r.domain.name, target: r.target }
      : { op: 'host.status', host: o.host };
  });
}

/**
 * Whether a domain read back on the host is still there: running, blocked, paused, crashed or dying, it holds its
 * place (and its memory) on the host and goes down with it. Shut-down and defined-only ones are gone from it.
 */
const stillThere = (d: { name: string; status: DomainStatus }) => d.name !== DOM0_NAME && d.status !== 'shutdown' && d.status !== 'defined';

/** A guest still there, as the reply names it: its state said unless it runs ("web (paused)"). */
const nameLeft = (d: { name: string; status: DomainStatus }) => (MOVABLE.includes(d.status) ? d.name : `${d.name} (${d.status})`);

/**
 * What the source's read-back (the plan's last job, absent from plans made before it was added) says: the guests
 * still there now, running or not (a paused guest the plan left, one crashed there) — none is what "evacuated" claims.
 */
function readBackOf(
  steps: readonly JobSpec[],
  outcomes: readonly HostOutcome<JobOp>[],
  host: string,
  scoped: boolean,
): { steps: readonly JobSpec[]; left: DomainSummary[] | null; line: Block | null; unread?: true } {
  const last = steps.length - 1;
  if (steps[last]?.op !== 'domain.list') return { steps, left: null, line: null };
  const o = outcomes[last];
  const own = steps.slice(0, last);
  if (!o) return { steps: own, left: null, line: null };
  if (!o.ok)
    return {
      steps: own,
      left: null,
      unread: true,
      line: reply.text(`⚠ ${host} could not be read back after the last step (${o.failure.message}): /list ${host} shows what runs there`),
    };
  // A guest the plan shut down may be read back dying (xl shutdown -w returns as it goes down, before the destroy):
  // on its way out by the plan's own step, it is no guest left there.
  const shutByPlan = new Set(
    own.flatMap((s, i) => {
      const r = outcomes[i];
      return s.op === 'domain.stop' && r?.ok === true && (r.result as { outcome: string }).outcome !== 'already-stopped' ? [s.domain] : [];
    }),
  );
  const left = (o.result as JobResult<'domain.list'>).domains.filter(
    (d) => stillThere(d) && !(d.status === 'dying' && shutByPlan.has(d.name)),
  );
  return {
    steps: own,
    left,
    line:
      left.length > 0
        ? reply.text(
            `read back after the last step: ${host} still holds ${left.map(nameLeft).join(', ')}, so it is not evacuated — what is left goes down with ${host}`,
          )
        : scoped
          ? reply.text(
              `read back after the last step: no guest you may see runs on ${host} — guests outside your scope are not shown to you, so this does not say ${host} is empty (/list ${host} by someone who may see every guest there does)`,
            )
          : reply.text(`read back after the last step: no guest runs on ${host}`),
  };
}

function renderEvacuation(outcomes: HostOutcome<JobOp>[], args: Args, ctx: RenderContext): Reply {
  const scoped = scopedPlan(ctx.plan?.summary ?? [], args.host);
  const back = readBackOf(stepsOf(outcomes, ctx), outcomes, args.host, scoped);
  const steps = back.steps;
  const { lines, moved, notMoved, gone, unknown, nowhere, failedAt } = stepReport(steps, outcomes.slice(0, steps.length));
  const complete = failedAt === null && outcomes.length >= steps.length;
  // A guest found not running when its shutdown came was not shut down by the plan (its line says so).
  const shutDown = (i: number) => {
    const o = outcomes[i];
    return o?.ok === true && (o.result as { outcome: string }).outcome !== 'already-stopped';
  };
  const stops = steps.filter((s, i) => s.op === 'domain.stop' && shutDown(i)).length;
  const freeze: Block[] = [];
  if (complete) {
    if (ctx.froze && 'hosts' in ctx.froze && ctx.froze.kept?.length)
      // Someone froze it while the plan ran: their freeze (its reason, its end) stands, not replaced by this one.
      freeze.push(reply.text(`${args.host} was frozen meanwhile and that freeze is kept: ${ctx.froze.kept.join('; ')}`));
    else if (ctx.froze && 'hosts' in ctx.froze)
      freeze.push(
        reply.text(`${args.host} is now frozen (mutating commands refused) until /unfreeze (reads go on; /unfreeze ${args.host} lifts it)`),
      );
    else if (ctx.froze && 'error' in ctx.froze)
      freeze.push(
        reply.text(`⚠ ${args.host} could not be frozen (${ctx.froze.error}): /freeze ${args.host} by hand before anything starts there`),
      );
  } else freeze.push(reply.text(`${args.host} was not frozen: the evacuation did not complete`));
  const summary: Block[] = [
    reply.text(`moved: ${moved.join(', ') || 'nothing'}`),
    ...(notMoved.length > 0 ? [reply.text(`not moved, still on ${args.host}: ${notMoved.join(', ')}`)] : []),
    ...goneLine(gone, args.host),
    ...nowhereLine(nowhere, args.host),
    ...unknownLine(unknown),
  ];
  // Its freeze line is what the card promised; the reply's own (frozen now, kept, failed, or not) replaces it.
  const promises = [freezePromise(args.host), formerFreezePromise(args.host)];
  const plan = (ctx.plan?.summary ?? []).filter((b) => !(b.type === 'text' && promises.includes(b.text)));
  const done = `${moved.length} guest${moved.length === 1 ? '' : 's'} moved${stops > 0 ? `, ${stops} shut down` : ''}`;
  const left = complete ? (back.left ?? []) : [];
  const planned = leftByPlan(plan, args.host);
  // "runs" only of guests that do: a paused or crashed one "is there".
  const there = (ds: DomainSummary[]) =>
    `${ds.map(nameLeft).join(', ')} ${
      ds.every((d) => MOVABLE.includes(d.status)) ? (ds.length === 1 ? 'runs' : 'run') : ds.length === 1 ? 'is' : 'are'
    } there`;
  const arrived = left.filter((d) => !planned(d.name));
  const kept = left.filter((d) => planned(d.name));
  const why = [
    ...(arrived.length > 0 ? [`${there(arrived)} (started or moved there while the plan ran)`] : []),
    ...(kept.length > 0 ? [`${there(kept)} (the plan left ${kept.length === 1 ? 'it' : 'them'} there: see below)`] : []),
  ];
  const title = !complete
    ? `Evacuation of ${args.host} stopped at step ${(failedAt ?? outcomes.length) + 1} of ${steps.length}`
    : left.length > 0
      ? `${args.host} is not empty: ${done}, but ${why.join('; ')}`
      : scoped
        ? `${args.host} evacuated of every guest you may see: ${done}`
        : `${args.host} evacuated: ${done}`;
  const readBack = complete && back.line ? [back.line] : [];
  return reply.result(title, [...lines, ...summary, ...readBack, ...freeze, ...plan], {
    tone: !complete ? 'error' : left.length > 0 || back.unread || scoped ? 'warning' : 'success',
  });
}

export const evacuate = defineCommand<typeof Args, 'domain.migrate' | 'domain.stop' | 'domain.list' | 'host.status'>({
  name: 'evacuate',
  description: 'Live-migrate every running guest off a host (planned by free memory, one approval), then freeze it',
  args: Args,
  positional: ['host', 'to'],
  restOfLine: 'to',
  permission: 'host.evacuate',
  risk: 'dangerous',
  scope: 'host',
  op: 'domain.migrate',
  examples: ['/evacuate xen1', '/evacuate xen1 to xen2 xen3', '/evacuate xen1 --shutdown-rest --reason "RAM swap"'],
  // Never used: the plan always makes the jobs (or refuses). A read, should it ever be.
  job: (_args, target) => ({ op: 'host.status', host: target.host }),
  touches: (args) => args.to ?? [],
  capacity: (args, visible) => [args.host, ...(args.to ?? visible)],
  plan: (args, _target, view, ctx) => planEvacuation(args, view, ctx),
  freezeAfter: (args) => ({ hosts: [args.host], reason: `evacuated${args.reason ? `: ${args.reason}` : ''}` }),
  renderProgress: (p) => reply.progress('Evacuating', p.message, p.percent),
  render: (outcomes, args, ctx) => renderEvacuation(outcomes as HostOutcome<JobOp>[], args, ctx),
});
