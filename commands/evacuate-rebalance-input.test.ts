import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { approvalRule, decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest } from '../src/core/placement.ts';
import { formatTable, type Reply } from '../src/core/reply.ts';
import type { JobResult } from '../src/queue/jobs.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';
import { rebalance } from './rebalance.ts';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
    xen3: { address: '10.0.0.3', privateKeyPath: '/k', hostKey: fp('C') },
  },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const g = (name: string, memoryMiB: number): Guest => ({ name, memoryMiB, cpuPercent: 0, status: 'blocked' });
const host = (name: string, freeMiB: number, guests: Guest[]) => ({
  host: name,
  toolstack: 'xl' as const,
  totalMiB: 16384,
  freeMiB,
  guests,
  cpuSampledAt: null,
});
const reading = (): CapacityReading => ({
  at: Date.UTC(2026, 0, 5, 12, 0, 3),
  reserveMiB: 512,
  hosts: { xen1: host('xen1', 12288, [g('web', 2048)]), xen2: host('xen2', 14336, []), xen3: host('xen3', 14336, []) },
  unanswered: {},
  frozen: {},
});
const view = () => withCapacity(new FleetCache(['xen1', 'xen2', 'xen3']), reading());
const ask = (text: string) => decide(ctx, chatRequest('r1', text), view(), true, approvalRule(config));
const text = (r: Reply) =>
  `${r.title}\n` +
  r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'text' || b.type === 'code' ? b.text : '')).join('\n');

describe('/evacuate: the word "to" between the target hosts', () => {
  it('GIVEN "to xen2 to xen3" THEN it is refused as bad arguments, saying how to write several targets, with the usage — not "no host named to"', () => {
    for (const line of ['evacuate xen1 to xen2 to xen3', 'evacuate xen1 xen2 to xen3', 'evacuate xen1 --to "xen2 to xen3"']) {
      const d = ask(line);
      expect(d.kind, line).toBe('reject');
      if (d.kind !== 'reject') continue;
      expect(d.reason, line).not.toContain('no host named to');
      expect(d.reply.title, line).toBe('Bad arguments for /evacuate');
      expect(text(d.reply), line).toContain('"to" comes once, before the hosts: to xen2 xen3');
      expect(text(d.reply), line).toContain('/evacuate <host> [<to>] [--shutdown-rest] [--reason <reason>]');
    }
  });

  it('GIVEN one "to" before a list (spaces or commas) THEN every host named is a target', () => {
    for (const line of ['evacuate xen1 to xen2 xen3', 'evacuate xen1 to xen2,xen3']) {
      const d = ask(line);
      expect(d.kind, line).toBe('needsApproval');
      if (d.kind === 'needsApproval') expect(d.evaluated.args['to'], line).toEqual(['xen2', 'xen3']);
    }
  });
});

describe('/rebalance --reason without --run', () => {
  const status = (h: string, freeMiB: number): HostOutcome<'host.status'> => ({
    host: h,
    ok: true,
    agent: null,
    frozen: null,
    result: {
      host: h,
      toolstack: 'xl',
      totalMemoryMiB: 16384,
      freeMemoryMiB: freeMiB,
      domains: [
        { name: 'Domain-0', id: 0, memoryMiB: 2048, vcpus: 2, status: 'running', cpuSeconds: 1 },
        ...(h === 'xen1'
          ? [
              { name: 'a', id: 1, memoryMiB: 4096, vcpus: 1, status: 'blocked', cpuSeconds: 1 },
              { name: 'b', id: 2, memoryMiB: 4096, vcpus: 1, status: 'blocked', cpuSeconds: 1 },
            ]
          : []),
      ],
    } as unknown as JobResult<'host.status'>,
  });

  it('GIVEN a reason with no --run THEN the suggestion says the reason was not recorded, and that it goes with --run', () => {
    const d = ask('rebalance --reason "kernel upgrade"');
    expect(d.kind).toBe('enqueue');
    const args = d.kind === 'enqueue' ? d.evaluated.args : {};
    expect(args['reason']).toBe('kernel upgrade');
    const outcomes = [status('xen1', 6144), status('xen2', 14336), status('xen3', 14336)];
    const said = text(rebalance.render(outcomes, args as never, renderContext({ memoryReserveMiB: 512 })));
    expect(said).toContain('suggested migration');
    expect(said).toContain('--reason was not recorded: a suggestion changes nothing; the reason goes with --run');
    // Without a reason, no such line.
    const plain = text(rebalance.render(outcomes, { run: false } as never, renderContext({ memoryReserveMiB: 512 })));
    expect(plain).not.toContain('--reason');
  });
});
