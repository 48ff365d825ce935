import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { autocompleteChoices } from '../app/autocomplete.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { Config } from '../config/schema.ts';
import { decide, type PipelineContext } from './pipeline.ts';
import type { ChatRequest } from './request.ts';
import type { DomainSummary } from './xen.ts';

// erin operates every domain on xen1, and only the db* domains on xen2: xen2's web is not hers to see or touch.
const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
  },
  roles: {
    mixed: {
      allow: [
        { permission: 'operate', hosts: ['xen1'] },
        { permission: 'operate', hosts: ['xen2'], domains: ['db*'] },
      ],
    },
  },
  people: { erin: { roles: ['mixed'], identities: { terminal: 'erin' } } },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };

const UUID = '0b7c1f7e-2a1a-4c55-9e0e-6f1d2b3c4d5e';

function fleet(xen1: DomainSummary[], xen2: DomainSummary[]): FleetCache {
  const f = new FleetCache(['xen1', 'xen2']);
  f.update('xen1', xen1);
  f.update('xen2', xen2);
  return f;
}

const req = (text: string): ChatRequest => {
  const [command = '', ...rest] = text.split(' ');
  return {
    id: 'r1',
    platform: 'terminal',
    actor: { platform: 'terminal', userId: 'erin', roleIds: [], displayName: 'erin' },
    channel: { id: 'terminal', kind: 'direct' },
    command,
    args: { kind: 'text', text: rest.join(' ') },
    receivedAt: Date.now(),
    source: 'command',
  };
};

const said = (d: unknown): string => JSON.stringify(d);

describe('a name resolved for a person whose permission reaches only some domains of a host', () => {
  it('a guest of the same name outside her domain scope is neither named nor makes her name ambiguous', () => {
    const d = decide(ctx, req('stop web'), fleet([dom('web', 'blocked')], [dom('web', 'blocked')]), false);
    expect(said(d)).not.toContain('xen2');
    expect(d).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen1', domain: 'web' }] });
  });

  it('a guest running only outside her scope is not chosen over the copy she may use, nor revealed', () => {
    const d = decide(ctx, req('stop web'), fleet([dom('web', 'defined')], [dom('web', 'running')]), true);
    expect(said(d)).not.toContain('xen2');
    // Her copy, stopped: /stop's own check answers for xen1 (nothing to stop), never for the copy outside her scope.
    expect(d).toMatchObject({ kind: 'reject', code: 'precheck' });
    expect(said(d)).toContain('web is not running on xen1: nothing to stop');
  });

  it('a guest only outside her scope is "not found", as one that does not exist is', () => {
    const there = decide(ctx, req('stop web'), fleet([], [dom('web', 'running')]), true);
    const nowhere = decide(ctx, req('stop web'), fleet([], []), true);
    expect(said(there)).not.toContain('xen2/web');
    expect(there).toMatchObject({ kind: 'reject', code: 'notFound' });
    expect((there as { reason: string }).reason).toBe((nowhere as { reason: string }).reason);
  });

  it('a UUID does not tell her the name of a guest outside her scope', () => {
    const d = decide(ctx, req(`stop ${UUID}`), fleet([], [dom('web', 'running', UUID)]), true);
    expect(said(d)).not.toContain('web');
    expect(d).toMatchObject({ kind: 'reject', code: 'notFound' });
  });

  it('host:domain outside her scope is refused the same whether or not the host has it', () => {
    const has = decide(ctx, req('stop xen2:web'), fleet([], [dom('web', 'running')]), false);
    const lacks = decide(ctx, req('stop xen2:web'), fleet([], []), false);
    expect(has.kind).toBe('reject');
    expect(lacks.kind).toBe(has.kind);
    expect((lacks as { reason: string }).reason).toBe((has as { reason: string }).reason);
  });
});

describe('a name whose only known copy is stopped, while a host was never heard from', () => {
  const admin = Config.parse({
    hosts: config.hosts,
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { terminal: 'erin' } } },
    channels: [{ platform: 'terminal', id: '*' }],
  });
  const actx: PipelineContext = { config: admin, commands: ctx.commands };
  const coldXen2 = () => {
    const f = new FleetCache(['xen1', 'xen2']);
    f.update('xen1', [dom('web', 'defined')]);
    return f;
  };

  it('asks that host before sending /stop to the stopped copy', () => {
    expect(decide(actx, req('stop web'), coldXen2(), false)).toMatchObject({ kind: 'lookup', hosts: ['xen2'] });
  });

  it('then stops the copy that runs there', () => {
    const f = coldXen2();
    f.update('xen2', [dom('web', 'running')]);
    expect(decide(actx, req('stop web'), f, true)).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen2', domain: 'web' }] });
  });

  it('and, when it still does not answer, goes on with the stopped copy it knows (which /stop refuses: not running)', () => {
    const d = decide(actx, req('stop web'), coldXen2(), true);
    expect(d).toMatchObject({ kind: 'reject', code: 'precheck' });
    expect(said(d)).toContain('web is not running on xen1: nothing to stop');
  });
});

describe('autocomplete for a person whose permission reaches only some domains of a host', () => {
  it('offers the bare name when the only other copy is outside her scope (no hint that one exists)', () => {
    const stop = COMMANDS.find((c) => c.name === 'stop');
    const actor = { platform: 'terminal' as const, userId: 'erin', roleIds: [], displayName: 'erin' };
    const both = fleet([dom('web', 'blocked')], [dom('web', 'blocked'), dom('db1', 'blocked')]);
    expect(autocompleteChoices(config, both, stop, actor, 'domain', 'web')).toEqual([{ name: 'web (xen1, blocked)', value: 'web' }]);
  });
});
