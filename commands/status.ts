import { z } from 'zod';
import { describeChange } from '../src/core/changes.ts';
import { type AgentSighting, defineCommand, type HostOutcome, type RenderContext } from '../src/core/define-command.ts';
import { type Block, reply } from '../src/core/reply.ts';
import { byCpuPercent } from '../src/core/samples.ts';
import { ago } from '../src/core/time-text.ts';
import { AUTOSTART_MARK, mib, shownName, statusWords, toneOf } from './render-helpers.ts';
import { plainText } from './show.ts';

/** "pid@node, seen 2 s ago", or why there is none: an operator must see a silent agent at a glance. */
function describeAgent(a: AgentSighting | null | undefined): string {
  if (!a) return 'none seen';
  // As the refusals say it ("last seen 3 min ago"): an agent gone for days read "seen 259200 s ago".
  const seen = `seen ${ago(a.seenAgoMs)}`;
  return a.alive ? `${a.where}, ${seen}` : `gone (${a.where}, last ${seen})`;
}

type Outcome = HostOutcome<'host.status'>;

/** Idle guests show as "blocked" in xl list: they are running as far as an operator is concerned. The other states in /list's words. */
function describeCounts(byStatus: Partial<Record<string, number>>): string {
  const n = (s: string) => byStatus[s] ?? 0;
  const parts: string[] = [];
  const running = n('running') + n('blocked');
  if (running > 0) parts.push(`${running} running`);
  for (const s of ['paused', 'crashed', 'dying', 'shutdown', 'defined'] as const) if (n(s) > 0) parts.push(`${n(s)} ${statusWords(s)}`);
  return parts.join(', ') || 'none';
}

/**
 * Whether the host itself could not be reached. Only a failed SSH connection says so: a host whose toolstack fails
 * (xend down: `xm list` exits 1) answers, and sending an operator to its network or sshd would mislead.
 */
function unreachable(o: Outcome): boolean {
  return !o.ok && (o.failure.code === 'transport' || o.failure.code === 'hostKey' || o.failure.code === 'outcomeUnknown');
}

/** No answer from the host: no live agent, none in time, or no SSH connection. */
function notAnswering(o: Outcome): boolean {
  return !o.ok && (o.failure.code === 'noAnswer' || o.failure.code === 'noAgent' || unreachable(o));
}

function reachability(o: Outcome): string {
  if (o.ok) return o.result.xenVersion ? `up (${o.result.toolstack} ${o.result.xenVersion})` : `up (${o.result.toolstack})`;
  if (o.failure.code === 'noAnswer') return 'no answer';
  if (o.failure.code === 'noAgent') return 'unknown (no agent)';
  if (unreachable(o)) return `unreachable: ${o.failure.message}`;
  if (o.failure.code === 'remote') return `toolstack error: ${o.failure.message}`;
  return `failed: ${o.failure.message}`;
}

function memory(o: Outcome): string {
  if (!o.ok) return '-';
  const { totalMemoryMiB: total, freeMemoryMiB: free } = o.result;
  // xl info answered part-way (libxl_physinfo failed): a figure it did not print is unknown, never "- free".
  if (free === null) return total === null ? 'unknown' : `${mib(total)} in all, free unknown`;
  if (total === null) return `${mib(free)} free`;
  return `${mib(total - free)} used, ${mib(free)} free`;
}

/**
 * `, ↻ 2` when domains start with the host, and the ones of them not running now — what would change after the
 * host's next boot (xendomains' "MISS AUTO"), up to three by name.
 */
function describeAutostart(o: Outcome): string {
  if (!o.ok) return '';
  const auto = (o.result.domains ?? []).filter((d) => d.autostart);
  if (auto.length === 0) return '';
  const down = auto.filter((d) => d.status === 'defined' || d.status === 'crashed' || d.status === 'shutdown').map((d) => d.name);
  const names = down.length > 3 ? `${down.slice(0, 3).join(', ')}…` : down.join(', ');
  return `, ${AUTOSTART_MARK} ${auto.length}${down.length > 0 ? ` (${down.length} not running: ${names})` : ''}`;
}

function hostRow(o: Outcome): string[] {
  return [
    o.host,
    reachability(o),
    o.ok ? `${describeCounts(o.result.domainsByStatus)}${describeAutostart(o)}` : '-',
    memory(o),
    describeAgent(o.agent),
    o.frozen ? 'frozen' : '',
  ];
}

const HOST_COLUMNS = ['host', 'reachable', 'domains', 'memory', 'agent', 'frozen'];

