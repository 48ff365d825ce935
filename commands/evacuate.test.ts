import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { mayApprove } from '../src/core/approval-policy.ts';
import { commandSpec, renderContext } from '../src/core/define-command.ts';
import { approvalRule, checkPlanJobs, decide, hostsTouched, type PipelineContext } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest, HostCapacity } from '../src/core/placement.ts';
import { formatTable, type Reply } from '../src/core/reply.ts';
import { listed, migrated as moved, readBack } from '../test/helpers/evacuation-outcomes.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { evacuate } from './evacuate.ts';
import { COMMANDS } from './index.ts';
import { rebalance } from './rebalance.ts';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
    xen3: { address: '10.0.0.3', privateKeyPath: '/k', hostKey: fp('C') },
  },
  roles: {
    admin: { allow: ['*'] },
    operator: { allow: ['operate'] },
    viewer: { allow: ['read'] },
    // May plan evacuations anywhere, but migrate only on xen1 and xen2.
    mover: { allow: ['operate', { permission: 'domain.migrate', hosts: ['xen1', 'xen2'] }] },
    // Operates (and so may approve evacuations) on xen1 and xen2 only.
    pair: { allow: [{ permission: 'operate', hosts: ['xen1', 'xen2'] }] },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    bob: { roles: ['operator'], identities: { terminal: 'bob' }, onCall: true },
    carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
    erin: { roles: ['mover'], identities: { terminal: 'erin' } },
    frank: { roles: ['pair'], identities: { terminal: 'frank' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };

const req = (text: string, user = 'alice') => chatRequest('r1', text, user);

const g = (name: string, memoryMiB: number, status: Guest['status'] = 'blocked', cpuPercent = 0): Guest => ({
  name,
  memoryMiB,
  cpuPercent,
  status,
});

/** xen1 32 GiB with gateway 512, web 2048 (Dom0 2048); xen2 16 GiB, 10240 free; xen3 16 GiB, 4096 free. */
function reading(over: Partial<CapacityReading> = {}, xen1Guests: Guest[] = [g('gateway', 512), g('web', 2048)]): CapacityReading {
  return {
    at: Date.UTC(2026, 0, 5, 12, 0, 3),
    reserveMiB: 512,
    hosts: {
      xen1: { host: 'xen1', toolstack: 'xl', totalMiB: 32768, freeMiB: 28160, guests: xen1Guests, cpuSampledAt: null },
      xen2: { host: 'xen2', toolstack: 'xl', totalMiB: 16384, freeMiB: 10240, guests: [g('files', 4096)], cpuSampledAt: null },
      xen3: { host: 'xen3', toolstack: 'xl', totalMiB: 16384, freeMiB: 4096, guests: [g('db', 8192)], cpuSampledAt: null },
    },
    unanswered: {},
    frozen: {},
    ...over,
  };
}

const view = (r: CapacityReading = reading()) => withCapacity(new FleetCache(['xen1', 'xen2', 'xen3']), r);

function text(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}

describe('/evacuate: the plan from a capacity reading', () => {
  it('places every running guest, largest first, best fit with the reserve; one plan request, approval by default', () => {
    const d = decide(ctx, req('evacuate xen1'), view(), true, approvalRule(config));
    if (d.kind !== 'needsApproval') throw new Error(`expected an approval, got ${d.kind}: ${JSON.stringify(d)}`);
    expect(d.mode).toBe('sequence');
    // web (2048) first: xen3 would keep 2048 ≥ 512 and is the tighter fit; gateway then fits xen3 too (1536 left).
    expect(d.jobs).toEqual([
      // Each carries the reserve: the agent reads the target's free memory again right before sending it.
      { op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen3', keepFreeMiB: 512 },
      { op: 'domain.migrate', host: 'xen1', domain: 'gateway', target: 'xen3', keepFreeMiB: 512 },
      // Read back last: the reply says whether anything runs there still.
      { op: 'domain.list', host: 'xen1' },
    ]);
    const table = d.summary?.find((b) => b.type === 'table');
    expect(table && table.type === 'table' && table.table.rows).toEqual([
      ['1', 'web', '2 GiB', 'xen3', '4 GiB', '2 GiB'],
      ['2', 'gateway', '512 MiB', 'xen3', '2 GiB', '1.5 GiB'],
    ]);
    const shown = d.summary?.map((b) => (b.type === 'text' ? b.text : '')).join('\n') ?? '';
    expect(shown).toContain('Figures read at 12:00:03 UTC; every target keeps 512 MiB free');
    expect(shown).toContain('targets: xen3 4 GiB free of 16 GiB → 1.5 GiB after');
    expect(shown).toContain('once every step has succeeded, xen1 is frozen (mutating commands refused) until /unfreeze');
    // The approver is checked on every host the plan touches: the migrations' target too.
    const touches = hostsTouched(d.command, d.evaluated.args, d.jobs);
    expect(touches).toEqual(['xen3']);
    const ask = (approver: string) =>
      mayApprove({
        config,
        approver: { id: approver, displayName: approver, roles: [...(config.people[approver]?.roles ?? [])] },
        requester: 'alice',
        policy: d.policy,
        permission: 'host.evacuate',
        command: 'evacuate',
        targets: d.targets,
        touches,
        onCall: ['bob', 'frank'],
      });
    expect(ask('bob')).toEqual({ ok: true });
    expect(ask('frank')).toEqual({ ok: false, reason: 'frank may not run /evacuate on xen3, so may not approve it there' });
    expect(ask('alice')).toMatchObject({ ok: false, reason: /your own request/ });
  });

  it('`to` restricts the candidates (and is authorized like a migration target)', () => {
    const d = decide(ctx, req('evacuate xen1 to xen2'), view(), true);
    expect(d).toMatchObject({
      kind: 'enqueue',
      jobs: [
        { op: 'domain.migrate', domain: 'web', target: 'xen2' },
        { op: 'domain.migrate', domain: 'gateway', target: 'xen2' },
        { op: 'domain.list', host: 'xen1' },
      ],
    });
    expect(decide(ctx, req('evacuate xen1 to xen1'), view(), true)).toMatchObject({
      kind: 'reject',
      reason: 'Cannot do that: xen1 is the host being evacuated: it cannot be a target',
    });
    expect(decide(ctx, req('evacuate xen1 to xen9'), view(), true)).toMatchObject({ kind: 'reject', reason: /no host named xen9/ });
  });

  it('refuses, naming the figures, when a guest fits nowhere — no jobs at all', () => {
    const r = reading({}, [g('huge', 20000), g('web', 2048)]);
    const d = decide(ctx, req('evacuate xen1'), view(r), true);
    expect(d).toMatchObject({ kind: 'reject' });
    expect(d.kind === 'reject' && d.reply.blocks[0]).toEqual({
      type: 'text',
      text: 'huge (19.5 GiB) fits nowhere: it needs 20 GiB free (19.5 GiB + 512 MiB reserve); the most free on a target is 10 GiB on xen2 — the evacuation of xen1 was refused and nothing was moved (--shutdown-rest would shut it down instead)',
    });
  });

  it('--shutdown-rest: the guests that fit nowhere get a graceful stop as the last steps, and the plan says so', () => {
    const r = reading({}, [g('huge', 20000), g('web', 2048)]);
    const d = decide(ctx, req('evacuate xen1 --shutdown-rest'), view(r), true);
    if (d.kind !== 'enqueue') throw new Error(d.kind);
    expect(d.jobs).toEqual([
      { op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen3', keepFreeMiB: 512 },
      { op: 'domain.stop', host: 'xen1', domain: 'huge', force: false },
      { op: 'domain.list', host: 'xen1' },
    ]);
    expect(d.summary?.map((b) => (b.type === 'text' ? b.text : '')).join('\n')).toContain(
      '--shutdown-rest: huge (19.5 GiB) fits nowhere: it needs 20 GiB free (19.5 GiB + 512 MiB reserve); the most free on a target is 10 GiB on xen2 — shut down on xen1 (xl shutdown) after the migrations',
    );
  });

  it('leaves out frozen hosts, hosts that did not answer and other toolstacks, and says why', () => {
    const base = reading();
    const r: CapacityReading = {
      ...base,
      hosts: { ...base.hosts, xen3: { ...(base.hosts['xen3'] as HostCapacity), toolstack: 'xm' } },
      frozen: { xen2: 'xen2 is frozen until /unfreeze (alice: storage)' },
    };
    const refused = decide(ctx, req('evacuate xen1'), view(r), true);
    expect(refused.kind === 'reject' && refused.reason).toContain(
      'not considered: xen2 is frozen; xen3 runs xm, xen1 xl: no live migration between them',
    );
    const noSource = reading();
    delete noSource.hosts['xen1'];
    noSource.unanswered['xen1'] = 'no agent serves xen1 — last seen 3 min ago';
    expect(decide(ctx, req('evacuate xen1'), view(noSource), true)).toMatchObject({
      reason: 'Cannot do that: cannot plan the evacuation of xen1: no agent serves xen1 — last seen 3 min ago',
    });
  });

  it('never moves Domain-0 or a crashed guest; says there is nothing to move', () => {
    const d = decide(ctx, req('evacuate xen1'), view(reading({}, [g('dead', 1024, 'crashed')])), true);
    expect(d).toMatchObject({
      kind: 'reject',
      reason: 'Cannot do that: xen1 runs no guest to move: nothing to evacuate (dead (crashed) cannot be migrated)',
    });
  });

  it('without a fresh reading it refuses rather than plan from the cache', () => {
    expect(decide(ctx, req('evacuate xen1'), new FleetCache(['xen1', 'xen2', 'xen3']), true)).toMatchObject({
      kind: 'reject',
      reason: /could not be read for this plan/,
    });
  });

  it('only to hosts the asker may migrate to; every job is authorized like a migration of its own', () => {
    // erin may migrate on xen1 and xen2 only: xen3 (the tighter fit) is not a candidate for her.
    const d = decide(ctx, req('evacuate xen1', 'erin'), view(), true);
    expect(d).toMatchObject({ kind: 'enqueue', jobs: [{ target: 'xen2' }, { target: 'xen2' }, { op: 'domain.list' }] });
    // bob (operator) may plan and approve, but not migrate: refused, naming the permission.
    expect(decide(ctx, req('evacuate xen1', 'bob'), view(), true)).toMatchObject({
      kind: 'reject',
      reason: 'Cannot do that: you may not migrate gateway, web off xen1 (that needs permission domain.migrate there): nothing was planned',
    });
    expect(decide(ctx, req('evacuate xen1', 'carol'), view(), true)).toMatchObject({
      reason: 'Not allowed: carol may not run /evacuate: needs permission host.evacuate on xen1',
    });
    // And whatever a plan makes, each job is checked on its own: a migration to xen3 is refused for erin.
    const ev = {
      command: evacuate,
      args: { host: 'xen1' },
      person: { id: 'erin', displayName: 'erin', roles: ['mover'] },
      risk: 'dangerous' as const,
    };
    expect(checkPlanJobs(config, ev, [{ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen3' }])).toMatchObject({
      reason: 'Not allowed: erin may not migrate web to xen3: needs permission domain.migrate on xen3/web',
    });
    expect(checkPlanJobs(config, ev, [{ op: 'domain.stop', host: 'xen1', domain: 'Domain-0', force: false }])).toMatchObject({
      reason: "Cannot do that: Domain-0 is the host's own domain: /evacuate cannot move or stop it",
    });
    expect(checkPlanJobs(config, ev, [{ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2' }])).toBeNull();
  });

  it('is in help, Discord and Telegram as its file says: dangerous, with its options', () => {
    expect(commandSpec(evacuate)).toMatchObject({
      usage: '/evacuate <host> [<to>] [--shutdown-rest] [--reason <reason>]',
      risk: 'dangerous',
      permission: 'host.evacuate',
      options: [
        { name: 'host', required: true, autocomplete: 'host' },
        { name: 'to', type: 'string', required: false },
        { name: 'shutdown-rest', type: 'boolean', required: false },
        { name: 'reason', type: 'string', required: false },
      ],
    });
    expect(commandSpec(rebalance)).toMatchObject({ usage: '/rebalance [<hosts>] [--run] [--reason <reason>]', risk: 'read' });
  });
});

describe('/evacuate: the final reply', () => {
  const steps = [
    { op: 'domain.migrate' as const, host: 'xen1', domain: 'web', target: 'xen2' },
    { op: 'domain.migrate' as const, host: 'xen1', domain: 'gateway', target: 'xen2' },
    { op: 'domain.migrate' as const, host: 'xen1', domain: 'mail', target: 'xen3' },
  ];
  it('a failure halfway: what moved, what failed and what was not attempted; the host is not frozen', () => {
    const r = evacuate.render(
      [
        moved('web', 'xen2', 7),
        { host: 'xen1', ok: false, failure: { code: 'remote', message: 'migration of gateway to xen2 failed' } },
      ] as never,
      { host: 'xen1', 'shutdown-rest': false },
      renderContext({ plan: { steps, summary: [] } }),
    );
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    expect(r.tone).toBe('error');
    expect(text(r).split('\n')).toEqual([
      '✔ 1. web → xen2: running there as id 7 (verified)',
      '✖ 2. gateway → xen2: failed — migration of gateway to xen2 failed',
      '– 3. mail → xen3: not attempted',
      'moved: web → xen2',
      'not moved, still on xen1: gateway (failed), mail (not attempted)',
      'xen1 was not frozen: the evacuation did not complete',
    ]);
  });

  it('success: every guest moved, and the freeze is said', () => {
    const r = evacuate.render(
      [moved('web', 'xen2', 7), moved('gateway', 'xen2', 8), moved('mail', 'xen3', 3)],
      { host: 'xen1', 'shutdown-rest': false },
      renderContext({ plan: { steps, summary: [] }, froze: { hosts: ['xen1'], reason: 'evacuated' } }),
    );
    expect(r.title).toBe('xen1 evacuated: 3 guests moved');
    expect(text(r)).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
  });

  it('the read-back after the last step: empty says so; a guest running there is named and the title is not "evacuated"', () => {
    const all = [moved('web', 'xen2', 7), moved('gateway', 'xen2', 8), moved('mail', 'xen3', 3)];
    const ctx = renderContext({ plan: { steps: [...steps, readBack], summary: [] }, froze: { hosts: ['xen1'], reason: 'evacuated' } });
    const args = { host: 'xen1', 'shutdown-rest': false };
    // Shut down (or only defined) is gone from the host; a paused guest is not (evacuate-left-behind.test.ts).
    const empty = evacuate.render([...all, listed(['old', 'shutdown'], ['mail', 'defined'])] as never, args, ctx);
    expect(empty.title).toBe('xen1 evacuated: 3 guests moved');
    expect(empty.tone).toBe('success');
    expect(text(empty)).toContain('read back after the last step: no guest runs on xen1');
    expect(text(empty)).not.toMatch(/\b4\. /);
    const busy = evacuate.render([...all, listed(['db', 'running'], ['files', 'blocked'])] as never, args, ctx);
    expect(busy.title).toBe('xen1 is not empty: 3 guests moved, but db, files run there (started or moved there while the plan ran)');
    expect(busy.tone).toBe('warning');
    expect(text(busy)).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
  });

  it('a read-back that failed is said, with what to do; the moves stand and the host is frozen', () => {
    const r = evacuate.render(
      [
        moved('web', 'xen2', 7),
        moved('gateway', 'xen2', 8),
        moved('mail', 'xen3', 3),
        { host: 'xen1', ok: false, failure: { code: 'unreachable', message: 'xen1 did not answer' } },
      ] as never,
      { host: 'xen1', 'shutdown-rest': false },
      renderContext({ plan: { steps: [...steps, readBack], summary: [] }, froze: { hosts: ['xen1'], reason: 'evacuated' } }),
    );
    expect(r.title).toBe('xen1 evacuated: 3 guests moved');
    expect(r.tone).toBe('warning');
    expect(text(r)).toContain('⚠ xen1 could not be read back after the last step (xen1 did not answer): /list xen1 shows what runs there');
    expect(text(r)).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
  });

  it('a failure halfway is not read back: the read-back step is neither numbered nor "not attempted"', () => {
    const r = evacuate.render(
      [moved('web', 'xen2', 7), { host: 'xen1', ok: false, failure: { code: 'remote', message: 'it failed' } }] as never,
      { host: 'xen1', 'shutdown-rest': false },
      renderContext({ plan: { steps: [...steps, readBack], summary: [] } }),
    );
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    expect(text(r)).not.toMatch(/domain\.list|4\. /);
  });
});

describe('/rebalance', () => {
  it('--run plans the moves from the reading, with before/after figures; a read otherwise (no jobs planned)', () => {
    // xen1: 2048 Dom0 + 8192 + 8192 + 4096 = 22528 of 32768 (69%); xen2: 6144 of 16384 (38%).
    const base = reading({}, [g('a', 8192), g('b', 8192), g('c', 4096)]);
    const r: CapacityReading = { ...base, hosts: { ...base.hosts, xen1: { ...(base.hosts['xen1'] as HostCapacity), freeMiB: 10240 } } };
    const d = decide(ctx, req('rebalance xen1 xen2 --run'), view(r), true, approvalRule(config));
    if (d.kind !== 'needsApproval') throw new Error(d.kind);
    expect(d.targets).toEqual([{ host: 'xen1' }, { host: 'xen2' }]);
    // Moving an 8192 guest would swap the imbalance (44% vs 88%); c (4096) leaves 56% and 63%. xen3 is not named.
    expect(d.jobs).toEqual([{ op: 'domain.migrate', host: 'xen1', domain: 'c', target: 'xen2', keepFreeMiB: 512 }]);
    const table = d.summary?.find((b) => b.type === 'table');
    expect(table && table.type === 'table' && table.table.rows).toEqual([
      ['xen1', '22 GiB (69%)', '18 GiB (56%)', '14 GiB', '0', '0', '3 → 2'],
      ['xen2', '6 GiB (38%)', '10 GiB (63%)', '6 GiB', '0', '0', '1 → 2'],
    ]);
    const plain = decide(ctx, req('rebalance xen1 xen2'), view(r), true, approvalRule(config));
    expect(plain).toMatchObject({
      kind: 'enqueue',
      mode: 'parallel',
      jobs: [
        { op: 'host.status', host: 'xen1' },
        { op: 'host.status', host: 'xen2' },
      ],
      mutating: false,
    });
  });
});
