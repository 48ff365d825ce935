import { describe, expect, it } from 'vitest';
import { formatProblems, isPlaceholderFingerprint, lintConfig } from './lint.ts';
import { parseConfigText } from './load.ts';

const KNOWN = {
  permissions: [
    'domain.list',
    'host.info',
    'host.top',
    'host.status',
    'domain.console',
    'domain.start',
    'domain.stop',
    'domain.migrate',
    'audit.read',
  ],
  groups: {
    read: ['domain.list', 'host.info', 'host.top', 'host.status'],
    operate: ['read', 'domain.console', 'domain.start', 'domain.stop'],
    admin: ['operate', 'domain.migrate', 'audit.read'],
  },
  // The default approval policy names reboot and pause: a known set must hold them, as the real one does.
  commands: [
    'help',
    'list',
    'info',
    'top',
    'status',
    'start',
    'stop',
    'reboot',
    'pause',
    'console',
    'migrate',
    'evacuate',
    'whoami',
    'audit',
  ],
};
const REAL_FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

function config(extra: string, host = `hostKey: ${REAL_FP}`) {
  return parseConfigText(`hosts:\n  xen1:\n    address: a\n    privateKeyPath: /k\n    ${host}\n${extra}`, 't', {});
}

describe('lintConfig: permission names', () => {
  it('names a misspelled permission in a deny rule, with a did-you-mean', () => {
    expect(lintConfig(config('roles:\n  ops:\n    allow: [operate]\n    deny: [domain.stopp]\n'), KNOWN)).toEqual([
      { path: 'roles.ops.deny[0]', message: 'unknown permission "domain.stopp" — did you mean "domain.stop"?', severity: 'error' },
    ]);
  });

  it('checks scoped rules, groups of the config, and globs that match nothing', () => {
    const c = config(
      [
        'permissionGroups:',
        '  triage: [read, domain.consol, opperate]',
        'roles:',
        '  web:',
        '    allow:',
        '      - triage',
        '      - { permission: "domain.*", hosts: [xen1] }',
        '      - { permission: "dom.*", domains: ["web*"] }',
        '      - "*"',
        '      - stop',
        '      - Domain.Start',
        '      - frobnicate',
      ].join('\n'),
    );
    expect(lintConfig(c, KNOWN)).toEqual([
      {
        path: 'permissionGroups.triage[1]',
        message: 'unknown permission or group "domain.consol" — did you mean "domain.console"?',
        severity: 'error',
      },
      {
        path: 'permissionGroups.triage[2]',
        message: 'unknown permission or group "opperate" — did you mean "operate"?',
        severity: 'error',
      },
      { path: 'roles.web.allow[2]', message: 'the glob "dom.*" matches no known permission', severity: 'error' },
      { path: 'roles.web.allow[4]', message: 'unknown permission "stop" — did you mean "domain.stop"?', severity: 'error' },
      { path: 'roles.web.allow[5]', message: 'unknown permission "Domain.Start" — did you mean "domain.start"?', severity: 'error' },
      {
        path: 'roles.web.allow[6]',
        message:
          'unknown permission "frobnicate" (permissions: audit.read, domain.console, domain.list, domain.migrate, domain.start, domain.stop, host.info, host.status, host.top; groups: admin, operate, read, triage)',
        severity: 'error',
      },
    ]);
  });

  it('accepts command names, permissions and groups in a channel filter, and names the rest', () => {
    const c = config('channels:\n  - { platform: terminal, id: "*", commands: [list, read, domain.stop, lst] }\n');
    // Nobody is at this terminal: that warning is lint-terminal-user.test.ts's.
    expect(lintConfig(c, KNOWN).filter((f) => f.path !== 'terminal.defaultUser')).toEqual([
      { path: 'channels[0].commands[3]', message: 'unknown command, permission or group "lst" — did you mean "list"?', severity: 'error' },
    ]);
  });

  it('names an override for a command that does not exist', () => {
    expect(lintConfig(config('commands:\n  migrat: { risk: dangerous }\n  stop: { disabled: true }\n'), KNOWN)).toEqual([
      { path: 'commands.migrat', message: 'unknown command "migrat" — did you mean "migrate"?', severity: 'error' },
    ]);
  });

  it('finds nothing in a clean config, and cuts a long unknown name', () => {
    expect(
      lintConfig(config('roles:\n  ops: { allow: [operate, "host.*"], deny: [{ permission: domain.stop, domains: [fw-*] }] }\n'), KNOWN),
    ).toEqual([]);
    const [finding] = lintConfig(config(`roles:\n  ops: { allow: [${'p'.repeat(5000)}] }\n`), KNOWN);
    expect(finding?.message).toBe(
      `unknown permission "${'p'.repeat(40)}…" (permissions: audit.read, domain.console, domain.list, domain.migrate, domain.start, domain.stop, host.info, host.status, host.top; groups: admin, operate, read)`,
    );
  });
});

