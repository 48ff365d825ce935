import { describe, expect, it } from 'vitest';
import { show } from '../../commands/show.ts';
import { stop } from '../../commands/stop.ts';
import { domainSummary } from '../../test/helpers/domains.ts';
import { Config } from '../config/schema.ts';
import type { HostOutcome } from '../core/define-command.ts';
import { createLogger } from '../core/log.ts';
import { runsElsewhereReply } from '../core/moved-away.ts';
import type { DomainSummary } from '../core/xen.ts';
import type { JobOp } from '../queue/jobs.ts';
import { FleetCache } from './fleet-cache.ts';
import type { PendingRequest } from './pending-store.ts';
import { findRunsElsewhere } from './runs-elsewhere.ts';

const host = (n: number) => ({ address: `10.0.0.${n}`, privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` });
const config = Config.parse({ hosts: { xen1: host(1), xen2: host(2), xen3: host(3) } });
const logger = createLogger('silent');

const d = (name: string, status: DomainSummary['status'] = 'blocked'): DomainSummary => domainSummary(name, status);

/** A /stop (or another domain command) of `typed`, sent to xen1. */
const request = (command: string, op: JobOp, typed: { host?: string; domain: string }, over: Partial<PendingRequest> = {}) =>
  ({
    requestId: 'r1',
    command,
    args: { domain: typed, force: false },
    person: 'alice',
    platform: 'terminal',
    userId: 'alice',
    channelId: 'terminal',
    target: { platform: 'terminal', channelId: 'terminal', requestId: 'r1', state: {} },
    mode: 'parallel',
    jobs: [{ jobId: 'j1', host: 'xen1', op, data: { op, host: 'xen1', domain: typed.domain } as never }],
    deadline: null,
    pickupBy: null,
    createdAt: 0,
    heardRunningThere: true,
    ...over,
  }) as PendingRequest;

const alreadyStopped: HostOutcome<JobOp> = {
  host: 'xen1',
  ok: true,
  result: { host: 'xen1', outcome: 'already-stopped', domain: d('web', 'defined') },
};

/** The cache as last heard (web running on xen1), and the hosts' lists now: a refresh hears those asked. */
function scene(now: Record<string, DomainSummary[]>) {
  const fleet = new FleetCache(['xen1', 'xen2', 'xen3']);
  fleet.update('xen1', [d('web')], 0);
  fleet.update('xen2', [d('files')], 0);
  fleet.update('xen3', [], 0);
  const asked: string[][] = [];
  const refresher = {
    refresh: async (hosts: readonly string[]) => {
      asked.push([...hosts]);
      for (const h of hosts) {
        const list = now[h];
        if (list) fleet.update(h, list);
      }
      return { unanswered: [] };
    },
  };
  return { deps: { config, fleet, refresher, logger }, asked };
}

describe('where a guest named bare runs now, after its host said it does not run it', () => {
  it('asks the other hosts once and names the one that runs it', async () => {
    const { deps, asked } = scene({ xen2: [d('files'), d('web')], xen3: [] });
    const found = await findRunsElsewhere(deps, request('stop', 'domain.stop', { domain: 'web' }), stop, [alreadyStopped]);
    expect(found).toEqual({ domain: 'web', from: 'xen1', on: ['xen2'] });
    expect(asked).toEqual([['xen2', 'xen3']]);
  });

  it('asks nothing when the bot had not heard it running there: a guest stopped as the bot knew is no news', async () => {
    const { deps, asked } = scene({ xen2: [d('web')] });
    const { heardRunningThere: _, ...p } = request('stop', 'domain.stop', { domain: 'web' });
    expect(await findRunsElsewhere(deps, p, stop, [alreadyStopped])).toBeNull();
    expect(asked).toEqual([]);
  });

  it('asks nothing when the host was named (xen1:web): the asker is answered about that host', async () => {
    const { deps, asked } = scene({ xen2: [d('web')] });
    const p = request('stop', 'domain.stop', { host: 'xen1', domain: 'web' });
    expect(await findRunsElsewhere(deps, p, stop, [alreadyStopped])).toBeNull();
    expect(asked).toEqual([]);
  });

  it('asks nothing when the job did what it was asked', async () => {
    const { deps, asked } = scene({ xen2: [d('web')] });
    const done: HostOutcome<JobOp> = {
      host: 'xen1',
      ok: true,
      result: { host: 'xen1', outcome: 'shut-down', domain: d('web', 'defined') },
    };
    expect(await findRunsElsewhere(deps, request('stop', 'domain.stop', { domain: 'web' }), stop, [done])).toBeNull();
    expect(asked).toEqual([]);
  });

  it('asks and names only the hosts the asker may use', async () => {
    const { deps, asked } = scene({ xen2: [d('web')], xen3: [] });
    const p = request('stop', 'domain.stop', { domain: 'web' }, { visibleHosts: ['xen1', 'xen3'] });
    expect(await findRunsElsewhere(deps, p, stop, [alreadyStopped])).toBeNull();
    expect(asked).toEqual([['xen3']]);
  });

  it('does not take the stale word of a host that did not answer', async () => {
    const { deps } = scene({});
    deps.fleet.update('xen3', [d('web')], 0);
    expect(await findRunsElsewhere(deps, request('stop', 'domain.stop', { domain: 'web' }), stop, [alreadyStopped])).toBeNull();
  });

  it('a host with no such domain at all (a read that failed "not found") counts as a miss too', async () => {
    const { deps } = scene({ xen3: [d('web', 'running')] });
    const missing: HostOutcome<JobOp> = { host: 'xen1', ok: false, failure: { code: 'domain.notFound', message: 'no domain web on xen1' } };
    const found = await findRunsElsewhere(deps, request('show', 'domain.show', { domain: 'web' }), show, [missing]);
    expect(found).toEqual({ domain: 'web', from: 'xen1', on: ['xen3'] });
  });
});

describe('the reply about a guest that runs elsewhere', () => {
  it('a mutation says nothing was done and what to type; running on two hosts, it asks which', () => {
    const one = runsElsewhereReply('stop', true, { domain: 'web', from: 'xen1', on: ['xen2'] }, true);
    expect(one.title).toBe(
      'web is no longer running on xen1: a guest of that name runs on xen2 now (moved or started there outside xenops)',
    );
    expect(JSON.stringify(one.blocks)).toContain('nothing was done — /stop xen2:web --force');
    const two = runsElsewhereReply('show', false, { domain: 'web', from: 'xen1', on: ['xen2', 'xen3'] });
    expect(two.title).toContain('guests of that name run on xen2 and xen3 now');
    expect(JSON.stringify(two.blocks)).toContain('say which: /show xen2:web or /show xen3:web');
    expect(JSON.stringify(two.blocks)).not.toContain('nothing was done');
  });
});
