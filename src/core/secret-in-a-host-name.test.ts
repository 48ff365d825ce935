import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { Config } from '../config/schema.ts';
import { registerSecret } from './log.ts';
import { decide, type PipelineContext } from './pipeline.ts';
import type { ChatRequest } from './request.ts';

/**
 * Typed arguments lose the registered secrets (withoutSecrets) so that a token pasted into a reason is not shown back;
 * names the config itself gives — hosts — are no place for one and must reach the command as typed. A Redis password
 * `storage` (7 characters: check-config does not warn) inside the host names storage1 and storage2 made every command
 * naming a host act on `[redacted]1`.
 */
const fp = (c: string) => `SHA256:${c.repeat(43)}`;
const config = Config.parse({
  hosts: {
    storage1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: fp('A') },
    storage2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: fp('B') },
  },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
registerSecret('storage');

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

describe('a host whose name holds a registered secret', () => {
  const fleet = new FleetCache(['storage1', 'storage2']);
  fleet.update('storage1', [dom('web', 'running')]);
  fleet.update('storage2', []);

  it('is the host a migration goes to', () => {
    const d = decide(ctx, req('migrate web storage2'), fleet, true);
    expect(d).toMatchObject({ kind: 'enqueue', jobs: [{ op: 'domain.migrate', host: 'storage1', target: 'storage2' }] });
  });

  it('is the host /list reads', () => {
    const d = decide(ctx, req('list storage1'), fleet, true);
    expect(JSON.stringify(d)).not.toContain('[redacted]');
  });

  it('a reason still loses it', () => {
    const d = decide(ctx, req('stop storage1:web --reason "move to storage"'), fleet, true);
    expect(JSON.stringify(d)).toContain('move to [redacted]');
  });
});
