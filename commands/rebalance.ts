import { z } from 'zod';
import {
  defineCommand,
  type HostOutcome,
  type JobSpec,
  type PlanResult,
  type PrecheckContext,
  reasonArg,
} from '../src/core/define-command.ts';
import { hostNames } from '../src/core/host-groups.ts';
import {
  type BalanceHost,
  capacityFromStatus,
  type HostCapacity,
  planRebalance,
  REBALANCE_MAX_MOVES,
  REBALANCE_TOLERANCE_PCT,
  type RebalancePlan,
} from '../src/core/placement.ts';
import { type Block, reply } from '../src/core/reply.ts';
import type { JobOp, JobResult } from '../src/queue/jobs.ts';
import { HostWords, nowhereLine, stepReport, unknownLine } from './evacuate.ts';
import { mib } from './render-helpers.ts';

/**
 * `/rebalance [hosts] [--run]`: suggests live migrations that even out memory use across hosts, with each host's
 * figures before and after; `--run` makes them a plan that runs only through the approval and plan machinery of
 * /evacuate (one approval for all of them, one at a time, each verified, stopping at the first failure).
 *
 * Memory is the measure: used% = (total_memory − free_memory) / total_memory from `xl info`, Domain-0 included.
 * Each round the planner (src/core/placement.ts) takes the single move that lowers the sum of squared deviations
 * of used% the most, keeping `fleet.memoryReserveMiB` free on the target, between hosts of one toolstack, never
 * widening the spread (max − min used%) and never moving a guest twice; it stops when the spread is within
 * 5 points, when no move helps, or after 10 moves. CPU is the tie-breaker, not a second goal: between moves that
 * even memory out equally (guests of the same size), the one that also evens out CPU (the sum of each host's
 * guests' CPU% from the live samples — the ten busiest per host, the rest count as 0) wins, then names decide.
 * Memory decides because a host without memory refuses a guest, while CPU is shared and moves minute by minute.
 *
 * The suggestion is a read: a host.status job per host (answered by everyone with host.rebalance), planned in the
 * reply. `--run` plans again from figures read for that request (as /evacuate does), leaving out frozen hosts and
 * moves the asker may not make (domain.migrate on both hosts) — and saying so, with the spread those would have reached —
 * so it may differ from an earlier suggestion; the approval card shows exactly what will run.
 */

const Args = z.strictObject({
  hosts: HostWords.optional().describe('only these hosts (default: every host you may use)'),
  run: z.boolean().default(false).describe('run the moves (one approval for all), instead of only suggesting them'),
  reason: reasonArg('the approver'),
});
type Args = z.infer<typeof Args>;

const pct = (n: number) => `${Math.round(n)}%`;

/** Before/after per host, the moves, the spread. */
export function rebalanceBlocks(plan: RebalancePlan, reserveMiB: number, notes: readonly string[]): Block[] {
  const after = new Map(plan.after.map((f) => [f.host, f]));
  const hosts = reply.table(
    {
      columns: ['host', 'used before', 'used after', 'free after', 'CPU% before', 'CPU% after', 'guests'],
      rows: plan.before.map((b) => {
        const a = after.get(b.host) ?? b;
        return [
          b.host,
          `${mib(b.usedMiB)} (${pct(b.usedPct)})`,
          `${mib(a.usedMiB)} (${pct(a.usedPct)})`,
          mib(a.freeMiB),
          String(b.cpuPercent),
          String(a.cpuPercent),
          `${b.guests} → ${a.guests}`,
        ];
      }),
      alignRight: [1, 2, 3, 4, 5],
    },
    'memory used of total, per host',
  );
  const moves =
    plan.moves.length > 0
      ? [
          reply.table(
            {
              columns: ['#', 'domain', 'memory', 'CPU%', 'from', 'to'],
              rows: plan.moves.map((m, i) => [String(i + 1), m.domain, mib(m.memoryMiB), String(m.cpuPercent), m.from, m.to]),
              alignRight: [0, 2, 3],
            },
            'moves, in order',
          ),
        ]
      : [];
  const why =
    plan.stoppedBy === 'balanced'
      ? `within ${REBALANCE_TOLERANCE_PCT} points: balanced`
      : plan.stoppedBy === 'move-limit'
        ? `stopped at ${REBALANCE_MAX_MOVES} moves: ask again afterwards for more`
        : 'no further move evens it out';
  return [
    hosts,
    ...moves,
    reply.text(
      `spread of memory use (max − min): ${pct(plan.spreadBefore)} → ${pct(plan.spreadAfter)} (${why}); every target keeps ${mib(reserveMiB)} free`,
    ),
    ...notes.map((n) => reply.text(n)),
  ];
}