describe('lintConfig: host keys', () => {
  it.each([
    `SHA256:${'A'.repeat(43)}`,
    'SHA256:ReplaceMeWithTheHostsOwnFingerprint00000000',
    'SHA256:xxx',
    'SHA256:',
    'SHA256:abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ',
    'SHA256:0000000000000000000000000000000000000000000',
    'SHA256:ExampleExampleExampleExampleExampleExample12',
  ])('calls %s a placeholder', (fp) => {
    expect(isPlaceholderFingerprint(fp)).toBe(true);
  });

  it.each([REAL_FP, 'SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU', 'SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8'])(
    'calls %s real',
    (fp) => {
      expect(isPlaceholderFingerprint(fp)).toBe(false);
    },
  );

  it('reports a placeholder host key as an error', () => {
    expect(lintConfig(config('', `hostKey: SHA256:${'A'.repeat(43)}`), KNOWN)).toEqual([
      {
        path: 'hosts.xen1.hostKey',
        message: `"SHA256:${'A'.repeat(33)}…" is a placeholder, not xen1's fingerprint: run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on xen1 and copy its SHA256:… field`,
        severity: 'error',
      },
    ]);
  });

  it('warns loudly about dangerouslyAcceptAnyHostKey', () => {
    expect(lintConfig(config('', 'dangerouslyAcceptAnyHostKey: true'), KNOWN)).toEqual([
      {
        path: 'hosts.xen1.dangerouslyAcceptAnyHostKey',
        message:
          "DANGER: xen1's host key is not checked — whoever can intercept the connection can pose as xen1 and receive every command; dev only, pin hostKey instead",
        severity: 'warning',
      },
    ]);
  });

  it('warns about a key passphrase or webhook secret too short to be redacted', () => {
    const c = config(
      'telegram: { token: t, mode: webhook, webhook: { domain: bot.example.org, secretToken: s3cr } }\n',
      `hostKey: ${REAL_FP}\n    passphrase: pw1`,
    );
    const why = 'shorter than 6 characters: it is not taken out of log lines, replies and audit entries that quote it; use a longer one';
    expect(lintConfig(c, KNOWN)).toEqual([
      { path: 'hosts.xen1.passphrase', message: why, severity: 'warning' },
      { path: 'telegram.webhook.secretToken', message: why, severity: 'warning' },
    ]);
    expect(lintConfig(config('', `hostKey: ${REAL_FP}\n    passphrase: long-enough`), KNOWN)).toEqual([]);
  });

  it('warns about a Redis URL password too short to be redacted, as ioredis sends it (decoded)', () => {
    const why = 'shorter than 6 characters: it is not taken out of log lines, replies and audit entries that quote it; use a longer one';
    const c = config(
      'redis:\n  url: redis://:pw1@db:6379\n  cluster: true\n  nodes: ["redis://r1:6379?password=abc", "redis://:%41%42%43%44@r2:6379"]\n',
    );
    expect(lintConfig(c, KNOWN)).toEqual([
      { path: 'redis.url', message: why, severity: 'warning' },
      { path: 'redis.nodes[0]', message: why, severity: 'warning' },
      { path: 'redis.nodes[1]', message: why, severity: 'warning' },
    ]);
    const long = config('redis:\n  url: redis://:long-enough@db:6379\n  cluster: true\n  nodes: [redis://r1:6379]\n');
    expect(lintConfig(long, KNOWN)).toEqual([]);
    expect(lintConfig({ redis: { url: 'not a url', nodes: 'x' } }, KNOWN)).toEqual([]);
  });

  it('reads an unvalidated document defensively (check-config lints a file the schema refused)', () => {
    const raw = {
      hosts: { xen1: { hostKey: 'SHA256:xxx', dangerouslyAcceptAnyHostKey: 'yes' }, xen2: 5 },
      roles: { ops: { allow: 'domain.stop', deny: [7, { permission: 'domain.stopp' }, { nope: 1 }] }, bad: null },
      permissionGroups: { g: 'x' },
      channels: { not: 'a list' },
      commands: 4,
    };
    expect(lintConfig(raw, KNOWN)).toEqual([
      { path: 'roles.ops.deny[1]', message: 'unknown permission "domain.stopp" — did you mean "domain.stop"?', severity: 'error' },
      {
        path: 'hosts.xen1.hostKey',
        message: `"SHA256:xxx" is a placeholder, not xen1's fingerprint: run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on xen1 and copy its SHA256:… field`,
        severity: 'error',
      },
    ]);
    expect(lintConfig(null, KNOWN)).toEqual([]);
  });
});

