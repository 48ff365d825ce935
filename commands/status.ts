import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';
import { mib, toneOf } from './render-helpers.ts';

export const status = defineCommand({
  name: 'status',
  description: 'Fleet health: each host reachable?, domains by state, free memory',
  args: z.strictObject({}),
  positional: [],
  permission: 'host.status',
  risk: 'read',
  scope: 'fleet',
  op: 'host.status',
  examples: ['/status'],
  job: (_args, target) => ({ op: 'host.status', host: target.host }),
  render: (outcomes) => {
    const rows = outcomes.map((o) => {
      if (!o.ok) return [o.host, o.failure.code === 'noAnswer' ? 'no answer' : `unreachable: ${o.failure.message}`, '-', '-'];
      const counts = Object.entries(o.result.domainsByStatus)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ');
      return [
        o.host,
        `up (${o.result.toolstack} ${o.result.xenVersion ?? ''})`.trim(),
        counts,
        `${mib(o.result.freeMemoryMiB)} of ${mib(o.result.totalMemoryMiB)}`,
      ];
    });
    return reply.result('Fleet status', [reply.table({ columns: ['host', 'reachable', 'domains', 'free memory'], rows })], {
      tone: toneOf(outcomes),
    });
  },
});
