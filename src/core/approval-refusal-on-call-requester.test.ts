import { describe, expect, it } from 'vitest';
import { DEFAULT_APPROVAL_POLICIES } from '../config/approvals-schema.ts';
import { Config } from '../config/schema.ts';
import { mayApprove } from './approval-policy.ts';

/**
 * A refused /approve names who really may approve, as the request's card does: the person on call who asked for it
 * cannot approve their own request, so "only the person on call (bob) …" sent the refused approver to the requester.
 */
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` },
    'prod-1': { address: '10.0.0.2', privateKeyPath: '/k', hostKey: `SHA256:${'R'.repeat(43)}` },
  },
  roles: {
    admin: { allow: ['*'] },
    operator: { allow: ['operate', 'domain.migrate'] },
    'prod-grant': { allow: [{ permission: '*', hosts: ['prod-*'] }] },
    viewer: { allow: ['read'] },
  },
  people: {
    alice: { roles: ['admin'] },
    bob: { roles: ['operator'] },
    dave: { roles: ['operator'] },
    erin: { roles: ['prod-grant'] },
    carol: { roles: ['viewer'] },
  },
});
const policy = DEFAULT_APPROVAL_POLICIES[0] ?? (undefined as never);
const refusal = (o: { approver?: string; requester: string; onCall: string[]; people?: Config['people'] }) => {
  const c = o.people ? { ...config, people: o.people } : config;
  const approver = o.approver ?? 'carol';
  return mayApprove({
    config: c,
    approver: { id: approver, displayName: approver, roles: [...(c.people[approver]?.roles ?? [])] },
    requester: o.requester,
    policy,
    permission: 'domain.migrate',
    command: 'evacuate',
    targets: [{ host: 'xen1' }],
    touches: [],
    onCall: o.onCall,
  });
};

describe('the refusal of an approver who is neither on call nor holds approval.grant', () => {
  it('GIVEN bob on call asked for it THEN it names approval.grant holders (alice; not erin, who holds it on prod-* only), never bob, and why bob cannot', () => {
    expect(refusal({ requester: 'bob', onCall: ['bob'] })).toEqual({
      ok: false,
      reason: 'only someone with approval.grant (alice) may approve this: the person on call (bob) asked for it',
    });
  });

  it('GIVEN nobody on call THEN it names the approval.grant holders too', () => {
    expect(refusal({ requester: 'bob', onCall: [] })).toEqual({
      ok: false,
      reason: 'only someone with approval.grant (alice) may approve this: nobody is on call',
    });
  });

  it('GIVEN the requester holds the only approval.grant THEN "nobody but the requester", as the card says', () => {
    expect(refusal({ requester: 'alice', onCall: ['alice'] })).toEqual({
      ok: false,
      reason: 'only someone with approval.grant (nobody but the requester) may approve this: the person on call (alice) asked for it',
    });
  });

  it('GIVEN two on call, one of them the requester THEN the other is named, the requester not', () => {
    expect(refusal({ requester: 'bob', onCall: ['bob', 'dave'] })).toEqual({
      ok: false,
      reason: 'only the person on call (dave) or someone with approval.grant may approve this',
    });
  });

  it('GIVEN someone else on call THEN the refusal is as before', () => {
    expect(refusal({ requester: 'alice', onCall: ['bob'] })).toEqual({
      ok: false,
      reason: 'only the person on call (bob) or someone with approval.grant may approve this',
    });
  });
});