/** A host an operator must look at: not answering, failing, no live agent, or frozen. */
function needsAttention(o: Outcome): boolean {
  return !o.ok || o.agent?.alive === false || Boolean(o.frozen);
}

/**
 * How much of each part a post shows. The first layout that fits one message is taken: a row per host while the
 * fleet is small, then a summary with the configured caps, then fewer rows of each part (the rest counted).
 */
interface Layout {
  /** A row per host; otherwise the summary line and the hosts needing attention. */
  table: boolean;
  attention: number;
  changes: number;
  busiest: number;
  notes: number;
  freezes: number;
}

function layouts(hosts: number, posts: RenderContext['posts']): Layout[] {
  const { hostRows, changeRows, topDomains } = posts;
  const capped = (attention: number, changes: number, busiest: number, notes: number, freezes: number): Layout => ({
    table: false,
    attention: Math.min(hostRows, attention),
    changes: Math.min(changeRows, changes),
    busiest: Math.min(topDomains, busiest),
    notes,
    freezes,
  });
  return [
    ...(hosts <= hostRows
      ? [{ table: true, attention: 0, changes: changeRows, busiest: topDomains, notes: hostRows, freezes: hosts }]
      : []),
    capped(hostRows, changeRows, topDomains, 5, 5),
    capped(10, 10, 10, 3, 3),
    capped(5, 5, 5, 2, 2),
    capped(3, 3, 3, 1, 1),
  ];
}

/**
 * Characters of plain text a post may have to be one message: under Telegram's 4096 (tags do not count) and
 * Discord's 4096-character description, with room for the title and the table fences (plainText's blank lines
 * between blocks count more than either platform adds).
 */
const POST_BUDGET = 3_900;
const TITLE = 'Fleet status';

/**
 * Hosts: a row each while the fleet is small; past `hostRows`, one summary line and the rows of the hosts needing
 * attention only (also capped), so a 1,000-host post stays one message.
 */
function hostBlocks(outcomes: Outcome[], layout: Layout): Block[] {
  if (layout.table) return [reply.table({ columns: HOST_COLUMNS, rows: outcomes.map(hostRow) })];
  const up = outcomes.filter((o) => o.ok);
  const attention = outcomes.filter(needsAttention);
  const counts: Record<string, number> = {};
  for (const o of up) for (const [s, n] of Object.entries(o.result.domainsByStatus)) counts[s] = (counts[s] ?? 0) + (n ?? 0);
  // Summed over the hosts that gave both figures only: one that did not answer, or whose xl info left them out, is
  // no 0 MiB host, and the sum says how many it leaves out.
  const said = up.flatMap((o) =>
    o.result.totalMemoryMiB !== null && o.result.freeMemoryMiB !== null
      ? [{ total: o.result.totalMemoryMiB, free: o.result.freeMemoryMiB }]
      : [],
  );
  const total = said.reduce((sum, m) => sum + m.total, 0);
  const free = said.reduce((sum, m) => sum + m.free, 0);
  const unsaid = outcomes.length - said.length;
  const memoryOf =
    said.length === 0
      ? 'memory unknown'
      : `memory${unsaid > 0 ? ` of ${said.length} hosts (${unsaid} did not say):` : ''} ${mib(total - free)} used, ${mib(free)} free`;
  const silent = outcomes.filter(notAnswering).length;
  // A host that answered with an error (its toolstack failing) is counted apart, as its row says.
  const failing = outcomes.length - up.length - silent;
  const blocks: Block[] = [
    reply.text(
      `${outcomes.length} hosts: ${up.length} up, ${failing > 0 ? `${failing} failing, ` : ''}${silent} not answering; domains: ${describeCounts(counts)}; ${memoryOf}`,
    ),
  ];
  if (attention.length === 0) blocks.push(reply.text('Every host is up, with a live agent and no freeze.'));
  else {
    const shown = attention.slice(0, layout.attention);
    if (shown.length > 0) blocks.push(reply.table({ columns: HOST_COLUMNS, rows: shown.map(hostRow) }, 'Hosts needing attention'));
    if (attention.length > shown.length) blocks.push(reply.text(`… and ${attention.length - shown.length} more hosts needing attention`));
  }
  return blocks;
}

type Ranked = { outcome: Outcome; name: string; cpuPercent: number | null; memoryKiB: number };

/** The fleet's `limit` busiest guests, ranked once: every guest of every host is in the agents' answers. */
function rankBusiest(outcomes: Outcome[], limit: number): Ranked[] {
  if (limit === 0) return [];
  const rows = outcomes.flatMap((o) => (o.ok ? (o.result.busiest ?? []).map((b) => ({ outcome: o, ...b })) : []));
  return rows.sort(byCpuPercent).slice(0, limit);
}

