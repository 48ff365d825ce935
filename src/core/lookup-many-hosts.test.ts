import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { Config } from '../config/schema.ts';
import { decide, type PipelineContext, type Rejection } from './pipeline.ts';
import type { ChatRequest } from './request.ts';

/**
 * A refusal is one line whatever the fleet's size: at 1,000 hosts a mistyped name must not be answered (and audited)
 * with the name of every host the person may use.
 */
const HOSTS = 1_000;
const names = Array.from({ length: HOSTS }, (_, i) => `h${String(i + 1).padStart(4, '0')}`);
const config = Config.parse({
  hosts: Object.fromEntries(names.map((h) => [h, { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'A'.repeat(43)}` }])),
  roles: { admin: { allow: ['*'] }, few: { allow: [{ permission: '*', hosts: ['h000[1-3]'] }] } },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    fay: { roles: ['few'], identities: { terminal: 'fay' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
});
const ctx: PipelineContext = { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) };
const fleet = new FleetCache(names);
for (const h of names) fleet.update(h, [dom(`${h}-web`, 'running')]);

const req = (text: string, user = 'alice'): ChatRequest => {
  const [command = '', ...rest] = text.split(' ');
  return {
    id: 'r1',
    platform: 'terminal',
    actor: { platform: 'terminal', userId: user, roleIds: [], displayName: user },
    channel: { id: 'terminal', kind: 'direct' },
    command,
    args: { kind: 'text', text: rest.join(' ') },
    receivedAt: 0,
    source: 'command',
  };
};

const refusal = (text: string, user = 'alice'): string => {
  const d = decide(ctx, req(text, user), fleet, true);
  expect(d.kind).toBe('reject');
  return (d as Rejection).reason;
};

describe('refusals of a lookup at 1,000 hosts', () => {
  it('a name found nowhere is said in one short line, counting the hosts instead of naming them all', () => {
    const reason = refusal('show nosuchguest');
    expect(reason).toContain('no domain named nosuchguest');
    expect(reason).toContain('1000 hosts');
    expect(reason.length).toBeLessThan(200);
  });

  it('a UUID found nowhere, likewise', () => {
    const reason = refusal('show 6c7f0f2e-1b1a-4c55-9e0e-6f1d2b3c4d5e');
    expect(reason).toContain('no domain with UUID');
    expect(reason.length).toBeLessThan(200);
  });

  it('an unknown host, likewise (and a migration target)', () => {
    for (const text of ['list h9999', 'migrate h0001-web h9999']) {
      const reason = refusal(text);
      expect(reason).toContain('no host named h9999');
      expect(reason.length).toBeLessThan(200);
    }
  });

  it('a person who may use a few hosts still has them named', () => {
    expect(refusal('show nosuchguest', 'fay')).toContain('on h0001, h0002, h0003');
    expect(refusal('migrate h0001-web h9999', 'fay')).toContain('(hosts: h0001, h0002, h0003)');
  });
});
