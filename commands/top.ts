import { z } from 'zod';
import { defineCommand, type RenderContext, type RenderedChart } from '../src/core/define-command.ts';
import { HOST_NAMES_DESCRIPTION, HostNames } from '../src/core/names.ts';
import { type Attachment, type Block, reply } from '../src/core/reply.ts';
import { byCpuPercent } from '../src/core/samples.ts';
import { failureBlocks, mib, shownName, toneOf } from './render-helpers.ts';

const rate = (n: number | null) => (n === null ? '-' : n.toFixed(n >= 100 ? 0 : 1));

/**
 * Hosts charted in one reply. Discord takes 10 files a message, and each chart costs the bot a render: a fleet-wide
 * /digest of 1,000 hosts would otherwise draw 1,000 PNGs to post 10.
 */
export const MAX_CHARTS = 10;

/** The answering hosts to chart, at most MAX_CHARTS. */
export function chartedHosts(outcomes: readonly { host: string; ok: boolean }[]): string[] {
  return outcomes.flatMap((o) => (o.ok ? [o.host] : [])).slice(0, MAX_CHARTS);
}

/** Said when some answering hosts got no chart, with how to get one. */
export function unchartedNote(outcomes: readonly { ok: boolean }[], charted: number, ask: string): Block[] {
  const answering = outcomes.filter((o) => o.ok).length;
  return charted < answering ? [reply.text(`Charts of ${charted} of the ${answering} hosts: ${ask} charts another.`)] : [];
}

/** Charts as attachments (PNG) and, where a chart could not be drawn, its text fallback in the message. */
export function chartParts(charts: readonly RenderedChart[] | undefined): { attachments: Attachment[]; blocks: Block[] } {
  const attachments: Attachment[] = [];
  const blocks: Block[] = [];
  for (const c of charts ?? []) {
    if (c.png)
      attachments.push({
        name: `${c.host}-last-hour.png`,
        contentType: 'image/png',
        data: c.png,
        description: `${c.host}: CPU% and memory per domain, last hour`,
      });
    else blocks.push(reply.code(c.text));
  }
  return { attachments, blocks };
}

/** "live, 3 s old" or "one-shot xentop": an operator must know how fresh the figures are. */
function freshness(host: string, live: boolean, sampledAt: number, ctx: RenderContext): string {
  const age = Math.max(0, Math.round((ctx.now - sampledAt) / 1000));
  return live ? `${host}: live sample, ${age} s old` : `${host}: one-shot xentop (no live sample), ${age} s ago`;
}

export const top = defineCommand({
  name: 'top',
  description: 'CPU, memory, network and disk rates per domain (xentop, like xm top), from the live samples',
  args: z.strictObject({
    host: HostNames.optional().describe(HOST_NAMES_DESCRIPTION),
    chart: z.boolean().default(false).describe('attach a chart of the last hour'),
  }),
  positional: ['host'],
  permission: 'host.top',
  risk: 'read',
  scope: 'fleet',
  op: 'host.top',
  examples: ['/top', '/top xen1', '/top xen1,xen2', '/top xen1 chart:true'],
  job: (_args, target) => ({ op: 'host.top', host: target.host }),
  charts: (args, outcomes) => (args.chart ? chartedHosts(outcomes) : []),
  render: (outcomes, args, ctx) => {
    const rows = outcomes.flatMap((o) =>
      o.ok
        ? [...o.result.domains]
            .sort(byCpuPercent)
            .map((r) => [
              o.host,
              shownName(r),
              r.state,
              r.cpuPercent === null ? '-' : r.cpuPercent.toFixed(1),
              mib(Math.round(r.memoryKiB / 1024)),
              String(r.vcpus),
              `${rate(r.netTxKiBps)}/${rate(r.netRxKiBps)}`,
              `${rate(r.vbdRdPerSec)}/${rate(r.vbdWrPerSec)}`,
            ])
        : [],
    );
    const ages = outcomes.flatMap((o) => (o.ok ? [freshness(o.host, o.result.live, o.result.sampledAt, ctx)] : []));
    // Output xentop printed that could not be read leaves rows out of the table: said, never a short table alone.
    const notes = outcomes.flatMap((o) => (o.ok ? (o.result.notes ?? []).map((n) => reply.text(`⚠ ${o.host}: ${n}`)) : []));
    const charts = chartParts(ctx.charts);
    return reply.result(
      // `/top xen1,xen3` shows those hosts, not the fleet.
      outcomes.length === 1 ? `top on ${outcomes[0]?.host}` : args.host ? `top on ${outcomes.length} hosts` : 'top across the fleet',
      [
        reply.table({
          columns: ['host', 'domain', 'state', 'cpu%', 'mem', 'vcpus', 'net tx/rx KiB/s', 'vbd rd/wr /s'],
          rows,
          alignRight: [3, 4, 5],
        }),
        ...(ages.length > 0 ? [reply.text(ages.join('; '))] : []),
        ...notes,
        ...charts.blocks,
        ...(ctx.charts ? unchartedNote(outcomes, ctx.charts.length, '/top HOST chart:true') : []),
        ...failureBlocks(outcomes),
      ],
      { tone: notes.length > 0 && toneOf(outcomes) === 'success' ? 'warning' : toneOf(outcomes), attachments: charts.attachments },
    );
  },
});