/** The busiest domains across the fleet, from the live samples each agent keeps. */
function busiestBlocks(outcomes: Outcome[], ctx: RenderContext, ranked: Ranked[]): Block[] {
  if (ctx.posts.topDomains === 0) return [];
  const auto = (o: Outcome, name: string) => o.ok && (o.result.domains ?? []).some((d) => d.name === name && d.autostart);
  const sampled = outcomes.flatMap((o) => (o.ok && typeof o.result.sampledAt === 'number' ? [o.result.sampledAt] : []));
  // An agent whose config turns sampling off sends none, ever: "yet" or "every few seconds" would be untrue of it.
  const off = outcomes.flatMap((o) => (o.ok && o.result.samplingOff ? [o.host] : []));
  const answered = outcomes.filter((o) => o.ok).length;
  // No host answered: their rows say why, and no sample is on its way from them.
  if (answered === 0) return [];
  if (sampled.length === 0 && off.length > 0 && off.length === answered)
    return [reply.text(`No live CPU samples: sampling is off in the agent${off.length === 1 ? '’s' : 's’'} config (sampling.enabled).`)];
  const offNote =
    off.length === 0
      ? []
      : [
          reply.text(
            off.length === 1
              ? `Sampling is off in ${off[0]}’s agent config: its guests are not ranked.`
              : `Sampling is off in the agent config of ${off.length} hosts (${someHosts(off)}): their guests are not ranked.`,
          ),
        ];
  if (sampled.length === 0) return [reply.text('No live CPU samples yet (the agents sample every few seconds).'), ...offNote];
  const age = Math.max(0, Math.round((ctx.now - Math.min(...sampled)) / 1000));
  // A host that answered without a fresh sample (its xentop stream down): its guests are missing from the ranking,
  // which must say so rather than pass for the fleet's.
  const unsampled = outcomes.flatMap((o) => (o.ok && typeof o.result.sampledAt !== 'number' && !o.result.samplingOff ? [o.host] : []));
  const named = someHosts(unsampled);
  const missing = [
    ...(unsampled.length === 0
      ? []
      : [
          reply.text(
            unsampled.length === 1
              ? `No live CPU sample from ${named}: its guests are not ranked.`
              : `No live CPU sample from ${unsampled.length} hosts (${named}): their guests are not ranked.`,
          ),
        ]),
    ...offNote,
  ];
  // Samples came, with no guest in them (only Domain-0 runs, or none the asker may see): "no samples" would be untrue.
  if (ranked.length === 0) return [reply.text(`No guest in the live samples (${age} s old).`), ...missing];
  return [
    reply.table(
      {
        columns: ['domain', 'host', 'cpu%', 'memory'],
        rows: ranked.map((r) => [
          auto(r.outcome, r.name) ? `${shownName(r)} ${AUTOSTART_MARK}` : shownName(r),
          r.outcome.host,
          r.cpuPercent === null ? '-' : r.cpuPercent.toFixed(1),
          mib(Math.round(r.memoryKiB / 1024)),
        ]),
        alignRight: [2, 3],
      },
      `Busiest domains (samples up to ${age} s old)`,
    ),
    ...missing,
  ];
}

/** "xen1, xen2, xen3, xen4, xen5 and 995 more". */
function someHosts(hosts: readonly string[]): string {
  return hosts.length > 5 ? `${hosts.slice(0, 5).join(', ')} and ${hosts.length - 5} more` : hosts.join(', ');
}

/**
 * A line per frozen host while the fleet is small. Past `hostRows`, the hosts one freeze holds alike (a maintenance
 * window over the fleet) share a line, and a few lines are shown, the rest counted: a freeze line is ~150 characters,
 * and twenty of them beside the table made the post of a fleet in its window a file instead of one message.
 */
