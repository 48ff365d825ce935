import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.ts';
import { mayApprove, policyFor } from '../src/core/approval-policy.ts';
import { riskOf } from '../src/core/define-command.ts';
import { onCallAt } from '../src/core/oncall.ts';
import { migrate } from './migrate.ts';

/**
 * config/demo.yaml's people (README: alice admin, bob operator and on call, carol viewer, dave operator and migrations
 * on xen2 only): a /migrate needs the approval of someone on call who may migrate there, or of an admin. bob, on call,
 * could not migrate, and alice, the only admin, asked: her migration's card said nobody but her could approve it.
 */
const config = loadConfig('config/demo.yaml', {
  XENOPS_SIM_XEN1_PORT: '2201',
  XENOPS_SIM_XEN2_PORT: '2202',
  XENOPS_SIM_XEN1_HOSTKEY: `SHA256:${'B'.repeat(43)}`,
  XENOPS_SIM_XEN2_HOSTKEY: `SHA256:${'B'.repeat(43)}`,
  XENOPS_SIM_CLIENT_KEY: '/tmp/k',
});

function approves(approver: string, requester: string, domain: string, from: string, to: string) {
  const policy = policyFor(config.approvals, 'migrate', riskOf(migrate, { domain, target: to }), [from, to]);
  if (!policy) throw new Error('the demo asks for no approval of /migrate');
  const person = config.people[approver];
  const status = onCallAt(config, [], new Date());
  return mayApprove({
    config,
    approver: { id: approver, displayName: person?.displayName ?? approver, roles: person?.roles ?? [] },
    requester,
    policy,
    permission: migrate.permission ?? '',
    command: 'migrate',
    targets: [{ host: from, domain }],
    touches: [to],
    onCall: status.now ? [status.now.person, ...status.now.also] : [],
  });
}

describe('the demo config', () => {
  it('lets bob, on call, approve the migration alice asks for, and alice approve one of his', () => {
    expect(onCallAt(config, [], new Date()).now?.person).toBe('bob');
    expect(approves('bob', 'alice', 'web', 'xen1', 'xen2')).toEqual({ ok: true });
    expect(approves('alice', 'bob', 'files', 'xen2', 'xen1')).toEqual({ ok: true });
    // Still nobody approves their own, a viewer approves nothing, and dave's scope stays xen2.
    expect(approves('alice', 'alice', 'web', 'xen1', 'xen2').ok).toBe(false);
    expect(approves('carol', 'alice', 'web', 'xen1', 'xen2').ok).toBe(false);
    expect(approves('dave', 'alice', 'files', 'xen2', 'xen1').ok).toBe(false);
  });
});
