import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { Config } from '../config/schema.ts';
import { approvesNone, hostsAlike } from './approval-policy.ts';

/**
 * A review measured approvesNone at 5.6 s of the bot's event loop on 1,000 hosts and 40 people (every command × host
 * × risk, for every person). Hosts that match the same globs are answered alike: one of each is asked.
 */
const host = { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` };
const fleet = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`xen${i + 1}`, host]));
const people: Record<string, unknown> = {
  alice: { roles: ['admin'], identities: { terminal: 'alice' } },
  dave: { roles: ['edge'], identities: { terminal: 'dave' } },
};
for (let i = 0; i < 30; i++) people[`viewer${i}`] = { roles: ['viewer'], identities: { terminal: `viewer${i}` } };
const roles = {
  admin: { allow: ['*'] },
  viewer: { allow: ['read'] },
  // Operates the hosts xen1 to xen9 only.
  edge: { allow: ['read', { permission: 'operate', hosts: ['xen?'] }] },
};
const config = (n: number, extra: Record<string, unknown> = {}) =>
  Config.parse({ hosts: fleet(n), roles, people, channels: [{ platform: 'terminal', id: '*' }], ...extra });

describe('the hosts approvesNone asks about', () => {
  it('are one per way the globs match: 1,000 hosts are two here (xen1–xen9, the rest)', () => {
    expect(hostsAlike(config(1000))).toEqual(['xen1', 'xen10']);
    const policy = { approvals: { policies: [{ risks: ['write'], hosts: ['xen5*'], approvers: 'oncall' }] } };
    expect(hostsAlike(config(1000, policy))).toEqual(['xen1', 'xen5', 'xen10', 'xen50']);
  });

  it('give the answer every host gives', () => {
    for (const c of [config(1000), config(12)]) {
      expect(approvesNone(c, COMMANDS, 'viewer0', ['viewer0'])?.others).toEqual(['alice']);
      expect(approvesNone(c, COMMANDS, 'dave', ['dave'])).toBeNull();
    }
  });
});
