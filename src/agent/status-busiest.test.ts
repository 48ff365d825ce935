import { describe, expect, it } from 'vitest';
import { status } from '../../commands/status.ts';
import { Config } from '../config/schema.ts';
import { type HostOutcome, renderContext } from '../core/define-command.ts';
import type { DomainSample, HostSample } from '../core/samples.ts';
import type { DomainSummary } from '../core/xen.ts';
import { runHandler } from './handlers.ts';
import type { Toolstack } from './toolstack/types.ts';

/** /status's "Busiest domains": the fleet's N busiest (posts.topDomains, up to 50) may all be on one host. */
const HOST = { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` };

function domain(name: string, cpuPercent: number): DomainSample {
  return {
    name,
    state: '--b---',
    cpuPercent,
    cpuSeconds: 100,
    memoryKiB: 1024 * 1024,
    maxMemoryKiB: 1024 * 1024,
    vcpus: 2,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

function summary(name: string, id: number): DomainSummary {
  return { name, uuid: null, id, status: 'blocked', flags: '-b----', memoryMiB: 1024, vcpus: 2, cpuSeconds: 100, configPath: null };
}

/** The host's status answer, its live sample holding Domain-0 and these guests. */
async function statusOf(config: Config, host: string, guests: DomainSample[], now: number): Promise<HostOutcome<'host.status'>> {
  const ts = {
    kind: 'xl',
    infoAndList: async () => ({
      info: { total_memory: '65536', free_memory: '8192', xen_version: '4.17.3' },
      domains: guests.map((g, i) => summary(g.name, i + 1)),
      notes: [],
    }),
  } as unknown as Toolstack;
  const sample: HostSample = { host, at: now, intervalSeconds: 5, domains: [domain('Domain-0', 3), ...guests] };
  const result = await runHandler(
    {
      op: 'host.status',
      host,
      meta: { requestId: 'r', person: 'p', platform: 'terminal', userId: 'u', channelId: 'c', command: 'status' },
    },
    { config, toolstack: async () => ts, op: {}, samples: { latest: () => sample, history: async () => [] }, now: () => now },
  );
  return { host, ok: true, result, agent: { where: '1@a', seenAgoMs: 0, alive: true }, frozen: null };
}

function busiestNames(config: Config, outcomes: HostOutcome<'host.status'>[], now: number): string[] {
  const reply = status.render(outcomes as never, {} as never, renderContext({ now, posts: config.posts }));
  const table = reply.blocks.find((b) => b.type === 'table' && b.caption?.startsWith('Busiest domains'));
  return table?.type === 'table' ? table.table.rows.map((r) => r[0] ?? '') : [];
}

describe('the busiest domains of a status post', () => {
  it('GIVEN posts.topDomains 12 and a host with twelve busy guests THEN lists those twelve, not an idle guest elsewhere', async () => {
    const config = Config.parse({ hosts: { xen1: HOST, xen2: { ...HOST, address: '10.0.0.2' } }, posts: { topDomains: 12 } });
    const now = Date.now();
    const busy = Array.from({ length: 12 }, (_, i) => domain(`app${String(i + 1).padStart(2, '0')}`, 50 - i));
    const outcomes = [await statusOf(config, 'xen1', busy, now), await statusOf(config, 'xen2', [domain('idle', 1)], now)];
    expect(busiestNames(config, outcomes, now)).toEqual(busy.map((d) => d.name));
  });

  it('GIVEN the default topDomains (5) THEN a host sends every sampled guest, busiest first, and the post shows 5', async () => {
    const config = Config.parse({ hosts: { xen1: HOST } });
    const now = Date.now();
    const guests = Array.from({ length: 14 }, (_, i) => domain(`g${String(i).padStart(2, '0')}`, 40 - i));
    const outcome = await statusOf(config, 'xen1', [...guests].reverse(), now);
    // All of them: a person who may see only g13 is ranked from the host's list after the others are left out.
    expect(outcome.ok && outcome.result.busiest?.map((b) => b.name)).toEqual(guests.map((d) => d.name));
    expect(busiestNames(config, [outcome], now)).toEqual(guests.slice(0, 5).map((d) => d.name));
  });
});