/** Why fewer than two hosts are left to balance, each reason with the hosts it applies to. */
interface LeftOut {
  /** The hosts left to balance (fewer than two). */
  usable: readonly string[];
  frozen: readonly string[];
  /** Hosts that did not answer, or answered without memory figures (the notes say which and why). */
  unread: readonly string[];
  /** The hosts the asker may rebalance, when their scope leaves others out; null when it leaves none out. */
  scope: readonly string[] | null;
  /** The hosts named (`/rebalance xen1`), when fewer than two. */
  named: readonly string[] | null;
}

/**
 * One line: what left out which hosts, and what rebalancing needs — `you may rebalance only xen2: rebalancing needs two
 * hosts you may use`. Hosts outside the asker's scope are never named (nor counted), as everywhere else.
 */
export function tooFewLine(l: LeftOut): string {
  const are = (hosts: readonly string[]) => `${hostNames(hosts)} ${hosts.length === 1 ? 'is' : 'are'}`;
  const reasons = [
    ...(l.named ? [`you named only ${hostNames(l.named) || 'no host'}`] : []),
    ...(l.scope ? [`you may rebalance only ${hostNames(l.scope) || 'no host'}`] : []),
    ...(l.frozen.length > 0 ? [`${are(l.frozen)} frozen`] : []),
    ...(l.unread.length > 0 ? [`${hostNames(l.unread)} could not be read`] : []),
  ];
  const needs = [
    ...(l.scope ? ['you may use'] : []),
    ...(l.unread.length > 0 ? ['whose figures were read'] : []),
    ...(l.frozen.length > 0 ? ['that are not frozen'] : []),
  ];
  const need = `rebalancing needs two hosts${needs.length > 0 ? ` ${needs.join(needs.length > 2 ? ', ' : ' and ').replace(/, (?=[^,]*$)/, ' and ')}` : ''}`;
  if (reasons.length === 0) return `${l.usable.length === 1 ? `there is only ${l.usable[0]}` : 'there is no host'}: ${need}`;
  // Left out by the answers: which hosts remain is not plain from the reasons, as it is from a scope or a naming.
  const answers = l.frozen.length + l.unread.length > 0;
  const left = l.usable.length === 0 ? 'none is left' : `only ${hostNames(l.usable)} ${l.usable.length === 1 ? 'is' : 'are'} left`;
  return `${reasons.join('; ')}${answers ? ` (${left})` : ''}: ${need}`;
}

/**
 * Refused before any host is asked when the hosts named, or the asker's scope, leave fewer than two: no answer could
 * change that. Null without the asker's permissions (a plan made outside a request), or when two or more are left.
 */
export function scopeRefusal(args: Args, view: PrecheckContext['view'], ctx: PrecheckContext): PlanResult | null {
  if (!ctx.may) return null;
  if (args.hosts) {
    const named = [...new Set(args.hosts)];
    return named.length < 2 ? { refuse: tooFewLine({ usable: named, frozen: [], unread: [], scope: null, named }) } : null;
  }
  if (ctx.visible.length >= 2) return null;
  const scoped = view.hostNames.some((h) => !ctx.visible.includes(h));
  return { refuse: tooFewLine({ usable: ctx.visible, frozen: [], unread: [], scope: scoped ? ctx.visible : null, named: null }) };
}

/** Hosts without a live CPU sample: their guests' CPU counts as 0 (said, so a 0 is not read as idle). */
function noSampleNote(hosts: readonly HostCapacity[]): string[] {
  const none = hosts.filter((c) => c.cpuSampledAt === null).map((c) => c.host);
  return none.length > 0 ? [`no live CPU sample from ${none.join(', ')}: CPU% counted as 0 there`] : [];
}

function balanceHost(c: HostCapacity): BalanceHost {
  return { host: c.host, toolstack: c.toolstack, totalMiB: c.totalMiB, freeMiB: c.freeMiB, guests: c.guests };
}

