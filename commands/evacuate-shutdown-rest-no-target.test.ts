import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest, HostCapacity } from '../src/core/placement.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';

/**
 * /evacuate --shutdown-rest when no host can take any guest: "the rest" would be every guest, an evacuation turned into
 * a mass shutdown with no migration at all. Refused, naming why each host is out and how to go on; with room too small
 * on hosts that could take them, the guests that fit nowhere are still shut down after the others moved.
 */
const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
    xen3: { address: '10.0.0.3', privateKeyPath: '/k', hostKey: fp('C') },
  },
  roles: {
    admin: { allow: ['*'] },
    // Plans on xen1 and xen2, but may migrate guests on xen1 only: not to xen2.
    xen1ops: {
      allow: [
        { permission: 'operate', hosts: ['xen1', 'xen2'] },
        { permission: 'domain.*', hosts: ['xen1'] },
      ],
    },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    olga: { roles: ['xen1ops'], identities: { terminal: 'olga' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const g = (name: string, memoryMiB: number, status: Guest['status'] = 'blocked'): Guest => ({ name, memoryMiB, cpuPercent: 0, status });
const host = (name: string, guests: Guest[], freeMiB = 10240): HostCapacity => ({
  host: name,
  toolstack: 'xl',
  totalMiB: 16384,
  freeMiB,
  guests,
  cpuSampledAt: null,
});

function reading(hosts: HostCapacity[], more: Partial<CapacityReading> = {}): CapacityReading {
  return {
    at: Date.UTC(2026, 0, 5, 12, 0, 3),
    reserveMiB: 512,
    hosts: Object.fromEntries(hosts.map((h) => [h.host, h])),
    unanswered: {},
    frozen: {},
    ...more,
  };
}
const view = (r: CapacityReading) => withCapacity(new FleetCache(['xen1', 'xen2', 'xen3']), r);
const ask = (text: string, r: CapacityReading, user = 'alice') => decide(ctx, chatRequest('r1', text, user), view(r), true);
const said = (d: ReturnType<typeof decide>) => (d.kind === 'reject' ? d.reason : `not refused: ${d.kind}`);
const xen1 = host('xen1', [g('web', 2048), g('db', 1024)], 20000);
const HOW = '--shutdown-rest shuts down only the guests that fit nowhere after the others moved, never every guest';

describe('/evacuate --shutdown-rest when every target is out', () => {
  it('GIVEN xen2 is frozen and xen3 did not answer THEN it is refused: nothing is planned, nothing shut down, and it says why and how to go on', () => {
    const r = reading([xen1, host('xen2', [])], {
      frozen: { xen2: 'xen2 is frozen until /unfreeze (alice: disk swap)' },
      unanswered: { xen3: 'no agent serves xen3' },
    });
    expect(said(ask('evacuate xen1 --shutdown-rest', r))).toBe(
      `Cannot do that: no host can take a guest from xen1, so nothing was planned and nothing was moved; not considered: xen2 is frozen; no agent serves xen3. ${HOW}: to shut them all down, /stop each (/stop xen1:web) and /freeze xen1`,
    );
  });

  it('GIVEN every other host runs xm THEN it is refused the same way', () => {
    const r = reading([xen1, { ...host('xen2', []), toolstack: 'xm' }, { ...host('xen3', []), toolstack: 'xm' }]);
    const reason = said(ask('evacuate xen1 --shutdown-rest', r));
    expect(reason).toContain(
      'no host can take a guest from xen1, so nothing was planned and nothing was moved; not considered: xen2 runs xm',
    );
    expect(reason).toContain(HOW);
  });

  it('GIVEN the only host named after "to" is frozen THEN it is refused, though xen3 has room', () => {
    const r = reading([xen1, host('xen2', []), host('xen3', [])], { frozen: { xen2: 'xen2 is frozen until /unfreeze' } });
    expect(said(ask('evacuate xen1 to xen2 --shutdown-rest', r))).toContain(
      'no host can take a guest from xen1, so nothing was planned and nothing was moved; not considered: xen2 is frozen.',
    );
  });

  it('GIVEN olga may migrate to no other host she may use THEN it is refused, saying so', () => {
    const r = reading([xen1, host('xen2', [])]);
    const reason = said(ask('evacuate xen1 --shutdown-rest', r, 'olga'));
    expect(reason).toContain(
      'no host can take a guest from xen1, so nothing was planned and nothing was moved; not considered: you may not migrate to xen2',
    );
    expect(reason).toContain(HOW);
  });

  it('GIVEN the only other host lists a powered-off domain of each guest’s name THEN it is refused, naming what to clear', () => {
    const r = reading([host('xen1', [g('web', 2048)], 20000), host('xen2', [g('web', 2048, 'shutdown')])]);
    expect(said(ask('evacuate xen1 --shutdown-rest', r))).toContain(
      'no host can take a guest from xen1, so nothing was planned and nothing was moved; xen2 already lists a domain named web (shutdown): clear it there first',
    );
  });

  it('GIVEN no other host at all THEN it is refused, saying so', () => {
    expect(said(ask('evacuate xen1 --shutdown-rest', reading([xen1])))).toContain(
      'no host can take a guest from xen1, so nothing was planned and nothing was moved; there is no other host you may use',
    );
  });

  it('GIVEN no target and no --shutdown-rest THEN the refusal does not offer --shutdown-rest as the way out', () => {
    const r = reading([xen1, host('xen2', [])], { frozen: { xen2: 'xen2 is frozen until /unfreeze' } });
    const reason = said(ask('evacuate xen1', r));
    expect(reason).toBe(
      'Cannot do that: no host can take a guest from xen1, so nothing was planned and nothing was moved; not considered: xen2 is frozen',
    );
  });
});

describe('/evacuate --shutdown-rest with a target that has too little room', () => {
  it('GIVEN xen2 can take db but not web THEN db moves and web is shut down after it, as before', () => {
    const r = reading([xen1, host('xen2', [], 2048)]);
    const d = ask('evacuate xen1 --shutdown-rest', r);
    if (d.kind !== 'needsApproval' && d.kind !== 'enqueue') throw new Error(said(d));
    expect(d.jobs).toEqual([
      { op: 'domain.migrate', host: 'xen1', domain: 'db', target: 'xen2', keepFreeMiB: 512 },
      { op: 'domain.stop', host: 'xen1', domain: 'web', force: false },
      { op: 'domain.list', host: 'xen1' },
    ]);
  });
});
