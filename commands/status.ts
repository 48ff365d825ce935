import { z } from 'zod';
import { type AgentSighting, defineCommand } from '../src/core/define-command.ts';
import { reply } from '../src/core/reply.ts';
import { mib, toneOf } from './render-helpers.ts';

/** "pid@node, seen 2 s ago", or why there is none: an operator must see a silent agent at a glance. */
function describeAgent(a: AgentSighting | null | undefined): string {
  if (!a) return 'none seen';
  const seen = `seen ${Math.max(0, Math.round(a.seenAgoMs / 1000))} s ago`;
  return a.alive ? `${a.where}, ${seen}` : `gone (${a.where}, last ${seen})`;
}

export const status = defineCommand({
  name: 'status',
  description: 'Fleet health: each host reachable?, domains by state, free memory, its agent and when last seen',
  args: z.strictObject({}),
  positional: [],
  permission: 'host.status',
  risk: 'read',
  scope: 'fleet',
  op: 'host.status',
  examples: ['/status'],
  job: (_args, target) => ({ op: 'host.status', host: target.host }),
  showsHostHealth: true,
  render: (outcomes) => {
    const rows = outcomes.map((o) => {
      const agent = describeAgent(o.agent);
      if (!o.ok) {
        const why =
          o.failure.code === 'noAnswer'
            ? 'no answer'
            : o.failure.code === 'noAgent'
              ? 'unknown (no agent)'
              : `unreachable: ${o.failure.message}`;
        return [o.host, why, '-', '-', agent, o.frozen ? 'frozen' : ''];
      }
      const counts = Object.entries(o.result.domainsByStatus)
        .map(([s, n]) => `${n} ${s}`)
        .join(', ');
      return [
        o.host,
        `up (${o.result.toolstack} ${o.result.xenVersion ?? ''})`.trim(),
        counts,
        `${mib(o.result.freeMemoryMiB)} of ${mib(o.result.totalMemoryMiB)}`,
        agent,
        o.frozen ? 'frozen' : '',
      ];
    });
    const frozen = outcomes.flatMap((o) => (o.frozen ? [reply.text(`❄ ${o.frozen}`)] : []));
    return reply.result(
      'Fleet status',
      [reply.table({ columns: ['host', 'reachable', 'domains', 'free memory', 'agent', 'frozen'], rows }), ...frozen],
      {
        tone: toneOf(outcomes),
      },
    );
  },
});
