import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { HostName } from '../src/core/names.ts';
import { reply } from '../src/core/reply.ts';
import { failureBlocks, toneOf } from './render-helpers.ts';

export const top = defineCommand({
  name: 'top',
  description: 'CPU, memory, network and disk per domain (xentop, like xm top)',
  args: z.strictObject({ host: HostName.optional().describe('only this host') }),
  positional: ['host'],
  permission: 'host.top',
  risk: 'read',
  scope: 'fleet',
  op: 'host.top',
  examples: ['/top', '/top xen1'],
  job: (_args, target) => ({ op: 'host.top', host: target.host }),
  render: (outcomes) => {
    const rows = outcomes.flatMap((o) =>
      o.ok
        ? [...o.result.rows]
            .sort((a, b) => b.cpuPercent - a.cpuPercent)
            .map((r) => [
              o.host,
              r.name,
              r.state,
              r.cpuPercent.toFixed(1),
              `${(r.memoryKiB / 1024).toFixed(0)}M`,
              r.memoryPercent.toFixed(1),
              String(r.vcpus),
              `${r.netTxKiB}/${r.netRxKiB}`,
              `${r.vbdRd ?? '-'}/${r.vbdWr ?? '-'}`,
            ])
        : [],
    );
    return reply.result(
      outcomes.length === 1 ? `top on ${outcomes[0]?.host}` : 'top across the fleet',
      [
        reply.table({
          columns: ['host', 'domain', 'state', 'cpu%', 'mem', 'mem%', 'vcpus', 'net tx/rx KiB', 'vbd rd/wr'],
          rows,
          alignRight: [3, 4, 5, 6],
        }),
        ...failureBlocks(outcomes),
      ],
      { tone: toneOf(outcomes) },
    );
  },
});
