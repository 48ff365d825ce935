import { describe, expect, it } from 'vitest';
import { demoChat } from '../test/helpers/stack.ts';

/**
 * A reader whose audit.read is scoped to xen2 is never shown entries about xen1: `/audit host:xen1` finding none says
 * why, rather than that nothing happened there; a host not in the config is named among the hosts they may read.
 */
const chat = demoChat((c) => ({
  ...c,
  roles: { ...c.roles, 'xen2-auditor': { allow: [{ permission: 'audit.read', hosts: ['xen2'], domains: ['*'] }], deny: [] } },
  people: { ...c.people, erin: { roles: ['xen2-auditor'], identities: { terminal: 'erin' }, onCall: false } },
}));

describe('/audit by a reader scoped to xen2', () => {
  it('says a configured host outside the scope is one they may not read', async () => {
    expect(await chat.say('/list xen1')).toContain('xen1');
    expect(await chat.say('@erin /audit host:xen1')).toBe(
      ['> @erin /audit host:xen1', '⚠ No audit entries match host:xen1', 'you may not read the audit of xen1 (hosts: xen2)', ''].join('\n'),
    );
  });

  it('names only the hosts they may read beside a host not configured', async () => {
    expect(await chat.say('@erin /audit host:xen9')).toBe(
      ['> @erin /audit host:xen9', '⚠ No audit entries match host:xen9', 'xen9 is not a configured host (hosts: xen2)', ''].join('\n'),
    );
  });
});
