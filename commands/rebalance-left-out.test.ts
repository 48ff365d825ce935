import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest } from '../src/core/placement.ts';
import type { Reply } from '../src/core/reply.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { COMMANDS } from './index.ts';
import { rebalance } from './rebalance.ts';

/** Why /rebalance has fewer than two hosts to balance: each reason said with the hosts it applies to, never a false one. */
const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
    xen3: { address: '10.0.0.3', privateKeyPath: '/k', hostKey: fp('C') },
  },
  roles: {
    admin: { allow: ['*'] },
    // The demo's dave: operate and migrate on xen2 only.
    xen2op: {
      allow: [
        { permission: 'operate', hosts: ['xen2'] },
        { permission: 'domain.migrate', hosts: ['xen2'] },
      ],
    },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    dave: { roles: ['xen2op'], identities: { terminal: 'dave' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const g = (name: string, memoryMiB: number): Guest => ({ name, memoryMiB, cpuPercent: 0, status: 'blocked' });
const capacity = (name: string, guests: Guest[]) => ({
  host: name,
  toolstack: 'xl' as const,
  totalMiB: 32768,
  freeMiB: 32768 - 2048 - guests.reduce((s, x) => s + x.memoryMiB, 0),
  guests,
  cpuSampledAt: null,
});
const fleet = () => new FleetCache(['xen1', 'xen2', 'xen3']);

function refusal(text: string, person: string, reading?: CapacityReading): string {
  const d = decide(ctx, chatRequest('r1', text, person), reading ? withCapacity(fleet(), reading) : fleet(), true);
  if (d.kind !== 'reject') throw new Error(`expected a refusal, got ${d.kind}`);
  return d.reason;
}
const text = (r: Reply) => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');

describe('/rebalance with fewer than two hosts to balance', () => {
  it('GIVEN dave may use only xen2 WHEN he asks for a suggestion THEN the reason is his scope, not answers or freezes', () => {
    const said = refusal('rebalance', 'dave');
    expect(said).toBe('Cannot do that: you may rebalance only xen2: rebalancing needs two hosts you may use');
  });

  it('GIVEN dave may use only xen2 WHEN he asks to --run THEN the same reason, before any host is read', () => {
    expect(refusal('rebalance --run', 'dave')).toBe('Cannot do that: you may rebalance only xen2: rebalancing needs two hosts you may use');
  });

  it('GIVEN one host named THEN the reason is the naming', () => {
    expect(refusal('rebalance xen1', 'alice')).toBe('Cannot do that: you named only xen1: rebalancing needs two hosts');
  });

  it('GIVEN --run with one host frozen and one unanswered THEN each reason names its host', () => {
    const said = refusal('rebalance --run', 'alice', {
      at: Date.UTC(2026, 0, 5, 12),
      reserveMiB: 512,
      hosts: { xen1: capacity('xen1', [g('a', 8192)]), xen2: capacity('xen2', []) },
      unanswered: { xen3: "no answer from xen3's agent within 10 s" },
      frozen: { xen1: 'frozen by bob until 14:00' },
    });
    expect(said).toBe(
      "Cannot do that: xen1 is frozen; xen3 could not be read (only xen2 is left): rebalancing needs two hosts whose figures were read and that are not frozen — left out: no answer from xen3's agent within 10 s",
    );
  });

  it('GIVEN the suggestion finds one host frozen and one unanswered THEN each reason names its host', () => {
    const ok = (host: string, frozen: string | null): HostOutcome<'host.status'> => ({
      host,
      ok: true,
      agent: null,
      frozen,
      result: {
        host,
        reachable: true,
        toolstack: 'xl',
        domainsByStatus: {},
        totalMemoryMiB: 32768,
        freeMemoryMiB: 30000,
        xenVersion: '4.17',
        domains: [],
      } as never,
    });
    const r = rebalance.render(
      [
        ok('xen1', 'frozen by bob'),
        {
          host: 'xen2',
          ok: false,
          agent: null,
          frozen: null,
          failure: { code: 'noAnswer', message: "no answer from xen2's agent within 10 s" },
        },
        ok('xen3', null),
      ] as never,
      { run: false } as never,
      renderContext(),
    );
    expect(r.title).toBe('Nothing to rebalance');
    expect(text(r)).toMatch(
      /^xen1 is frozen; xen2 could not be read \(only xen3 is left\): rebalancing needs two hosts whose figures were read and that are not frozen\nleft out: xen2 — no answer from xen2's agent within 10 s/,
    );
  });

  it('GIVEN many hosts frozen THEN they are named past a few and counted', async () => {
    const { tooFewLine } = await import('./rebalance.ts');
    const frozen = Array.from({ length: 25 }, (_, i) => `h${i + 1}`);
    const line = tooFewLine({ usable: ['h0'], frozen, unread: [], scope: null, named: null });
    expect(line).toMatch(/^h1, h2, .*, h20 and 5 more are frozen \(only h0 is left\): rebalancing needs two hosts that are not frozen$/);
  });
});
