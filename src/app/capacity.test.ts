import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { chatRequest } from '../../test/helpers/requests.ts';
import { Config } from '../config/schema.ts';
import type { PipelineContext } from '../core/pipeline.ts';
import type { JobResult } from '../queue/jobs.ts';
import { viewFor } from './capacity.ts';
import { FleetCache } from './fleet-cache.ts';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
    xen3: { address: '10.0.0.3', privateKeyPath: '/k', hostKey: fp('C') },
  },
  roles: { admin: { allow: ['*'] }, two: { allow: [{ permission: '*', hosts: ['xen1', 'xen2'] }] } },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    dora: { roles: ['two'], identities: { terminal: 'dora' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
  fleet: { memoryReserveMiB: 1024 },
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };

const req = (text: string, user = 'alice') => chatRequest('r1', text, user);

const status = (host: string, free: number | null): JobResult<'host.status'> => ({
  host,
  reachable: true,
  toolstack: 'xl',
  domainsByStatus: {},
  totalMemoryMiB: 16384,
  freeMemoryMiB: free,
  xenVersion: null,
  domains: [{ name: 'web', uuid: null, status: 'blocked', memoryMiB: 2048 }],
  busiest: [],
  sampledAt: null,
});

/** A refresher that answers from a table and records which hosts it was asked for. */
function deps() {
  const asked: string[][] = [];
  return {
    asked,
    deps: {
      ctx,
      fleet: new FleetCache(['xen1', 'xen2', 'xen3']),
      waitMs: 1000,
      freezes: {
        frozen: async (hosts: readonly string[]) =>
          hosts.includes('xen2') ? [{ host: 'xen2', by: 'alice', reason: 'disk swap', since: 0, until: null }] : [],
      },
      refresher: {
        capacity: async (hosts: readonly string[]) => {
          asked.push([...hosts]);
          const read: Record<string, JobResult<'host.status'>> = {};
          for (const h of hosts) if (h !== 'xen3') read[h] = status(h, h === 'xen2' ? null : 8192);
          return {
            read,
            unanswered: hosts.includes('xen3') ? [{ host: 'xen3', message: 'no agent serves xen3 — none has ever been seen' }] : [],
          };
        },
      },
    },
  };
}

describe('viewFor: the capacity a plan is made from, read for the request', () => {
  it('reads nothing for a command that plans from no capacity (or a suggestion without --run)', async () => {
    const { deps: d, asked } = deps();
    expect(await viewFor(d, req('list'))).toBe(d.fleet);
    expect(await viewFor(d, req('rebalance'))).toBe(d.fleet);
    expect(await viewFor(d, req('evacuate'))).toBe(d.fleet); // bad arguments: the pipeline says so
    expect(asked).toEqual([]);
  });

  it('reads the source and every candidate now, with the reserve, the freezes and why a host gave no figures', async () => {
    const { deps: d, asked } = deps();
    const view = await viewFor(d, req('evacuate xen1'));
    expect(asked).toEqual([['xen1', 'xen2', 'xen3']]);
    expect(view.capacity).toMatchObject({
      reserveMiB: 1024,
      hosts: { xen1: { freeMiB: 8192, guests: [{ name: 'web', memoryMiB: 2048 }] } },
      unanswered: { xen2: 'xen2 did not report free_memory', xen3: 'no agent serves xen3 — none has ever been seen' },
      frozen: { xen2: expect.stringContaining('xen2 is frozen until /unfreeze (alice: disk swap)') },
    });
    // The cache's domains are still what the view answers for names.
    expect(view.hostNames).toEqual(['xen1', 'xen2', 'xen3']);
  });

  it('never reads a host outside the asker’s scope, even when named after `to`', async () => {
    const { deps: d, asked } = deps();
    await viewFor(d, req('evacuate xen1 to xen2 xen3', 'dora'));
    expect(asked).toEqual([['xen1', 'xen2']]);
  });
});
