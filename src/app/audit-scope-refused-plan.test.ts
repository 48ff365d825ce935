import { describe, expect, it } from 'vitest';
import { demoChat } from '../../test/helpers/stack.ts';

/**
 * A refusal that names a host the command did not (/evacuate xen2 with xen1 frozen: "not considered: xen1 is frozen")
 * is about that host too: a reader whose audit.read is scoped to xen2 must not read about xen1 in it.
 */
const chat = demoChat((c) => ({
  ...c,
  roles: { ...c.roles, 'xen2-auditor': { allow: [{ permission: 'audit.read', hosts: ['xen2'], domains: ['*'] }], deny: [] } },
  people: { ...c.people, erin: { roles: ['xen2-auditor'], identities: { terminal: 'erin' }, onCall: false } },
}));

describe('a request refused with a reason that names another host', () => {
  it('is not shown to a reader scoped to the host that was typed only; /audit host: finds it by either', async () => {
    expect(await chat.say('/freeze xen1 1h secret-xen1-incident')).toContain('xen1');
    const refused = await chat.say('/evacuate xen2');
    expect(refused).toContain('not considered: xen1 is frozen');
    const seen = await chat.say('@erin /audit 50');
    expect(seen).toMatch(/^ℹ (No audit entries yet|Last \d+ audit entr)/m);
    expect(seen).not.toContain('xen1');
    expect(seen).not.toContain('evacuate');
    // It is about xen1 too: found by host:xen1, and by host:xen2.
    expect(await chat.say('/audit host:xen1 command:evacuate')).toContain('ℹ Last 1 audit entry matching host:xen1 command:evacuate');
    expect(await chat.say('/audit host:xen2 command:evacuate')).toContain('ℹ Last 1 audit entry matching host:xen2 command:evacuate');
    await chat.say('/unfreeze xen1');
  });
});
