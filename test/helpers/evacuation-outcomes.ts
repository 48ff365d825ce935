import type { HostOutcome } from '../../src/core/define-command.ts';
import type { DomainStatus } from '../../src/core/xen.ts';

/** What /evacuate xen1's render tests hand it: the agent's answers to the plan's steps on xen1, and its read-back. */

/** The plan's last step: xen1's domains listed once the migrations are done. */
export const readBack = { op: 'domain.list' as const, host: 'xen1' };

/** xen1's migration of `name` answered as done: running on `target` as domid `id`. */
export const migrated = (name: string, target: string, id: number): HostOutcome<'domain.migrate'> => ({
  host: 'xen1',
  ok: true,
  result: {
    host: 'xen1',
    outcome: 'migrated',
    target,
    transcript: [],
    domain: { name, uuid: null, id, status: 'blocked', flags: '-b----', memoryMiB: 512, vcpus: 1, cpuSeconds: 1 },
  } as never,
});

/** The read-back's answer: Domain-0 running on xen1, and these domains in these states. */
export const listed = (...names: [string, DomainStatus][]): HostOutcome<'domain.list'> => ({
  host: 'xen1',
  ok: true,
  result: {
    host: 'xen1',
    toolstack: 'xl',
    domains: [['Domain-0', 'running'] as const, ...names].map(([name, status]) => ({ name, status }) as never),
  },
});
