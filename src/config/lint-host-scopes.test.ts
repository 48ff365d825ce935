import { describe, expect, it } from 'vitest';
import { lintConfig } from './lint.ts';
import { parseConfigText } from './load.ts';

/** Host names that scope a rule, a policy or a window: one naming no host makes it apply nowhere, silently. */
const KNOWN = {
  permissions: ['domain.list', 'domain.start', 'domain.stop'],
  groups: { read: ['domain.list'], operate: ['read', 'domain.start', 'domain.stop'] },
  commands: ['list', 'start', 'stop', 'reboot', 'pause', 'migrate', 'evacuate'],
};
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const host = (name: string) => `  ${name}: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`;
const config = (extra: string) => parseConfigText(`hosts:\n${host('prod-db1')}${host('prod-db2')}${host('lab1')}${extra}`, 't', {});

describe('lintConfig: host scopes', () => {
  it('GIVEN a deny rule whose host is misspelt THEN an error with a did-you-mean (it denied nothing)', () => {
    const c = config('roles:\n  ops:\n    allow: [operate]\n    deny: [{ permission: domain.stop, hosts: [prod-db01] }]\n');
    expect(lintConfig(c, KNOWN)).toEqual([
      { path: 'roles.ops.deny[0].hosts[0]', message: 'unknown host "prod-db01" — did you mean "prod-db1"?', severity: 'error' },
    ]);
  });

  it('GIVEN an approval policy scoped to a glob that matches no host THEN a warning (stop ran there unapproved)', () => {
    const c = config('approvals:\n  policies:\n    - { commands: [stop], hosts: ["prd-*"] }\n');
    expect(lintConfig(c, KNOWN)).toEqual([
      {
        path: 'approvals.policies[0].hosts[0]',
        message: 'the glob "prd-*" matches no host (hosts: lab1, prod-db1, prod-db2)',
        severity: 'warning',
      },
    ]);
  });

  it('GIVEN a maintenance window naming an unknown host THEN an error (it froze nothing)', () => {
    const c = config('maintenance:\n  - { hosts: [lab2], reason: r, weekday: sunday, from: "01:00", until: "02:00" }\n');
    expect(lintConfig(c, KNOWN)).toEqual([
      { path: 'maintenance[0].hosts[0]', message: 'unknown host "lab2" — did you mean "lab1"?', severity: 'error' },
    ]);
  });

  it('GIVEN names and globs that match hosts THEN nothing is said', () => {
    const c = config(
      [
        'roles:',
        '  ops:',
        '    allow: [{ permission: operate, hosts: ["prod-*", lab1] }]',
        '    deny: [{ permission: domain.stop, hosts: ["*"], domains: [fw] }]',
        'approvals:',
        '  policies: [{ commands: [stop], hosts: ["prod-db{1,2}"] }]',
        'maintenance:',
        '  - { hosts: [prod-db2], reason: r, from: "2026-01-01T00:00:00Z", until: "2026-01-02T00:00:00Z" }',
        '',
      ].join('\n'),
    );
    expect(lintConfig(c, KNOWN)).toEqual([]);
  });
});