/** --run: the moves as a plan, from the capacity read for this request. */
export function planRebalanceRun(args: Args, view: PrecheckContext['view'], ctx: PrecheckContext): PlanResult {
  const early = scopeRefusal(args, view, ctx);
  if (early) return early;
  const reading = view.capacity;
  if (!reading) return { refuse: `the hosts' free memory could not be read for this plan, so nothing was planned — try again` };
  const unansweredNotes = Object.values(reading.unanswered).map((m) => `left out: ${m}`);
  const notes = [...unansweredNotes, ...Object.keys(reading.frozen).map((h) => `left out: ${h} is frozen`)];
  const read = Object.values(reading.hosts).filter((c) => !reading.frozen[c.host] && (!args.hosts || args.hosts.includes(c.host)));
  const hosts = read.map(balanceHost);
  notes.push(...noSampleNote(read));
  if (hosts.length < 2) {
    const line = tooFewLine({
      usable: hosts.map((h) => h.host),
      frozen: Object.keys(reading.frozen),
      unread: Object.keys(reading.unanswered),
      scope: view.hostNames.some((h) => !ctx.visible.includes(h)) && !args.hosts ? ctx.visible : null,
      named: null,
    });
    // Why each unanswered host was not read; the freezes are in the line already.
    return { refuse: `${line}${unansweredNotes.length > 0 ? ` — ${unansweredNotes.join('; ')}` : ''}` };
  }
  const may = ctx.may ?? (() => true);
  const alsoRead = [...Object.values(reading.hosts), ...Object.values(reading.listedOnly ?? {})];
  const plan = planRebalance(hosts, {
    reserveMiB: reading.reserveMiB,
    alsoRead,
    allowed: (d, from, to) => may('domain.migrate', from, d) && may('domain.migrate', to, d),
  });
  // The same figures planned without the asker's scope: what their scope left out is said, never passed off as balance.
  const open = ctx.may ? planRebalance(hosts, { reserveMiB: reading.reserveMiB, alsoRead }) : plan;
  if (plan.moves.length === 0 && open.moves.length > 0)
    return {
      refuse: `${open.moves.length} migration${open.moves.length === 1 ? '' : 's'} would even out memory use (spread ${pct(open.spreadBefore)} → ${pct(open.spreadAfter)}), but you may make none of them: each needs permission domain.migrate on both hosts — nothing to run`,
    };
  if (pct(open.spreadAfter) !== pct(plan.spreadAfter))
    notes.push(
      `migrations you may not make (domain.migrate on both hosts) were left out: with them the spread would end at ${pct(open.spreadAfter)}, not ${pct(plan.spreadAfter)}`,
    );
  if (plan.moves.length === 0)
    return {
      refuse: `no move evens out memory use: the spread is ${pct(plan.spreadBefore)}${
        plan.stoppedBy === 'balanced' ? ` (within ${REBALANCE_TOLERANCE_PCT} points)` : ''
      } — nothing to run`,
    };
  // Each sent only if its target still has room then (the agent reads it again): it may have filled since this reading.
  const jobs = plan.moves.map(
    (m): JobSpec => ({ op: 'domain.migrate', host: m.from, domain: m.domain, target: m.to, keepFreeMiB: reading.reserveMiB }),
  );
  return {
    jobs,
    summary: [
      reply.text(
        `Rebalance: ${plan.moves.length} migration${plan.moves.length === 1 ? '' : 's'}, one at a time, each verified on its target; figures read at ${new Date(reading.at).toISOString().slice(11, 19)} UTC`,
      ),
      ...rebalanceBlocks(plan, reading.reserveMiB, notes),
    ],
  };
}