describe('lintConfig: where migrations to a host go', () => {
  const host = (lines: string) => `hostKey: ${REAL_FP}\n    ${lines}`;

  it('warns when the address (no migrateAddress set) is nothing xl migrate can be given', () => {
    const raw = (h: Record<string, unknown>) => ({ hosts: { xen1: { hostKey: REAL_FP, privateKeyPath: '/k', ...h } } });
    expect(lintConfig(raw({ address: 'fe80::1%eth0' }), KNOWN)).toEqual([
      {
        path: 'hosts.xen1.address',
        message:
          'migrations to xen1 would be refused: "fe80::1%eth0" is no address xl migrate can be given — set hosts.xen1.migrateAddress',
        severity: 'warning',
      },
    ]);
    expect(lintConfig(raw({ address: 'fe80::1%eth0', migrateAddress: 'root@xen1' }), KNOWN)).toEqual([]);
  });

  it('refuses a user@ for an xm host (xm migrates through xend, not ssh)', () => {
    expect(lintConfig(config('', host('toolstack: xm\n    migrateAddress: root@xen1')), KNOWN)).toEqual([
      {
        path: 'hosts.xen1.migrateAddress',
        message: 'xen1 runs xm, which migrates through xend\'s relocation port rather than ssh: "root@xen1" cannot have a user@',
        severity: 'error',
      },
    ]);
  });
});

describe("the schema: migrateAddress and configDirs as the agent's argv takes them", () => {
  const parse = (lines: string) => () => config('', `hostKey: ${REAL_FP}\n    ${lines}`);

  it('takes a [user@]host migrateAddress and a config dir with a space, and nothing the argv would refuse', () => {
    expect(parse('migrateAddress: root@xen2\n    configDirs: ["/srv/xen guests"]')).not.toThrow();
    expect(parse('migrateAddress: "-oProxyCommand=x"')).toThrow(/must be a host name or address, optionally with user@/);
    expect(parse('migrateAddress: "root@xen2 x"')).toThrow(/must be a host name or address/);
    expect(parse('configDirs: ["/etc/xen/../vm"]')).toThrow(/must not hold '\.', '\.\.' or '\/\/'/);
    expect(parse('configDirs: ["etc/xen"]')).toThrow(/must be an absolute path/);
  });
});

describe('formatProblems', () => {
  it('lists errors, then warnings, each with its path, under a count', () => {
    expect(
      formatProblems('config/xenops.yaml', [
        { path: 'hosts.xen1.dangerouslyAcceptAnyHostKey', message: 'DANGER: …', severity: 'warning' },
        { path: 'roles.ops.deny[0]', message: 'unknown permission "x"', severity: 'error' },
        { path: '', message: 'config/xenops.yaml not found — copy it', severity: 'error' },
      ]),
    ).toBe(
      [
        'config/xenops.yaml: 2 errors, 1 warning',
        '  error    roles.ops.deny[0]: unknown permission "x"',
        '  error    config/xenops.yaml not found — copy it',
        '  warning  hosts.xen1.dangerouslyAcceptAnyHostKey: DANGER: …',
        '',
      ].join('\n'),
    );
  });
});

describe('approval policies', () => {
  it('name unknown commands and permissions in approval policies, with a did-you-mean', () => {
    const findings = lintConfig(
      {
        hosts: {},
        approvals: { policies: [{ commands: ['stopp', 'migrate'], approvers: { permission: 'approval.grnt' } }] },
      },
      { permissions: ['approval.grant', 'domain.stop'], groups: {}, commands: ['stop', 'migrate'] },
    );
    expect(findings).toEqual([
      { path: 'approvals.policies[0].commands[0]', message: 'unknown command "stopp" — did you mean "stop"?', severity: 'error' },
      {
        path: 'approvals.policies[0].approvers.permission',
        message: 'unknown permission "approval.grnt" — did you mean "approval.grant"?',
        severity: 'error',
      },
    ]);
  });
});

describe('the example config', () => {
  it('lists every permission there is in its comment on the built-in groups', async () => {
    const { readFileSync } = await import('node:fs');
    const { BUILTIN_GROUPS } = await import('../core/authorize.ts');
    const text = readFileSync(new URL('../../config/xenops.example.yaml', import.meta.url), 'utf8');
    const block = text.slice(text.indexOf('# Built-in groups'), text.indexOf('\nroles:'));
    const listed = new Set(block.match(/\b[a-z]+\.[a-z]+\b/g) ?? []);
    const all = Object.values(BUILTIN_GROUPS).flatMap((m) => m.filter((p) => p.includes('.')));
    expect(all.filter((p) => !listed.has(p))).toEqual([]);
    expect([...listed].filter((p) => !all.includes(p))).toEqual([]);
  });
});
