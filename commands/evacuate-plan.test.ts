import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest } from '../src/core/placement.ts';
import type { Block } from '../src/core/reply.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';

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
const req = (text: string) => chatRequest('r1', text, 'alice');
const g = (name: string, memoryMiB: number, status: Guest['status'] = 'blocked'): Guest => ({ name, memoryMiB, cpuPercent: 0, status });

function reading(xen1: Guest[], xen2: Guest[], xen3: Guest[], free = { xen2: 10240, xen3: 4096 }): CapacityReading {
  return {
    at: Date.UTC(2026, 0, 5, 12, 0, 3),
    reserveMiB: 512,
    hosts: {
      xen1: { host: 'xen1', toolstack: 'xl', totalMiB: 32768, freeMiB: 20000, guests: xen1, cpuSampledAt: null },
      xen2: { host: 'xen2', toolstack: 'xl', totalMiB: 16384, freeMiB: free.xen2, guests: xen2, cpuSampledAt: null },
      xen3: { host: 'xen3', toolstack: 'xl', totalMiB: 16384, freeMiB: free.xen3, guests: xen3, cpuSampledAt: null },
    },
    unanswered: {},
    frozen: {},
  };
}
const view = (r: CapacityReading) => withCapacity(new FleetCache(['xen1', 'xen2', 'xen3']), r);
const texts = (blocks: readonly Block[] | undefined) =>
  (blocks ?? []).map((b) => (b.type === 'text' ? b.text : '')).filter((t) => t !== '');

describe('/evacuate: a guest whose migration is under way', () => {
  it('GIVEN web is being migrated to xen2 right now (web--incoming there) THEN the plan leaves web alone and says why', () => {
    const r = reading([g('web', 2048), g('gateway', 512)], [g('web--incoming', 2048, 'paused')], []);
    const d = decide(ctx, req('evacuate xen1'), view(r), true);
    if (d.kind !== 'enqueue') throw new Error(`expected a plan, got ${d.kind}: ${JSON.stringify(d)}`);
    // A second `xl migrate web` beside the running one (or one the agent refuses halfway through the plan): never.
    expect(d.jobs.filter((j) => j.op === 'domain.migrate').map((j) => ('domain' in j ? j.domain : ''))).toEqual(['gateway']);
    expect(texts(d.summary)).toContain(
      'left on xen1: web (a migration of it is under way or left unfinished: web--incoming on xen2) — not migrated',
    );
  });
});

describe('/evacuate: why a guest fits nowhere', () => {
  it('GIVEN the host with room lists a powered-off domain of the same name THEN the refusal says so, not only "the most free is …"', () => {
    // xen2 has 10240 MiB free but still lists a powered-off web; xen3 has 4096 free.
    const r = reading([g('web', 6144)], [g('web', 6144, 'shutdown')], []);
    const d = decide(ctx, req('evacuate xen1'), view(r), true);
    expect(d.kind).toBe('reject');
    const said = d.kind === 'reject' && d.reply.blocks[0]?.type === 'text' ? d.reply.blocks[0].text : '';
    expect(said).toContain(
      'web (6 GiB) fits nowhere: it needs 6.5 GiB free (6 GiB + 512 MiB reserve); the most free on a target is 4 GiB on xen3',
    );
    expect(said).toContain('xen2 already lists a domain named web (shutdown): clear it there first');
  });

  it('GIVEN every guest fits nowhere and --shutdown-rest THEN the card shows the shutdowns and no empty "targets:" line', () => {
    const r = reading([g('big', 30000)], [], []);
    const d = decide(ctx, req('evacuate xen1 --shutdown-rest'), view(r), true);
    if (d.kind !== 'enqueue') throw new Error(d.kind);
    expect(d.jobs).toEqual([
      { op: 'domain.stop', host: 'xen1', domain: 'big', force: false },
      { op: 'domain.list', host: 'xen1' },
    ]);
    const lines = texts(d.summary);
    expect(lines.some((t) => t.startsWith('Evacuation of xen1 (xl): 0 migrations and 1 shutdown'))).toBe(true);
    expect(lines.filter((t) => /^targets:\s*$/.test(t))).toEqual([]);
  });
});