/** The suggestion, from the hosts' host.status answers. */
function renderSuggestion(outcomes: HostOutcome<'host.status'>[], args: Args, reserveMiB: number) {
  const notes: string[] = [];
  const unreadNotes: string[] = [];
  const read: HostCapacity[] = [];
  const frozen: string[] = [];
  const unread: string[] = [];
  for (const o of outcomes) {
    if (!o.ok) {
      unreadNotes.push(`left out: ${o.host} — ${o.failure.message}`);
      unread.push(o.host);
    } else if (o.frozen) {
      notes.push(`left out: ${o.host} is frozen`);
      frozen.push(o.host);
    } else {
      const c = capacityFromStatus(o.result as JobResult<'host.status'>);
      if (typeof c === 'string') {
        unreadNotes.push(`left out: ${c}`);
        unread.push(o.host);
      } else read.push(c);
    }
  }
  notes.unshift(...unreadNotes);
  const hosts = read.map(balanceHost);
  notes.push(...noSampleNote(read));
  // A suggestion changes nothing, so nothing keeps a reason: said, rather than taken and dropped.
  const unrecorded = args.reason
    ? [reply.text('--reason was not recorded: a suggestion changes nothing; the reason goes with --run (shown to the approver)')]
    : [];
  if (hosts.length < 2)
    return reply.result(
      'Nothing to rebalance',
      [
        // The asker's scope was checked before the hosts were asked (scopeRefusal): what is left out here, the answers say.
        reply.text(tooFewLine({ usable: read.map((c) => c.host), frozen, unread, scope: null, named: null })),
        ...unreadNotes.map((n) => reply.text(n)),
        ...unrecorded,
      ],
      {
        tone: 'info',
      },
    );
  const plan = planRebalance(hosts, { reserveMiB });
  const scope = args.hosts ? ` ${args.hosts.join(' ')}` : '';
  const title =
    plan.moves.length > 0
      ? `Rebalance: ${plan.moves.length} suggested migration${plan.moves.length === 1 ? '' : 's'}`
      : 'Rebalance: nothing to move';
  const run =
    plan.moves.length > 0
      ? [
          reply.text(
            `to run them: /rebalance${scope} --run — one approval for all; each move needs domain.migrate on both its hosts (those you may not make are left out); the figures are read again then, so the plan may differ`,
          ),
        ]
      : [];
  return reply.result(title, [...rebalanceBlocks(plan, reserveMiB, notes), ...run, ...unrecorded], { tone: 'info' });
}

export const rebalance = defineCommand<typeof Args, 'domain.migrate' | 'host.status'>({
  name: 'rebalance',
  description: 'Suggest migrations that even out memory use across hosts (CPU breaks ties); --run runs them',
  args: Args,
  positional: ['hosts'],
  restOfLine: 'hosts',
  permission: 'host.rebalance',
  risk: (args) => (args.run ? 'dangerous' : 'read'),
  scope: 'fleet',
  op: 'domain.migrate',
  examples: ['/rebalance', '/rebalance xen1 xen2', '/rebalance --run'],
  showsHostHealth: true,
  // The suggestion: every host's figures, read now; planned in the reply.
  job: (_args, target) => ({ op: 'host.status', host: target.host }),
  capacity: (args, visible) => (args.run ? (args.hosts ?? [...visible]) : null),
  plan: (args, _target, view, ctx) => (args.run ? planRebalanceRun(args, view, ctx) : scopeRefusal(args, view, ctx)),
  renderProgress: (p) => reply.progress('Rebalancing', p.message, p.percent),
  render: (outcomes, args, ctx) => {
    if (!args.run) return renderSuggestion(outcomes as HostOutcome<'host.status'>[], args, ctx.memoryReserveMiB ?? 512);
    const steps = ctx.plan?.steps ?? [];
    const { lines, moved, notMoved, gone, unknown, nowhere, failedAt } = stepReport(steps, outcomes as HostOutcome<JobOp>[]);
    const complete = failedAt === null && outcomes.length === steps.length;
    return reply.result(
      complete
        ? `Rebalanced: ${moved.length} guest${moved.length === 1 ? '' : 's'} moved`
        : `Rebalance stopped at step ${(failedAt ?? outcomes.length) + 1} of ${steps.length}`,
      [
        ...lines,
        reply.text(`moved: ${moved.join(', ') || 'nothing'}`),
        ...(notMoved.length > 0 ? [reply.text(`not moved: ${notMoved.join(', ')}`)] : []),
        ...(gone.length > 0
          ? [reply.text(`not running on their host when their turn came (stopped, moved or removed meanwhile): ${gone.join(', ')}`)]
          : []),
        ...nowhereLine(nowhere),
        ...unknownLine(unknown),
        ...(ctx.plan?.summary ?? []),
      ],
      { tone: complete ? 'success' : 'error' },
    );
  },
});
