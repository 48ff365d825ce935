import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { HostName } from '../src/core/names.ts';
import { reply } from '../src/core/reply.ts';
import { failureBlocks } from './render-helpers.ts';

const SHOWN = [
  'host',
  'xen_version',
  'xen_major',
  'xen_minor',
  'xen_scheduler',
  'nr_cpus',
  'cpu_mhz',
  'total_memory',
  'free_memory',
  'release',
  'xen_commandline',
];

export const info = defineCommand({
  name: 'info',
  description: 'Show a host: Xen version, CPUs, memory (xl info)',
  args: z.strictObject({ host: HostName.describe('the host') }),
  positional: ['host'],
  permission: 'host.info',
  risk: 'read',
  scope: 'host',
  op: 'host.info',
  examples: ['/info xen1'],
  job: (_args, target) => ({ op: 'host.info', host: target.host }),
  render: ([o]) => {
    if (!o?.ok) return reply.result(`Info for ${o?.host ?? 'host'}`, o ? failureBlocks([o]) : [], { tone: 'error' });
    const fields = SHOWN.filter((k) => o.result.info[k] !== undefined).map((k) => ({
      name: k,
      value: o.result.info[k] || '(empty)',
      inline: k !== 'xen_commandline',
    }));
    const all = Object.entries(o.result.info)
      .map(([k, v]) => `${k.padEnd(23)}: ${v}`)
      .join('\n');
    return reply.result(`${o.host} (${o.result.toolstack})`, [reply.fields(fields)], {
      tone: 'info',
      attachments: [
        { name: `${o.host}-info.txt`, contentType: 'text/plain', data: `${all}\n`, description: `full ${o.result.toolstack} info` },
      ],
    });
  },
});
