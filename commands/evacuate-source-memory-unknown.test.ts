import { describe, expect, it } from 'vitest';
import { viewFor } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { JobResult } from '../src/queue/jobs.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';

/**
 * `xl info` exits 0 with part of it failed ("libxl_physinfo failed.": no total_memory, no free_memory), said as a
 * note. A host without those figures cannot take a guest — but the host being evacuated needs none of them: its
 * guests are what moves, and a sick host is exactly the one an operator empties.
 */
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
const physinfoFailed = 'xl info printed no nr_cpus, total_memory (libxl_physinfo failed.)';

type Domains = NonNullable<JobResult<'host.status'>['domains']>;
const status = (host: string, free: number | null, domains: Domains): JobResult<'host.status'> => ({
  host,
  reachable: true,
  toolstack: 'xl',
  domainsByStatus: {},
  totalMemoryMiB: free === null ? null : 16384,
  freeMemoryMiB: free,
  xenVersion: null,
  ...(free === null ? { notes: [physinfoFailed] } : {}),
  domains,
  busiest: [],
  sampledAt: null,
});

async function plan(text: string, unknownOn: string) {
  const read = {
    xen1: status('xen1', unknownOn === 'xen1' ? null : 8192, [{ name: 'web', uuid: null, status: 'blocked', memoryMiB: 2048 }]),
    xen2: status('xen2', unknownOn === 'xen2' ? null : 8192, []),
    xen3: status('xen3', unknownOn === 'xen3' ? null : 4096, []),
  };
  const view = await viewFor(
    {
      ctx,
      fleet: new FleetCache(['xen1', 'xen2', 'xen3']),
      waitMs: 1000,
      freezes: { frozen: async () => [] },
      refresher: {
        capacity: async (hosts: readonly string[]) => ({
          read: Object.fromEntries(hosts.map((h) => [h, read[h as 'xen1']])),
          unanswered: [],
        }),
      },
    },
    chatRequest('r1', text, 'alice'),
  );
  return decide(ctx, chatRequest('r1', text, 'alice'), view, true);
}

describe('/evacuate of a host whose xl info failed part-way (no memory figures)', () => {
  it('GIVEN xen1 (the source) reported no free_memory THEN its guests are still planned onto the targets', async () => {
    const d = await plan('evacuate xen1', 'xen1');
    if (d.kind !== 'enqueue' && d.kind !== 'needsApproval') throw new Error(`expected a plan, got ${JSON.stringify(d)}`);
    expect(d.jobs).toEqual([
      { op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen3', keepFreeMiB: 512 },
      { op: 'domain.list', host: 'xen1' },
    ]);
  });

  it('GIVEN a target reported no free_memory THEN it is left out, and the card says why in xl’s own note', async () => {
    const d = await plan('evacuate xen1', 'xen3');
    if (d.kind !== 'enqueue' && d.kind !== 'needsApproval') throw new Error(`expected a plan, got ${JSON.stringify(d)}`);
    expect(d.jobs[0]).toEqual({ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2', keepFreeMiB: 512 });
    const shown = (d.summary ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('\n');
    expect(shown).toContain(`not considered: xen3 did not report total_memory and free_memory — ${physinfoFailed}`);
  });
});
