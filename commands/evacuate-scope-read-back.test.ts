import { describe, expect, it } from 'vitest';
import { withCapacity } from '../src/app/capacity.ts';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { authorize } from '../src/core/authorize.ts';
import { renderContext } from '../src/core/define-command.ts';
import { decide, type PipelineContext, scopeResult } from '../src/core/pipeline.ts';
import type { CapacityReading, Guest } from '../src/core/placement.ts';
import type { Block, Reply } from '../src/core/reply.ts';
import type { DomainSummary } from '../src/core/xen.ts';
import { chatRequest } from '../test/helpers/requests.ts';
import { evacuate } from './evacuate.ts';
import { COMMANDS } from './index.ts';

/**
 * /evacuate by someone whose scope leaves out some guests of the host: the relay hands the render a read-back without
 * them (scopeResult), so the plan marks its card for such an asker and the render never calls the host empty on the
 * strength of that list — nor names what it leaves out. A running guest outside the scope refuses the plan, whether
 * or not xenops could migrate it.
 */
const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
  },
  roles: {
    admin: { allow: ['*'] },
    webops: {
      allow: [
        { permission: 'operate', domains: ['web*'] },
        { permission: 'domain.migrate', domains: ['web*'] },
      ],
    },
    // Every guest but the backup ones, by a deny rule: a name no rule lists is allowed.
    nobackup: { allow: ['operate', 'domain.migrate'], deny: [{ permission: 'operate', domains: ['backup*'] }] },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    wendy: { roles: ['webops'], identities: { terminal: 'wendy' } },
    vera: { roles: ['nobackup'], identities: { terminal: 'vera' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const g = (name: string, memoryMiB: number, status: Guest['status'] = 'blocked'): Guest => ({ name, memoryMiB, cpuPercent: 0, status });

function reading(xen1: Guest[], xen2: Guest[] = []): CapacityReading {
  return {
    at: Date.UTC(2026, 0, 5, 12, 0, 3),
    reserveMiB: 512,
    hosts: {
      xen1: { host: 'xen1', toolstack: 'xl', totalMiB: 32768, freeMiB: 20000, guests: xen1, cpuSampledAt: null },
      xen2: { host: 'xen2', toolstack: 'xl', totalMiB: 32768, freeMiB: 20000, guests: xen2, cpuSampledAt: null },
    },
    unanswered: {},
    frozen: {},
  };
}
const summary = (name: string, status: DomainSummary['status']): DomainSummary => ({
  name,
  uuid: null,
  id: status === 'defined' ? null : 1,
  status,
  flags: '',
  memoryMiB: 1024,
  vcpus: 1,
  cpuSeconds: null,
  configPath: null,
});
function view(r: CapacityReading, listed: DomainSummary[] = []) {
  const cache = new FleetCache(['xen1', 'xen2']);
  cache.update('xen1', listed);
  return withCapacity(cache, r);
}
const said = (d: ReturnType<typeof decide>) => (d.kind === 'reject' ? d.reason : '');
const texts = (blocks: readonly Block[] | undefined) => (blocks ?? []).map((b) => (b.type === 'text' ? b.text : '')).join('\n');
const replyText = (r: Reply) => [r.title ?? '', texts(r.blocks)].join('\n');

function plan(text: string, user: string, r: CapacityReading, listed: DomainSummary[] = []) {
  const d = decide(ctx, chatRequest('r1', text, user), view(r, listed), true);
  if (d.kind !== 'enqueue' && d.kind !== 'needsApproval') throw new Error(`expected a plan, got ${d.kind}: ${said(d)}`);
  return d;
}

/** What the relay lets `user`'s render see of a domain of xen1 (src/app/relay.ts scopes each result the same way). */
function mayEvacuate(user: string, domain: string): boolean {
  const roles = config.people[user]?.roles ?? [];
  return authorize(config, { id: user, displayName: user, roles }, 'host.evacuate', { host: 'xen1', domain }).allowed;
}

/** The plan run to its end: every migration verified, and the read-back of xen1 as the relay scopes it for `user`. */
function finalReply(user: string, d: ReturnType<typeof plan>, onXen1: [string, DomainSummary['status']][]): Reply {
  const outcomes = d.jobs.map((j) => {
    if (j.op === 'domain.migrate')
      return {
        host: 'xen1',
        ok: true,
        result: { host: 'xen1', outcome: 'migrated', target: j.target, domain: { ...summary(j.domain, 'blocked'), id: 7 }, transcript: [] },
      };
    const listed = {
      host: 'xen1',
      toolstack: 'xl' as const,
      domains: [summary('Domain-0', 'running'), ...onXen1.map(([n, s]) => summary(n, s))],
    };
    return { host: 'xen1', ok: true, result: scopeResult(listed, (name) => mayEvacuate(user, name)) };
  });
  return evacuate.render(
    outcomes as never,
    { host: 'xen1', 'shutdown-rest': false },
    renderContext({ plan: { steps: d.jobs, summary: d.summary ?? [] }, froze: { hosts: ['xen1'], reason: 'evacuated' } }),
  );
}

describe('/evacuate by someone scoped to some guests: the plan', () => {
  it('GIVEN payroll (outside wendy’s scope) runs on xen1 with its migration left unfinished THEN the plan is refused, payroll counted, not named', () => {
    const d = decide(
      ctx,
      chatRequest('r1', 'evacuate xen1', 'wendy'),
      view(reading([g('web1', 1024), g('payroll', 2048)], [g('payroll--incoming', 2048, 'paused')])),
      true,
    );
    expect(said(d)).toBe('Cannot do that: xen1 runs 1 guest outside your scope, which you may not migrate: nothing was planned');
  });

  it('GIVEN a running guest outside wendy’s scope whose name xenops does not act on THEN the plan is refused, not named', () => {
    const d = decide(ctx, chatRequest('r1', 'evacuate xen1', 'wendy'), view(reading([g('web1', 1024), g('12345', 2048)])), true);
    expect(said(d)).toBe('Cannot do that: xen1 runs 1 guest outside your scope, which you may not migrate: nothing was planned');
  });

  it('GIVEN payroll (outside wendy’s scope) is paused on xen1 THEN the card counts it as staying there, without its name', () => {
    const d = plan('evacuate xen1', 'wendy', reading([g('web1', 1024), g('payroll', 2048, 'paused')]));
    const card = texts(d.summary);
    expect(card).not.toMatch(/payroll/);
    expect(card).toContain(
      'you may not see every guest on xen1: 1 not running there stays (not migrated, not named); the read-back after the last step shows only those you may see',
    );
  });

  it('GIVEN alice may see every guest THEN her card has no such line', () => {
    const d = plan('evacuate xen1', 'alice', reading([g('web1', 1024), g('payroll', 2048, 'paused')]));
    expect(texts(d.summary)).not.toContain('you may not see every guest');
    expect(texts(d.summary)).toContain('left on xen1: payroll (paused (a migration would unpause it)) — not migrated');
  });
});

describe('/evacuate by someone scoped to some guests: the read-back after the last step', () => {
  it('GIVEN payroll (outside wendy’s scope) started on xen1 while the plan ran THEN the reply neither names it nor says xen1 is empty', () => {
    const d = plan('evacuate xen1', 'wendy', reading([g('web1', 1024)]));
    const r = finalReply('wendy', d, [['payroll', 'blocked']]);
    const text = replyText(r);
    expect(text).not.toMatch(/payroll/);
    expect(text).not.toContain('no guest runs on xen1');
    expect(r.title).toBe('xen1 evacuated of every guest you may see: 1 guest moved');
    expect(text).toContain(
      'read back after the last step: no guest you may see runs on xen1 — guests outside your scope are not shown to you, so this does not say xen1 is empty (/list xen1 by someone who may see every guest there does)',
    );
    expect(r.tone).toBe('warning');
  });

  it('GIVEN a guest wendy may see started on xen1 meanwhile THEN it is named, as for anyone', () => {
    const d = plan('evacuate xen1', 'wendy', reading([g('web1', 1024)]));
    const r = finalReply('wendy', d, [
      ['web2', 'running'],
      ['payroll', 'running'],
    ]);
    expect(r.title).toBe('xen1 is not empty: 1 guest moved, but web2 runs there (started or moved there while the plan ran)');
    expect(replyText(r)).not.toMatch(/payroll/);
  });

  it('GIVEN vera, scoped by a deny rule, and backup defined on xen1 THEN backup started meanwhile does not make her reply say xen1 is empty', () => {
    const d = plan('evacuate xen1', 'vera', reading([g('web1', 1024)]), [summary('web1', 'blocked'), summary('backup', 'defined')]);
    const r = finalReply('vera', d, [['backup', 'running']]);
    expect(replyText(r)).not.toMatch(/backup/);
    expect(r.title).toBe('xen1 evacuated of every guest you may see: 1 guest moved');
  });

  it('GIVEN alice, who sees every guest, and an empty read-back THEN xen1 is evacuated, as before', () => {
    const d = plan('evacuate xen1', 'alice', reading([g('web1', 1024)]));
    const r = finalReply('alice', d, []);
    expect(r.title).toBe('xen1 evacuated: 1 guest moved');
    expect(replyText(r)).toContain('read back after the last step: no guest runs on xen1');
    expect(r.tone).toBe('success');
  });
});
