import { describe, expect, it } from 'vitest';
import { FleetCache } from '../src/app/fleet-cache.ts';
import { Config } from '../src/config/schema.ts';
import { decide, type PipelineContext } from '../src/core/pipeline.ts';
import type { ChatRequest } from '../src/core/request.ts';
import { domainSummary as dom } from '../test/helpers/domains.ts';
import { COMMANDS } from './index.ts';

/**
 * `xl migrate` streams to `xl migrate-receive` over ssh; `xm migrate` speaks to xend's relocation port: a migration
 * between an xl host and an xm host cannot work. When the config names both toolstacks, the bot knows it before
 * anything is queued.
 */
const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A'), toolstack: 'xl' },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B'), toolstack: 'xl' },
    old: { address: '10.0.0.3', privateKeyPath: '/k', hostKey: fp('C'), toolstack: 'xm' },
    auto: { address: '10.0.0.4', privateKeyPath: '/k', hostKey: fp('D') },
  },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };

const fleet = () => {
  const f = new FleetCache(['xen1', 'xen2', 'old', 'auto']);
  f.update('xen1', [dom('web', 'running')]);
  f.update('xen2', []);
  f.update('old', [dom('legacy', 'running')]);
  f.update('auto', []);
  return f;
};

const req = (text: string): ChatRequest => {
  const [command = '', ...rest] = text.split(' ');
  return {
    id: 'r1',
    platform: 'terminal',
    actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
    channel: { id: 'terminal', kind: 'direct' },
    command,
    args: { kind: 'text', text: rest.join(' ') },
    receivedAt: 0,
    source: 'command',
  };
};

describe('/migrate between an xl host and an xm host', () => {
  it('is refused before anything is queued, with a one-line reason, either way round', () => {
    for (const [text, from, to] of [
      ['migrate web old', 'xen1 (xl)', 'old (xm)'],
      ['migrate legacy xen2', 'old (xm)', 'xen2 (xl)'],
    ] as const) {
      const d = decide(ctx, req(text), fleet(), true);
      // Was queued: the agent ran xl migrate towards a host that has no xl migrate-receive.
      expect(d).toMatchObject({ kind: 'reject', reply: { title: 'Cannot do that' } });
      const line = (d as { reply: { blocks: { text: string }[] } }).reply.blocks[0]?.text ?? '';
      expect(line).toContain(`${from} to ${to}`);
      expect(line).not.toContain('\n');
    }
  });

  it('same toolstack, or one left to detection (auto), is not refused here', () => {
    expect(decide(ctx, req('migrate web xen2'), fleet(), true)).not.toMatchObject({ kind: 'reject' });
    expect(decide(ctx, req('migrate web auto'), fleet(), true)).not.toMatchObject({ kind: 'reject' });
  });
});
