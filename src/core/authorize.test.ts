import { describe, expect, it } from 'vitest';
import { Config } from '../config/schema.ts';
import { authorize, channelAllowsCommand, channelPolicy, expandPermission, identify } from './authorize.ts';
import type { Actor } from './request.ts';

const config = Config.parse({
  hosts: { xen1: { address: 'a', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
  roles: {
    admin: { allow: ['*'] },
    operator: { allow: ['operate'], deny: [{ permission: 'domain.stop', domains: ['gateway'] }] },
    webteam: { allow: ['read', { permission: 'domain.*', hosts: ['xen1'], domains: ['web*'] }] },
    viewer: { allow: ['read'] },
    nostop: { deny: ['domain.stop'] },
  },
  permissionGroups: { triage: ['read', 'domain.console'] },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice', telegram: 1001, discord: '200000000000000001' } },
    bob: { roles: ['operator'], identities: { terminal: 'bob' } },
    carol: { roles: ['viewer'], identities: { terminal: 'carol', discord: '200000000000000003' } },
    dave: { roles: ['webteam'], identities: { terminal: 'dave' } },
    erin: { roles: ['admin', 'nostop'], identities: { terminal: 'erin' } },
  },
  channels: [
    { platform: 'terminal', id: '*' },
    { platform: 'telegram', id: -100 },
    { platform: 'discord', id: '300', commands: ['read', 'whoami'] },
  ],
  discord: { roleBindings: { '500000000000000001': ['operator'] } },
});

const actor = (platform: Actor['platform'], userId: string, roleIds: string[] = []): Actor => ({
  platform,
  userId,
  roleIds,
  displayName: userId,
});
const person = (id: string) => {
  const who = identify(config, actor('terminal', id));
  if (!who.ok) throw new Error(who.message);
  return who.person;
};

describe('identify', () => {
  it('GIVEN a known platform id THEN it is that person, the same one on every platform', () => {
    expect(identify(config, actor('telegram', '1001'))).toMatchObject({ ok: true, person: { id: 'alice' } });
    expect(identify(config, actor('discord', '200000000000000001'))).toMatchObject({ ok: true, person: { id: 'alice' } });
  });

  it('GIVEN an unknown id THEN it is refused, naming the id to give an admin', () => {
    expect(identify(config, actor('telegram', '999'))).toEqual({
      ok: false,
      code: 'auth.unknownPerson',
      message: expect.stringContaining('telegram id is 999'),
    });
  });

  it('GIVEN Discord member roles bound in config THEN they add roles', () => {
    expect(identify(config, actor('discord', '200000000000000003', ['500000000000000001']))).toMatchObject({
      ok: true,
      person: { id: 'carol', roles: ['viewer', 'operator'] },
    });
    expect(identify(config, actor('discord', '777', ['500000000000000001']))).toMatchObject({ ok: true, person: { roles: ['operator'] } });
  });

  it('GIVEN an anonymous group admin THEN refused unless the config allows it', () => {
    const anon = { ...actor('telegram', '-100'), anonymousAdmin: true };
    expect(identify(config, anon)).toMatchObject({ ok: false, code: 'auth.anonymousAdmin' });
  });
});

describe('authorize', () => {
  it('GIVEN no rule THEN denied, naming the missing permission', () => {
    expect(authorize(config, person('carol'), 'domain.stop', { host: 'xen1', domain: 'web' }, 'run /stop')).toEqual({
      allowed: false,
      message: 'carol may not run /stop: needs permission domain.stop on xen1/web',
    });
  });

  it('GIVEN groups THEN they expand, nested', () => {
    expect(expandPermission(config, 'operate').sort()).toEqual([
      'domain.autostart',
      'domain.console',
      'domain.list',
      'domain.pause',
      'domain.reboot',
      'domain.show',
      'domain.start',
      'domain.stop',
      'domain.unpause',
      'host.digest',
      'host.evacuate',
      'host.info',
      'host.rebalance',
      'host.status',
      'host.top',
      'host.uptime',
      'oncall.read',
      'schedule.read',
    ]);
    expect(expandPermission(config, 'triage')).toContain('host.top');
    expect(authorize(config, person('carol'), 'host.top').allowed).toBe(true);
  });

  it('GIVEN a scoped deny THEN it beats the allow only where it applies', () => {
    expect(authorize(config, person('bob'), 'domain.stop', { host: 'xen1', domain: 'web' }).allowed).toBe(true);
    expect(authorize(config, person('bob'), 'domain.stop', { host: 'xen1', domain: 'gateway' }).allowed).toBe(false);
    // dry run (no target yet): a deny scoped to one domain does not hide the command
    expect(authorize(config, person('bob'), 'domain.stop').allowed).toBe(true);
  });

  it('GIVEN a deny from any role THEN it beats an admin allow from another', () => {
    expect(authorize(config, person('erin'), 'domain.stop', { host: 'xen1', domain: 'web' }).allowed).toBe(false);
    expect(authorize(config, person('erin'), 'domain.start', { host: 'xen1', domain: 'web' }).allowed).toBe(true);
  });

  it('GIVEN permission and host/domain globs THEN they scope the allow', () => {
    expect(authorize(config, person('dave'), 'domain.start', { host: 'xen1', domain: 'web2' }).allowed).toBe(true);
    expect(authorize(config, person('dave'), 'domain.start', { host: 'xen1', domain: 'mail' }).allowed).toBe(false);
    expect(authorize(config, person('dave'), 'domain.start', { host: 'xen2', domain: 'web' }).allowed).toBe(false);
    expect(authorize(config, person('dave'), 'audit.read').allowed).toBe(false);
  });
});

describe('channels', () => {
  it('GIVEN no entry for a channel THEN nothing is allowed there', () => {
    expect(channelPolicy(config, 'telegram', { id: '-200', kind: 'group' }).allowed).toBe(false);
    expect(channelPolicy(config, 'telegram', { id: '-100', kind: 'group' }).allowed).toBe(true);
    expect(channelPolicy(config, 'terminal', { id: 'anything', kind: 'direct' }).allowed).toBe(true);
  });

  it('GIVEN a commands filter THEN only those commands or groups pass', () => {
    const policy = channelPolicy(config, 'discord', { id: '300', kind: 'group' });
    expect(channelAllowsCommand(config, policy.commands, 'list', 'domain.list')).toBe(true);
    expect(channelAllowsCommand(config, policy.commands, 'whoami', null)).toBe(true);
    expect(channelAllowsCommand(config, policy.commands, 'stop', 'domain.stop')).toBe(false);
  });
});
