import { describe, expect, it } from 'vitest';
import { DEFAULT_APPROVAL_POLICIES } from '../config/approvals-schema.ts';
import { Config } from '../config/schema.ts';
import { mayApprove, policyFor } from './approval-policy.ts';
import type { Person } from './authorize.ts';
import { approvalStep, type Decision } from './pipeline.ts';

const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` },
    'prod-1': { address: '10.0.0.2', privateKeyPath: '/k', hostKey: `SHA256:${'R'.repeat(43)}` },
  },
  roles: {
    admin: { allow: ['*'] },
    operator: { allow: ['operate'] },
    xen1ops: { allow: [{ permission: 'operate', hosts: ['prod-*'] }] },
    viewer: { allow: ['read'] },
  },
  people: {
    alice: { roles: ['admin'] },
    bob: { roles: ['operator'] },
    dave: { roles: ['xen1ops'] },
    carol: { roles: ['viewer'] },
  },
});
const person = (id: string): Person => ({ id, displayName: id, roles: [...(config.people[id]?.roles ?? [])] });
const policy = DEFAULT_APPROVAL_POLICIES[0] ?? (undefined as never);
const ask = (approver: string, onCall: string[] = ['bob'], host = 'xen1') =>
  mayApprove({
    config,
    approver: person(approver),
    requester: 'alice',
    policy,
    permission: 'domain.stop',
    command: 'stop',
    targets: [{ host, domain: 'web' }],
    touches: [],
    onCall,
  });

describe('policyFor', () => {
  const section = { enabled: true, policies: DEFAULT_APPROVAL_POLICIES, channels: [], escalateMinutes: 5 };
  it('GIVEN the defaults THEN stop and migrate and every dangerous command need approval, start and reads do not', () => {
    expect(policyFor(section, 'stop', 'write', ['xen1'])).toBe(policy);
    expect(policyFor(section, 'migrate', 'dangerous', ['xen1'])).toBe(policy);
    expect(policyFor(section, 'reboot', 'dangerous', ['xen1'])).toBe(policy);
    expect(policyFor(section, 'start', 'write', ['xen1'])).toBeNull();
    expect(policyFor(section, 'list', 'read', ['xen1'])).toBeNull();
  });
  it('GIVEN the defaults THEN reboot and pause (they take a service away) need approval; unpause, autostart and uptime do not', () => {
    expect(policyFor(section, 'reboot', 'write', ['xen1'])).toBe(policy);
    expect(policyFor(section, 'pause', 'write', ['xen1'])).toBe(policy);
    expect(policyFor(section, 'unpause', 'write', ['xen1'])).toBeNull();
    expect(policyFor(section, 'autostart', 'write', ['xen1'])).toBeNull();
    expect(policyFor(section, 'autostart', 'read', ['xen1'])).toBeNull();
    expect(policyFor(section, 'uptime', 'read', ['xen1'])).toBeNull();
  });
  it('GIVEN a policy scoped to prod-* THEN only requests touching a production host need approval', () => {
    const scoped = { ...section, policies: [{ ...policy, hosts: ['prod-*'] }] };
    expect(policyFor(scoped, 'stop', 'write', ['xen1'])).toBeNull();
    expect(policyFor(scoped, 'migrate', 'dangerous', ['xen1', 'prod-1'])).not.toBeNull();
    expect(policyFor({ ...section, enabled: false }, 'stop', 'write', ['xen1'])).toBeNull();
  });
});

describe('mayApprove', () => {
  it('GIVEN the requester THEN never, whatever their role', () => {
    expect(ask('alice')).toEqual({ ok: false, reason: 'you cannot approve your own request (on any platform): someone else must' });
  });
  it('GIVEN the person on call THEN yes; GIVEN someone else without approval.grant THEN no', () => {
    expect(ask('bob')).toEqual({ ok: true });
    expect(ask('carol')).toEqual({ ok: false, reason: 'only the person on call (bob) or someone with approval.grant may approve this' });
  });
  it('GIVEN an on-call approver out of scope THEN no, naming the host', () => {
    expect(ask('dave', ['dave'])).toEqual({ ok: false, reason: 'dave may not run /stop on xen1, so may not approve it there' });
    expect(ask('dave', ['dave'], 'prod-1')).toEqual({ ok: true });
  });
  it('GIVEN an anonymous group admin (telegram.allowAnonymousAdmins) THEN neither approves nor asks for what needs approval', () => {
    // One id for every anonymous admin of a group: the requester could approve their own request under it.
    const anonymous: Person = { id: 'anonymous-admin:-100', displayName: 'anonymous admin', roles: ['admin'] };
    const asked = { config, approver: anonymous, requester: 'alice', policy, permission: 'domain.stop', command: 'stop' };
    expect(mayApprove({ ...asked, targets: [{ host: 'xen1', domain: 'web' }], touches: [], onCall: [anonymous.id] })).toEqual({
      ok: false,
      reason: 'an anonymous group admin cannot approve: xenops cannot tell who you are — turn off "Remain anonymous"',
    });
    const held = {
      kind: 'enqueue',
      evaluated: { person: anonymous },
      command: { name: 'stop' },
      targets: [],
      jobs: [],
    } as unknown as Decision;
    expect(approvalStep(held, () => policy)).toMatchObject({
      kind: 'reject',
      reason: expect.stringContaining("an anonymous group admin cannot ask for /stop: it needs someone else's approval"),
    });
    // What needs no approval is theirs to run, as before.
    expect(approvalStep(held, () => null)).toBe(held);
  });
});
