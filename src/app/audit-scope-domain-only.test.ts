import { describe, expect, it } from 'vitest';
import { demoChat } from '../../test/helpers/stack.ts';

/**
 * A request refused before the guest it named alone (`/stop web`, no host) was looked up is recorded about that guest
 * as typed, on no host: it may be on any, so a reader whose audit.read is scoped to one host must not see it (the
 * README: a scoped audit.read shows only entries about hosts and domains in its scope, a refused one too).
 */
const chat = demoChat((c) => ({
  ...c,
  roles: { ...c.roles, 'xen2-auditor': { allow: [{ permission: 'audit.read', hosts: ['xen2'], domains: ['*'] }], deny: [] } },
  people: { ...c.people, erin: { roles: ['xen2-auditor'], identities: { terminal: 'erin' }, onCall: false } },
}));

describe('a refused request that named only a guest on another host', () => {
  it('is not shown to a reader scoped to xen2; /audit domain:web finds it', async () => {
    // carol (viewer) may not stop web, which runs on xen1.
    expect(await chat.say('@carol /stop web')).toContain('Not allowed');
    const seen = await chat.say('@erin /audit 50');
    expect(seen).toMatch(/^ℹ (No audit entries yet|Last \d+ audit entr)/m);
    expect(seen).not.toContain('web');
    expect(seen).not.toContain('xen1');
    // Refused before web was looked up: recorded as typed (the guest, no host), whatever the bot knew of where it runs.
    const found = await chat.say('/audit domain:web command:stop');
    expect(found).toContain('ℹ Last 1 audit entry matching domain:web command:stop');
    expect(found).toContain('carol');
  });
});
