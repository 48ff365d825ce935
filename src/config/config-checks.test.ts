import { describe, expect, it } from 'vitest';
import { freezeOf } from '../core/freeze.ts';
import { checkConfigText } from './load.ts';

/** Config mistakes the loader accepted, each of which failed (or did something else) only at run time. */
const FP = `SHA256:${'Ab1'.repeat(14)}x`;
const base = `
hosts:
  xen1:
    address: 10.0.0.1
    privateKeyPath: /keys/id
    hostKey: ${FP}
`;
const check = (text: string) => checkConfigText(text, {});
const weekly = (tz: string) =>
  `${base}maintenance:\n  - hosts: [xen1]\n    reason: kernel\n    weekday: monday\n    from: "09:00"\n    until: "10:00"\n    timezone: ${tz}\n`;

describe('maintenance windows', () => {
  it('a weekly window whose timezone is misspelled is refused with its path (it would never freeze)', () => {
    // Monday 2026-05-04 09:30 Berlin time: inside the window.
    const at = Date.parse('2026-05-04T07:30:00Z');
    const good = check(weekly('Europe/Berlin'));
    expect(good.issues).toEqual([]);
    expect(freezeOf('xen1', at, good.config?.maintenance ?? [], {})).not.toBeNull();

    const typo = check(weekly('Europe/Berln'));
    // What happens today: accepted, and the window silently never opens.
    if (typo.config) expect(freezeOf('xen1', at, typo.config.maintenance, {}), 'accepted window never freezes').not.toBeNull();
    expect(typo.issues.map((i) => i.path)).toContain('maintenance[0].timezone');
  });
});

describe('telegram', () => {
  it('mode: webhook without a webhook section is refused (the adapter would silently long-poll instead)', () => {
    const r = check(`${base}telegram:\n  token: "123456:${'x'.repeat(30)}"\n  mode: webhook\n`);
    expect(r.issues.map((i) => i.path)).toContain('telegram.webhook');
  });
});

describe('secrets in config errors', () => {
  it('a passphrase of digits written without quotes is not echoed in the error', () => {
    const r = check(base.replace('privateKeyPath: /keys/id', 'privateKeyPath: /keys/id\n    passphrase: 83920174'));
    expect(r.config).toBeNull();
    expect(r.issues.map((i) => i.message).join('\n')).not.toContain('83920174');
  });
});

describe("agent heartbeat against the bot's staleness limit", () => {
  it('an agent.heartbeatMs above bot.agentStaleMs is refused (every agent would count as gone between its beats)', async () => {
    const { livenessOf } = await import('../queue/coordination.ts');
    const r = check(`${base}agent:\n  heartbeatMs: 20000\n`);
    if (r.config) {
      // 15 s after a beat, 5 s before the next one: the bot already says "no agent serves xen1".
      const beat = { agentId: 'a', where: '1@h', seenAt: 0 };
      expect(livenessOf(beat, 15_000, r.config.bot.agentStaleMs).alive, 'a running agent counted as gone').toBe(true);
    }
    expect(r.issues.map((i) => i.path)).toContain('agent.heartbeatMs');
  });
});

/**
 * A value that may take one of two forms (a permission rule as text or a mapping, a one-off or weekly window, the
 * approvers) is reported by the form it was written in: zod reported the first form that failed least, or the one
 * whose problems it could go on past, so a typo in a mapping was "expected text, got a mapping".
 */
describe('a mistake in a value of two forms names the form it was written in', () => {
  const issuesOf = (yaml: string) => check(`${base}${yaml}`).issues;
  it('a permission rule as a mapping', () => {
    expect(issuesOf('roles:\n  ops:\n    allow:\n      - { permision: domain.start, hosts: [xen1] }\n')).toEqual([
      { path: 'roles.ops.allow[0].permission', message: 'required' },
      { path: 'roles.ops.allow[0].permision', message: 'unknown key' },
    ]);
    expect(issuesOf('roles:\n  ops:\n    allow:\n      - { permission: domain.start, hosts: xen1 }\n')).toEqual([
      { path: 'roles.ops.allow[0].hosts', message: 'expected a list, got "xen1"' },
    ]);
  });
  it('approvers as a mapping, and as a word', () => {
    const policy = (approvers: string) =>
      `approvals:\n  enabled: true\n  policies:\n    - commands: [stop]\n      approvers: ${approvers}\n`;
    expect(issuesOf(policy('{ permisson: x }'))).toEqual([
      { path: 'approvals.policies[0].approvers.permission', message: 'required' },
      { path: 'approvals.policies[0].approvers.permisson', message: 'unknown key' },
    ]);
    expect(issuesOf(policy('oncal'))).toEqual([{ path: 'approvals.policies[0].approvers', message: 'expected oncall, got "oncal"' }]);
  });
  it('a weekly maintenance window, and a one-off one', () => {
    const window = (lines: string) => `maintenance:\n  - hosts: [xen1]\n    reason: kernel\n${lines}`;
    expect(issuesOf(window('    weekday: mondey\n    from: "09:00"\n    until: "10:00"\n'))).toEqual([
      {
        path: 'maintenance[0].weekday',
        message: 'expected one of monday, tuesday, wednesday, thursday, friday, saturday, sunday, got "mondey"',
      },
    ]);
    expect(issuesOf(window('    weekday: monday\n    from: "09:00"\n    until: "10:00"\n    timzone: UTC\n'))).toEqual([
      { path: 'maintenance[0].timzone', message: 'unknown key' },
    ]);
    expect(issuesOf(window('    from: "2026-01-01T00:00:00Z"\n    until: tomorrow\n'))).toEqual([
      { path: 'maintenance[0].until', message: 'expected a valid datetime, got "tomorrow"' },
    ]);
  });
});

describe('roles named anywhere in the config', () => {
  it('a misspelt role in telegram.anonymousAdminRoles is an error with its path, as one in people or roleBindings', () => {
    const issues = check(
      `${base}roles:\n  viewer: { allow: [read] }\npeople:\n  alice: { roles: [viewr], identities: { terminal: alice } }\ntelegram:\n  allowAnonymousAdmins: true\n  anonymousAdminRoles: [viewr]\ndiscord:\n  roleBindings: { "500000000000000001": [viewr] }\n`,
    ).issues;
    expect(issues.filter((i) => i.message === 'unknown role "viewr"').map((i) => i.path)).toEqual([
      'people.alice.roles[0]',
      'discord.roleBindings.500000000000000001[0]',
      'telegram.anonymousAdminRoles[0]',
    ]);
  });
});
