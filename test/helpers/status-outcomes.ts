import type { AgentSighting, HostOutcome } from '../../src/core/define-command.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import type { JobOp, JobResult } from '../../src/queue/jobs.ts';

/** What the /status render tests build their hosts' answers from: one host outcome, and the reply read as text. */

/** A host's answer to a job of `op` as a render receives it: ok, no agent sighting, not frozen. */
export function hostAnswer<Op extends JobOp>(result: JobResult<Op> & { host: string }): HostOutcome<Op> {
  return { host: result.host, ok: true, agent: null, frozen: null, result } as HostOutcome<Op>;
}

/** The moment the status tests render at. */
export const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

export const LIVE_AGENT: AgentSighting = { where: '1@agent', seenAgoMs: 1_000, alive: true };

type StatusResult = JobResult<'host.status'>;

/**
 * A host that answered /status: an xl 4.17.3 host of 64 GiB with 16 GiB free, two guests running, a live agent, no
 * freeze, sampled a second before NOW with no guest in the sample; `result` replaces any of its figures.
 */
export function answered(
  host: string,
  result: Partial<StatusResult> = {},
  around: { agent?: AgentSighting | null; frozen?: string | null } = {},
): HostOutcome<'host.status'> {
  return {
    host,
    ok: true,
    agent: around.agent === undefined ? LIVE_AGENT : around.agent,
    frozen: around.frozen ?? null,
    result: {
      host,
      reachable: true,
      toolstack: 'xl',
      domainsByStatus: { running: 2 },
      totalMemoryMiB: 65_536,
      freeMemoryMiB: 16_384,
      xenVersion: '4.17.3',
      domains: [],
      busiest: [],
      sampledAt: NOW - 1_000,
      ...result,
    },
  };
}

/** A host that did not answer /status (or answered with an error), with no agent sighting unless given. */
export function failed(
  host: string,
  failure: Extract<HostOutcome<'host.status'>, { ok: false }>['failure'],
  around: { agent?: AgentSighting | null; frozen?: string | null } = {},
): HostOutcome<'host.status'> {
  return { host, ok: false, failure, agent: around.agent ?? null, frozen: around.frozen ?? null };
}

/** The reply's text blocks, a line each (tables left out). */
export const textOf = (r: Reply): string => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');

/** The reply with each table as its caption and its rows' cells joined by ` | `. */
export const rowsOf = (r: Reply): string =>
  r.blocks
    .map((b) =>
      b.type === 'table' ? [b.caption ?? '', ...b.table.rows.map((row) => row.join(' | '))].join('\n') : 'text' in b ? b.text : '',
    )
    .join('\n');

/** The reply with each table laid out as the platforms show it (padded columns). */
export const bodyOf = (r: Reply): string =>
  r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : 'text' in b ? b.text : '')).join('\n');
