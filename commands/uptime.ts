import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { HOST_NAMES_DESCRIPTION, HostNames } from '../src/core/names.ts';
import { reply } from '../src/core/reply.ts';
import { failureBlocks, toneOf, unreadLinesNote } from './render-helpers.ts';

/** `98d 2h 27m`, `2h 05m 09s`, `45s`: days and hours when they matter, seconds only for short uptimes. */
export function formatUptime(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3_600);
  const m = Math.floor((seconds % 3_600) / 60);
  const s = seconds % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h ${two(m)}m`;
  if (h > 0) return `${h}h ${two(m)}m ${two(s)}s`;
  return m > 0 ? `${m}m ${two(s)}s` : `${s}s`;
}

export const uptime = defineCommand({
  name: 'uptime',
  description: 'How long each running domain has been up (xl uptime); Domain-0 is the host itself',
  args: z.strictObject({ host: HostNames.optional().describe(HOST_NAMES_DESCRIPTION) }),
  positional: ['host'],
  permission: 'host.uptime',
  risk: 'read',
  scope: 'fleet',
  op: 'host.uptime',
  examples: ['/uptime', '/uptime xen1', '/uptime xen1,xen2'],
  job: (_args, target) => ({ op: 'host.uptime', host: target.host }),
  render: (outcomes) => {
    const rows = outcomes.flatMap((o) =>
      o.ok ? o.result.rows.map((r) => [o.host, r.name, String(r.id), formatUptime(r.uptimeSeconds)]) : [],
    );
    // A line xl printed that could not be read is said, never turned into a guessed number.
    const unread = outcomes.flatMap((o) =>
      o.ok
        ? [
            ...unreadLinesNote(o.host, `${o.result.toolstack} uptime`, o.result.unparsed),
            ...(o.result.notes ?? []).map((n) => reply.text(`⚠ ${o.host}: ${n}`)),
          ]
        : [],
    );
    const title = outcomes.length === 1 ? `Uptime on ${outcomes[0]?.host}` : `Uptime on ${outcomes.length} hosts`;
    return reply.result(
      title,
      [reply.table({ columns: ['host', 'domain', 'id', 'uptime'], rows, alignRight: [2, 3] }), ...unread, ...failureBlocks(outcomes)],
      { tone: unread.length > 0 && toneOf(outcomes) === 'success' ? 'warning' : toneOf(outcomes) },
    );
  },
});
