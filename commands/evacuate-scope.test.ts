import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest } from '../src/core/placement.ts';
import type { Block } from '../src/core/reply.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';

/**
 * /evacuate for someone whose scope reaches some domains of the host only: the README's scope guarantee — refusals
 * never name domains outside what the person may use — holds for the plan and its refusals too.
 */
const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
  },
  roles: {
    // Runs the web guests, everywhere: /list shows them alone.
    webops: {
      allow: [
        { permission: 'operate', domains: ['web*'] },
        { permission: 'domain.migrate', domains: ['web*'] },
      ],
    },
  },
  people: { wendy: { roles: ['webops'], identities: { terminal: 'wendy' } } },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const g = (name: string, memoryMiB: number, status: Guest['status'] = 'blocked'): Guest => ({ name, memoryMiB, cpuPercent: 0, status });

function reading(xen1: Guest[]): CapacityReading {
  return {
    at: Date.UTC(2026, 0, 5, 12, 0, 3),
    reserveMiB: 512,
    hosts: {
      xen1: { host: 'xen1', toolstack: 'xl', totalMiB: 32768, freeMiB: 20000, guests: xen1, cpuSampledAt: null },
      xen2: { host: 'xen2', toolstack: 'xl', totalMiB: 32768, freeMiB: 20000, guests: [], cpuSampledAt: null },
    },
    unanswered: {},
    frozen: {},
  };
}
const view = (r: CapacityReading) => withCapacity(new FleetCache(['xen1', 'xen2']), r);
const said = (d: ReturnType<typeof decide>) => (d.kind === 'reject' ? d.reason : '');
const texts = (blocks: readonly Block[] | undefined) => (blocks ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('\n');

describe('/evacuate by someone scoped to some domains', () => {
  it('GIVEN xen1 also runs payroll and db (outside wendy’s scope) THEN the refusal does not name them', () => {
    const d = decide(
      ctx,
      chatRequest('r1', 'evacuate xen1', 'wendy'),
      view(reading([g('web1', 1024), g('payroll', 2048), g('db', 1024)])),
      true,
    );
    expect(d.kind).toBe('reject');
    expect(said(d)).not.toMatch(/payroll|\bdb\b/);
    expect(said(d)).toBe('Cannot do that: xen1 runs 2 guests outside your scope, which you may not migrate: nothing was planned');
  });

  it('GIVEN a guest outside the scope is paused (left where it is) THEN the plan moves web1 and does not name the other', () => {
    const d = decide(
      ctx,
      chatRequest('r1', 'evacuate xen1', 'wendy'),
      view(reading([g('web1', 1024), g('payroll', 2048, 'paused')])),
      true,
    );
    if (d.kind !== 'enqueue') throw new Error(`expected a plan, got ${d.kind}: ${said(d)}`);
    expect(d.jobs).toEqual([
      { op: 'domain.migrate', host: 'xen1', domain: 'web1', target: 'xen2', keepFreeMiB: 512 },
      { op: 'domain.list', host: 'xen1' },
    ]);
    expect(texts(d.summary)).not.toMatch(/payroll/);
  });

  it('GIVEN only a crashed guest outside the scope THEN "nothing to evacuate" does not name it', () => {
    const d = decide(ctx, chatRequest('r1', 'evacuate xen1', 'wendy'), view(reading([g('payroll', 2048, 'crashed')])), true);
    expect(said(d)).toBe('Cannot do that: xen1 runs no guest to move: nothing to evacuate');
  });
});