function freezeBlocks(outcomes: Outcome[], layout: Layout): Block[] {
  if (layout.table) return outcomes.flatMap((o) => (o.frozen ? [reply.text(`❄ ${o.frozen}`)] : []));
  const groups = new Map<string, { hosts: string[]; text: string }>();
  for (const o of outcomes) {
    if (!o.frozen) continue;
    // describeFreeze's `HOST is frozen …`: the rest is the same for every host of one window or one /freeze.
    const rest = o.frozen.startsWith(`${o.host} is `) ? o.frozen.slice(o.host.length + 4) : null;
    const key = rest ?? `\0${o.host}`;
    const group = groups.get(key) ?? { hosts: [], text: rest ?? o.frozen };
    group.hosts.push(o.host);
    groups.set(key, group);
  }
  const all = [...groups.entries()];
  const shown = all.slice(0, layout.freezes);
  const left = all.slice(shown.length).reduce((n, [, g]) => n + g.hosts.length, 0);
  return [
    ...shown.map(([key, g]) =>
      reply.text(
        g.hosts.length === 1
          ? `❄ ${key.startsWith('\0') ? g.text : `${g.hosts[0]} is ${g.text}`}`
          : `❄ ${g.hosts.length} hosts (${someHosts(g.hosts)}) are ${g.text}`,
      ),
    ),
    ...(left > 0 ? [reply.text(`❄ … and ${left} more host${left === 1 ? '' : 's'} frozen`)] : []),
  ];
}

/**
 * Lines a host printed that could not be read: its counts leave them out, so they are said — up to `hostRows` in a
 * small fleet, 5 past it (twenty beside the table made a 1,000-host post a file), the rest counted, never unsaid.
 */
function unreadBlocks(outcomes: Outcome[], limit: number): Block[] {
  const notes = outcomes.flatMap((o) => (o.ok ? (o.result.notes ?? []).map((n) => ({ host: o.host, text: `⚠ ${o.host}: ${n}` })) : []));
  const shown = notes.slice(0, limit);
  const left = notes.slice(shown.length);
  const hosts = new Set(left.map((n) => n.host)).size;
  return [
    ...shown.map((n) => reply.text(n.text)),
    ...(left.length > 0
      ? [
          reply.text(
            `⚠ … and ${left.length} more note${left.length === 1 ? '' : 's'} of what could not be read, from ${hosts} host${hosts === 1 ? '' : 's'}`,
          ),
        ]
      : []),
  ];
}

function changeBlocks(ctx: RenderContext, limit: number): Block[] {
  if (ctx.changes === undefined) return [];
  if (ctx.changes === null) {
    // Its id: two status schedules posting in one channel each say "first post", and /schedule list maps ids.
    const which = ctx.scheduleId ? ` (${ctx.scheduleId})` : '';
    return [reply.text(`First post of this schedule${which}: changes are marked from the next one on.`)];
  }
  // A time alone reads as today's: a daily post's "since 08:00:00 UTC" at 08:00 is yesterday's, and says its date.
  const stamp = ctx.changesSince ? new Date(ctx.changesSince).toISOString() : null;
  const sameDay = stamp?.slice(0, 10) === new Date(ctx.now).toISOString().slice(0, 10);
  const since = stamp ? ` (${sameDay ? stamp.slice(11, 19) : `${stamp.slice(0, 10)} ${stamp.slice(11, 19)}`} UTC)` : '';
  if (ctx.changes.length === 0) return [reply.text(`No changes since the last post${since}.`)];
  const shown = ctx.changes.slice(0, limit).map(describeChange);
  const more = ctx.changes.length - shown.length;
  return [reply.text([`Changes since the last post${since}:`, ...shown, ...(more > 0 ? [`… and ${more} more`] : [])].join('\n'))];
}

export const status = defineCommand({
  name: 'status',
  description: 'Fleet health: each host reachable?, domains by state, memory, the busiest domains, its agent',
  args: z.strictObject({}),
  positional: [],
  permission: 'host.status',
  risk: 'read',
  scope: 'fleet',
  op: 'host.status',
  examples: ['/status'],
  job: (_args, target) => ({ op: 'host.status', host: target.host }),
  showsHostHealth: true,
  render: (outcomes, _args, ctx) => {
    const ranked = rankBusiest(outcomes, ctx.posts.topDomains);
    let blocks: Block[] = [];
    // The first layout that is one message; the last one's post goes as it is (the adapters attach what is too long).
    for (const layout of layouts(outcomes.length, ctx.posts)) {
      blocks = [
        ...changeBlocks(ctx, layout.changes),
        ...hostBlocks(outcomes, layout),
        ...busiestBlocks(outcomes, ctx, ranked.slice(0, layout.busiest)),
        ...unreadBlocks(outcomes, layout.notes),
        ...freezeBlocks(outcomes, layout),
      ];
      if (plainText(TITLE, blocks).length <= POST_BUDGET) break;
    }
    return reply.result(TITLE, blocks, {
      tone: ctx.changes?.some((c) => c.kind === 'crashed' || c.kind === 'vanished' || c.kind === 'unreachable')
        ? 'warning'
        : toneOf(outcomes),
    });
  },
});
