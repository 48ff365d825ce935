import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest } from '../src/core/placement.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
    xen3: { address: '10.0.0.3', privateKeyPath: '/k', hostKey: fp('C') },
  },
  roles: {
    // The example config's operator: host.rebalance (group operate), but no domain.migrate (group admin).
    operator: { allow: ['operate'] },
    // Migrates between xen1 and xen2 only.
    pair: { allow: ['operate', { permission: 'domain.migrate', hosts: ['xen1', 'xen2'] }] },
  },
  people: {
    bob: { roles: ['operator'], identities: { terminal: 'bob' } },
    erin: { roles: ['pair'], identities: { terminal: 'erin' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const g = (name: string, memoryMiB: number): Guest => ({ name, memoryMiB, cpuPercent: 0, status: 'blocked' });

/** xen1 full (69% used), xen2 and xen3 nearly empty. */
function reading(): CapacityReading {
  const host = (name: string, guests: Guest[]) => ({
    host: name,
    toolstack: 'xl' as const,
    totalMiB: 32768,
    freeMiB: 32768 - 2048 - guests.reduce((s, x) => s + x.memoryMiB, 0),
    guests,
    cpuSampledAt: null,
  });
  return {
    at: Date.UTC(2026, 0, 5, 12, 0, 3),
    reserveMiB: 512,
    hosts: {
      xen1: host('xen1', [g('a', 8192), g('b', 8192), g('c', 4096)]),
      xen2: host('xen2', [g('d', 1024)]),
      xen3: host('xen3', []),
    },
    unanswered: {},
    frozen: {},
  };
}
const view = () => withCapacity(new FleetCache(['xen1', 'xen2', 'xen3']), reading());

describe('/rebalance --run for someone who may not migrate', () => {
  it('GIVEN moves would even memory out but the asker may make none THEN the refusal says it is their permission, not that nothing helps', () => {
    const d = decide(ctx, chatRequest('r1', 'rebalance --run', 'bob'), view(), true);
    expect(d.kind).toBe('reject');
    const said = d.kind === 'reject' ? d.reason : '';
    expect(said).not.toMatch(/no move evens out memory use/);
    expect(said).toMatch(
      /would even out memory use \(spread 63% → \d+%\), but you may make none of them: each needs permission domain\.migrate on both hosts/,
    );
  });

  it('GIVEN the asker may make only some of the moves THEN the card says the others were left out', () => {
    const d = decide(ctx, chatRequest('r1', 'rebalance --run', 'erin'), view(), true);
    if (d.kind !== 'enqueue') throw new Error(`expected a plan, got ${d.kind}: ${JSON.stringify(d)}`);
    expect(d.jobs.every((j) => j.op === 'domain.migrate' && j.target === 'xen2')).toBe(true);
    const shown = (d.summary ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('\n');
    expect(shown).toMatch(
      /migrations you may not make \(domain\.migrate on both hosts\) were left out: with them the spread would end at \d+%, not \d+%/,
    );
  });
});
