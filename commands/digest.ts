import { z } from 'zod';
import { defineCommand, type HostOutcome } from '../src/core/define-command.ts';
import { HOST_NAMES_DESCRIPTION, HostNames } from '../src/core/names.ts';
import { reply } from '../src/core/reply.ts';
import { failureBlocks, toneOf, unreadLinesNote } from './render-helpers.ts';
import { chartedHosts, chartParts, unchartedNote } from './top.ts';

function duration(seconds: number | null): string {
  if (seconds === null) return '-';
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  // Under a minute, seconds: "0m" reads as not up at all, and /uptime says the same guest is up "53s".
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m` : `${seconds % 60}s`;
}

const pct = (n: number | null) => (n === null ? '-' : n.toFixed(1));

/** "12 min", "2.5 h", "24 h": how far back a host's history points reach. */
function span(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 90) return `${minutes} min`;
  const hours = minutes / 60;
  return `${hours < 10 ? Math.round(hours * 10) / 10 : Math.round(hours)} h`;
}

/** A host's history, said with the time it covers ("1440 history points over 24 h"). */
function coverageOf(o: HostOutcome<'host.digest'>, now: number): string[] {
  if (!o.ok) return [];
  const { points, since } = o.result;
  return [points > 0 ? `${o.host}: ${points} history points over ${span(now - since)}` : `${o.host}: no history points`];
}

export const digest = defineCommand({
  name: 'digest',
  description: 'The last day per domain: peak and mean CPU%, uptime, restarts; with a chart of the last hour per host',
  args: z.strictObject({
    host: HostNames.optional().describe(HOST_NAMES_DESCRIPTION),
    hours: z.number().int().min(1).max(168).default(24).describe('how far back (hours)'),
  }),
  positional: ['host'],
  permission: 'host.digest',
  risk: 'read',
  scope: 'fleet',
  op: 'host.digest',
  examples: ['/digest', '/digest xen1', '/digest xen1,xen2', '/digest hours:6'],
  job: (args, target) => ({ op: 'host.digest', host: target.host, hours: args.hours }),
  charts: (_args, outcomes) => chartedHosts(outcomes),
  render: (outcomes, args, ctx) => {
    const rows = outcomes.flatMap((o) =>
      o.ok
        ? o.result.domains
            .filter((d) => d.name !== 'Domain-0')
            .map((d) => [o.host, d.name, pct(d.peakCpuPercent), pct(d.avgCpuPercent), duration(d.uptimeSeconds), String(d.restarts)])
        : [],
    );
    const coverage = outcomes.flatMap((o) => coverageOf(o, ctx.now));
    // An agent answers for at most the hours its history keeps (sampling.historyHours): the title says what is shown.
    const kept = Math.min(args.hours, ...outcomes.flatMap((o) => (o.ok ? [o.result.hours] : [])));
    const notes = outcomes.flatMap((o) => {
      const unread = o.ok ? o.result.unreadUptime : undefined;
      return unread ? unreadLinesNote(o.host, unread.command, unread.lines, "a domain's uptime may show -") : [];
    });
    const charts = chartParts(ctx.charts);
    return reply.result(
      kept < args.hours
        ? `Digest: the last ${kept} h (${args.hours} h asked; the history keeps ${kept} h)`
        : `Digest: the last ${args.hours} h`,
      [
        reply.table({ columns: ['host', 'domain', 'peak cpu%', 'mean cpu%', 'uptime', 'restarts'], rows, alignRight: [2, 3, 5] }),
        ...(coverage.length > 0 ? [reply.text(coverage.join('; '))] : []),
        ...notes,
        ...charts.blocks,
        ...(ctx.charts ? unchartedNote(outcomes, ctx.charts.length, '/digest HOST') : []),
        ...failureBlocks(outcomes),
      ],
      { tone: notes.length > 0 && toneOf(outcomes) === 'success' ? 'warning' : toneOf(outcomes), attachments: charts.attachments },
    );
  },
});
