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
const ask = (text: string, on = view()) => decide(ctx, chatRequest('r1', text), on, true, approvalRule(config));
/** xen1 fuller: a rebalance moves one of its two guests. */
const uneven = () =>
  withCapacity(new FleetCache(['xen1', 'xen2', 'xen3']), {
    ...reading(),
    hosts: { ...reading().hosts, xen1: host('xen1', 6144, [g('web', 4096), g('mail', 4096)]) },
  });
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

describe('/rebalance --reason without --run', () => {
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

/**
 * `/evacuate xen1 xen2`: the usage is `/evacuate <host> [to <hosts>]`, and a second bare host was planned as the
 * target and sent for approval. An evacuation moves every guest: a word in the target's place without its `to` is
 * refused, saying the line that was probably meant. /rebalance documents its hosts separated by spaces
 * (`/rebalance xen1 xen2`), and the --run line its suggestion gives is one it takes.
 */
describe('/evacuate with a second host and no "to"', () => {
  it('GIVEN "/evacuate xen1 xen2" THEN it is refused in one line with the usage, naming "/evacuate xen1 to xen2" — never planned', () => {
    const cases: [string, string][] = [
      ['evacuate xen1 xen2', '/evacuate xen1 to xen2'],
      ['evacuate xen1 xen2 xen3', '/evacuate xen1 to xen2 xen3'],
      ['evacuate xen1 xen2,xen3', '/evacuate xen1 to xen2,xen3'],
      ['evacuate xen1 xen2 --reason "RAM swap"', '/evacuate xen1 to xen2 --reason "RAM swap"'],
    ];
    for (const [line, meant] of cases) {
      const d = ask(line);
      expect(d.kind, line).toBe('reject');
      if (d.kind !== 'reject') continue;
      expect(d.reply.title, line).toBe('Bad arguments for /evacuate');
      const said = text(d.reply);
      expect(said, line).toContain(`(${meant})`);
      expect(said, line).toContain('/evacuate <host> [<to>] [--shutdown-rest] [--reason <reason>]');
      expect(d.reason.split('\n'), line).toHaveLength(1);
    }
  });

  it('GIVEN the targets after "to", or as the option --to / to:, THEN they are the targets', () => {
    for (const line of [
      'evacuate xen1 to xen2',
      'evacuate xen1 TO xen2',
      'evacuate xen1 to xen2 xen3',
      'evacuate xen1 --to xen2',
      'evacuate xen1 to:xen2',
      'evacuate xen1 --reason "RAM swap" to xen2',
    ]) {
      const d = ask(line);
      expect(d.kind, line).toBe('needsApproval');
      if (d.kind === 'needsApproval') expect((d.evaluated.args['to'] as string[])[0], line).toBe('xen2');
    }
    const bare = ask('evacuate xen1');
    expect(bare.kind).toBe('needsApproval');
  });
});

describe('/rebalance with hosts separated by spaces', () => {
  it('GIVEN "/rebalance xen1 xen2" (its documented example) THEN it suggests, and the --run line it gives plans the same hosts', () => {
    const d = ask('rebalance xen1 xen2');
    expect(d.kind).toBe('enqueue');
    const args = d.kind === 'enqueue' ? d.evaluated.args : {};
    expect(args['hosts']).toEqual(['xen1', 'xen2']);
    const said = text(
      rebalance.render([status('xen1', 6144), status('xen2', 14336)], args as never, renderContext({ memoryReserveMiB: 512 })),
    );
    const run = /\/rebalance [^—]*--run/.exec(said)?.[0];
    expect(run).toBe('/rebalance xen1 xen2 --run');
    const again = ask((run as string).slice(1), uneven());
    expect(again.kind === 'reject' ? again.reason : again.kind).toBe('needsApproval');
    if (again.kind === 'needsApproval') expect(again.evaluated.args['hosts']).toEqual(['xen1', 'xen2']);
    // Commas too, as /list takes them.
    const commas = ask('rebalance xen1,xen2');
    expect(commas.kind === 'enqueue' ? commas.evaluated.args['hosts'] : null).toEqual(['xen1', 'xen2']);
  });
});
