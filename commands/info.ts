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
  // xm and xl before 4.4 print no xen_version: without it 4.4.4OVM would read as 4.4.
  'xen_extra',
  'xen_scheduler',
  'nr_cpus',
  'cpu_mhz',
  'total_memory',
  // Old xm's name for total_memory.
  'memory',
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
    const { info } = o.result;
    const fields = SHOWN.filter((k) => info[k] !== undefined && !(k === 'xen_extra' && info['xen_version'] !== undefined)).map((k) => ({
      name: k,
      value: info[k] || '(empty)',
      inline: k !== 'xen_commandline',
    }));
    const all = Object.entries(o.result.info)
      .map(([k, v]) => `${k.padEnd(23)}: ${v}`)
      .join('\n');
    // An `xl info` that exited 0 with part of it failed (its CPUs, memory or version missing) is said, never just short.
    const notes = (o.result.notes ?? []).map((n) => reply.text(`⚠ ${o.host}: ${n}`));
    return reply.result(`${o.host} (${o.result.toolstack})`, [reply.fields(fields), ...notes], {
      tone: notes.length > 0 ? 'warning' : 'info',
      attachments: [
        { name: `${o.host}-info.txt`, contentType: 'text/plain', data: `${all}\n`, description: `full ${o.result.toolstack} info` },
      ],
    });
  },
});
