import { z } from 'zod';
import { defineCommand } from '../src/core/define-command.ts';
import { HOST_NAMES_DESCRIPTION, HostNames } from '../src/core/names.ts';
import { reply } from '../src/core/reply.ts';
import { runningTwice, runningTwiceTitle } from '../src/core/split-brain.ts';
import { AUTOSTART_MARK, autostartCell, describeStatus, failureBlocks, mib, toneOf } from './render-helpers.ts';

export const list = defineCommand({
  name: 'list',
  description: 'List the domains of a host, of several (separated by commas) or of the whole fleet',
  args: z.strictObject({ host: HostNames.optional().describe(HOST_NAMES_DESCRIPTION) }),
  positional: ['host'],
  permission: 'domain.list',
  risk: 'read',
  scope: 'fleet',
  op: 'domain.list',
  examples: ['/list', '/list xen1', '/list xen1,xen2'],
  job: (_args, target) => ({ op: 'domain.list', host: target.host }),
  render: (outcomes) => {
    const rows = outcomes.flatMap((o) =>
      o.ok
        ? o.result.domains.map((d) => [
            o.host,
            d.name,
            d.id === null ? '-' : String(d.id),
            describeStatus(d),
            mib(d.memoryMiB),
            d.vcpus === null ? '-' : String(d.vcpus),
            autostartCell(d),
          ])
        : [],
    );
    const title = outcomes.length === 1 ? `Domains on ${outcomes[0]?.host}` : `Domains on ${outcomes.length} hosts`;
    const notes = outcomes.flatMap((o) => (o.ok ? (o.result.notes ?? []).map((n) => reply.text(`⚠ ${o.host}: ${n}`)) : []));
    const marked = rows.some((r) => r[6] === AUTOSTART_MARK);
    // Only the hosts this reply shows: a person scoped to one host is not told of a copy elsewhere.
    const twice = runningTwice(
      outcomes.flatMap((o) =>
        o.ok
          ? o.result.domains
              .filter((d) => d.status === 'running' || d.status === 'blocked')
              .map((d) => ({ host: o.host, name: d.name, uuid: d.uuid }))
          : [],
      ),
    ).map((t) => reply.text(`⚠ ${runningTwiceTitle(t)} — two copies on the same disks: stop one now`));
    return reply.result(
      title,
      [
        reply.table({ columns: ['host', 'domain', 'id', 'state', 'memory', 'vcpus', 'auto'], rows, alignRight: [2, 4, 5] }),
        ...twice,
        ...(marked ? [reply.text(`${AUTOSTART_MARK} = starts with its host (/etc/xen/auto)`)] : []),
        ...notes,
        ...failureBlocks(outcomes),
      ],
      {
        tone: toneOf(outcomes),
      },
    );
  },
});
