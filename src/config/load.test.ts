import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { checkConfigFile, loadConfig, parseConfigText, resolveConfigPath } from './load.ts';

const FP = `SHA256:${'A'.repeat(43)}`;
const minimal = `
hosts:
  xen1:
    address: 10.0.0.1
    privateKeyPath: /keys/id
    hostKey: ${FP}
`;

function issuesOf(text: string, env: Record<string, string> = {}) {
  try {
    parseConfigText(text, 'test.yaml', env);
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills defaults for a minimal valid file', () => {
    const c = parseConfigText(minimal, 't', {});
    expect(c.hosts['xen1']?.port).toBe(22);
    expect(c.hosts['xen1']?.toolstack).toBe('auto');
    expect(c.hosts['xen1']?.configDirs).toEqual(['/etc/xen/vm', '/etc/xen/auto']);
    expect(c.redis.prefix).toBe('{xenops}');
    expect(c.ssh.maxConcurrent).toBe(4);
  });

  it('substitutes $VAR and $VAR:-default references and coerces numbers', () => {
    const text = `${minimal}    port: \${PORT}\n    user: \${SSH_USER:-xenops}\n`;
    const c = parseConfigText(text, 't', { PORT: '2222' });
    expect(c.hosts['xen1']?.port).toBe(2222);
    expect(c.hosts['xen1']?.user).toBe('xenops');
  });

  it('treats a value that substitutes to empty as unset', () => {
    const c = parseConfigText(`${minimal}discord:\n  token: \${DISCORD_TOKEN:-}\n`, 't', {});
    expect(c.discord?.token).toBeUndefined();
  });

  it('never lets a substituted value change the document structure', () => {
    const c = parseConfigText(`${minimal}    user: \${EVIL}\n`, 't', { EVIL: 'x\n    port: 1' });
    expect(c.hosts['xen1']?.user).toBe('x\n    port: 1');
    expect(c.hosts['xen1']?.port).toBe(22);
  });

  it('lists every problem with its path', () => {
    const issues = issuesOf(`
hosts:
  xen1:
    address: 10.0.0.1
    port: 99999
    hostKey: MD5:aa
  Bad_Host:
    address: x
    privateKeyPath: /k
    hostKey: ${FP}
people:
  alice:
    roles: [nosuchrole]
bogus: 1
`);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['hosts.xen1.port', 'hosts.xen1.hostKey', 'hosts.xen1.privateKeyPath', 'bogus', 'people.alice.roles[0]']),
    );
    expect(paths.some((p) => p.startsWith('hosts'))).toBe(true);
    expect(issues.find((i) => i.path === 'bogus')?.message).toBe('unknown key');
    expect(issues.length).toBeGreaterThanOrEqual(6);
  });

  it('checks schedules: when, zone, host and person, each problem with its path', () => {
    const issues = issuesOf(`${minimal}
people:
  alice: {}
schedules:
  board: { what: status, every: 2s, channel: { platform: telegram, id: -100 }, as: alice }
  nightly: { what: digest, cron: "0 8 * *", channel: { platform: discord, id: "1" }, as: bob }
  top9: { what: top, host: xen9, every: 5m, channel: { platform: terminal, id: t }, as: alice }
  both: { what: status, every: 5m, cron: "0 * * * *", channel: { platform: terminal, id: t }, as: alice }
`);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['schedules.board.every']).toBe('the interval must be from 5s to 7d');
    expect(byPath['schedules.nightly.cron']).toContain('a cron pattern has 5 fields');
    expect(byPath['schedules.nightly.as']).toBe('unknown person "bob" (people: alice)');
    expect(byPath['schedules.top9.host']).toBe('unknown host "xen9"');
    expect(byPath['schedules.both.every']).toBe('give exactly one of every (e.g. 5m) or cron (e.g. "0 8 * * *")');
  });

  it('names an unset variable and where it is used', () => {
    const issues = issuesOf(`${minimal}    port: \${NOPE}\n`);
    expect(issues).toContainEqual({ path: 'hosts.xen1.port', message: 'environment variable NOPE is not set' });
  });

  it('refuses a host without a pinned key unless the dev override is set', () => {
    const issues = issuesOf('hosts:\n  xen1: { address: a, privateKeyPath: /k }\n');
    expect(issues).toContainEqual(expect.objectContaining({ path: 'hosts.xen1.hostKey' }));
    const c = parseConfigText('hosts:\n  xen1: { address: a, privateKeyPath: /k, dangerouslyAcceptAnyHostKey: true }\n', 't', {});
    expect(c.hosts['xen1']?.dangerouslyAcceptAnyHostKey).toBe(true);
  });

  it('rejects one platform identity given to two people', () => {
    const issues = issuesOf(`${minimal}people:\n  a: { identities: { telegram: 5 } }\n  b: { identities: { telegram: "5" } }\n`);
    expect(issues).toContainEqual({ path: 'people.b.identities.telegram', message: "telegram:5 is already a's identity" });
  });

  it('reports YAML syntax errors with a line', () => {
    const issues = issuesOf('hosts: [\n');
    expect(issues[0]?.path).toMatch(/^line \d+$/);
  });

  it('returns a frozen object', () => {
    const c = parseConfigText(minimal, 't', {});
    expect(Object.isFrozen(c.hosts['xen1'])).toBe(true);
  });

  it('reads the path from XENOPS_CONFIG and says when the file is missing', () => {
    expect(resolveConfigPath(undefined, { XENOPS_CONFIG: '/etc/x.yaml' })).toBe('/etc/x.yaml');
    expect(resolveConfigPath('a.yaml', { XENOPS_CONFIG: '/etc/x.yaml' })).toBe('a.yaml');
    expect(() => loadConfig('/nonexistent/xenops.yaml', {})).toThrow(ConfigError);
  });

  it('says how to make a missing config file: copy the example', () => {
    // Run from xenops's directory; from elsewhere, see missing-config-hint.test.ts.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    expect(checkConfigFile('config/xenops.yaml', {}, root).issues).toEqual([
      { path: '', message: 'config/xenops.yaml not found — copy config/xenops.example.yaml to config/xenops.yaml and edit it' },
    ]);
    expect(checkConfigFile('/etc/xenops/site.yaml', {}, root).issues).toEqual([
      { path: '', message: '/etc/xenops/site.yaml not found — copy config/xenops.example.yaml to /etc/xenops/site.yaml and edit it' },
    ]);
  });
});

describe('every problem, once, in words', () => {
  it('reports a missing hostKey (and key) even when other fields of the host are wrong too', () => {
    const issues = issuesOf('hosts:\n  xen1:\n    address: a\n    port: twenty-two\n');
    expect(issues).toEqual([
      { path: 'hosts.xen1.port', message: 'expected a number, got "twenty-two"' },
      { path: 'hosts.xen1.privateKeyPath', message: 'give privateKeyPath or privateKey' },
      { path: 'hosts.xen1.hostKey', message: 'pin the host key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the Dom0)' },
    ]);
  });

  it('says each problem once', () => {
    expect(issuesOf('hosts:\n  xen1: { address: a, privateKeyPath: /k }\n')).toEqual([
      { path: 'hosts.xen1.hostKey', message: 'pin the host key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the Dom0)' },
    ]);
    // An unset variable used twice, in a field the schema then finds missing: said once, by its cause.
    expect(issuesOf(`hosts:\n  xen1: { address: "\${ADDR}\${ADDR}", privateKeyPath: /k, hostKey: ${FP} }\n`)).toEqual([
      { path: 'hosts.xen1.address', message: 'environment variable ADDR is not set' },
    ]);
    expect(issuesOf(`hosts:\n  xen1: { address: a, privateKeyPath: /k, hostKey: "\${HK}" }\n`)).toEqual([
      { path: 'hosts.xen1.hostKey', message: 'environment variable HK is not set' },
    ]);
  });

  it.each([
    ['hosts.xen1.port', 'expected a number, got "twenty-two"', '    port: twenty-two'],
    ['hosts.xen1.port', 'must be at most 65535, got 99999', '    port: 99999'],
    ['hosts.xen1.port', 'must be at least 1, got 0', '    port: 0'],
    ['hosts.xen1.shutdownTimeoutSeconds', 'expected a whole number, got 1.5', '    shutdownTimeoutSeconds: 1.5'],
    ['hosts.xen1.sudo', 'expected true or false, got "yes please"', '    sudo: yes please'],
    ['hosts.xen1.dangerouslyAcceptAnyHostKey', 'expected true or false, got 1', '    dangerouslyAcceptAnyHostKey: 1'],
    ['hosts.xen1.toolstack', 'expected one of auto, xl, xm, got "xend"', '    toolstack: xend'],
    ['hosts.xen1.configDirs', 'expected a list, got "/etc/xen"', '    configDirs: /etc/xen'],
    ['hosts.xen1.configDirs', 'must list at least 1 item', '    configDirs: []'],
    ['hosts.xen1.address', 'required', '    address: ""'],
    ['hosts.xen1.user', 'expected text, got 1000 (put it in quotes)', '    user: 1000'],
    // A secret is named by its kind, never quoted back.
    ['hosts.xen1.passphrase', 'expected text, got a number (put it in quotes)', '    passphrase: 83920174'],
    ['hosts.xen1.ssh', 'expected a mapping (key: value), got 5', '    ssh: 5'],
    ['hosts.xen1.port', 'expected a number, got an empty value', '    port:'],
    ['hosts.xen1.port', `expected a number, got "${'p'.repeat(40)}…"`, `    user: ${'u'.repeat(5000)}\n    port: ${'p'.repeat(5000)}`],
    [
      'hosts.xen1.hostKey',
      'must be a SHA256 fingerprint as `ssh-keygen -lf` prints it (SHA256:…, 43 base64 characters), got "MD5:aa"',
      '    hostKey: MD5:aa',
    ],
  ])('%s: %s', (path, message, line) => {
    const key = /^ +(\w+):/.exec(line)?.[1] ?? '';
    const text = minimal.replace(new RegExp(`^    ${key}: .*\n`, 'm'), '');
    expect(issuesOf(`${text}${line}\n`)).toEqual([{ path, message }]);
  });

  it('words a wrong section, permission rule, platform, URL and host name', () => {
    expect(
      issuesOf(
        `${minimal}roles:\n  ops:\n    allow: [5]\nchannels:\n  - { platform: irc, id: 1 }\ndiscord: { apiRoot: not-a-url }\npeople: 3\n`,
      ),
    ).toEqual([
      { path: 'people', message: 'expected a mapping (key: value), got 3' },
      { path: 'roles.ops.allow[0]', message: 'expected text or a mapping (key: value), got 5' },
      { path: 'channels[0].platform', message: 'expected one of terminal, discord, telegram, got "irc"' },
      { path: 'discord.apiRoot', message: 'expected a URL, got "not-a-url"' },
    ]);
    expect(issuesOf(`${minimal}  Bad_Host: { address: x, privateKeyPath: /k, hostKey: ${FP} }\n`)).toEqual([
      { path: 'hosts.Bad_Host', message: 'not a valid name: must be lower case: bad_host' },
    ]);
    expect(issuesOf('redis: {}\n')).toEqual([{ path: 'hosts', message: 'required' }]);
  });
});

describe('the shipped config files', () => {
  it('config/xenops.example.yaml documents a valid config', () => {
    const c = loadConfig('config/xenops.example.yaml', { DISCORD_TOKEN: 'x'.repeat(20), TELEGRAM_BOT_TOKEN: '1:abc' });
    expect(Object.keys(c.hosts)).toEqual(['xen1', 'xen2']);
    expect(c.roles['operator']?.deny[0]).toEqual({ permission: 'changes', hosts: ['*'], domains: ['gateway', 'fw-*'] });
  });

  it('config/demo.yaml is valid once the simulator has exported its ports and keys', () => {
    const fp = `SHA256:${'B'.repeat(43)}`;
    const c = loadConfig('config/demo.yaml', {
      XENOPS_SIM_XEN1_PORT: '2201',
      XENOPS_SIM_XEN2_PORT: '2202',
      XENOPS_SIM_XEN1_HOSTKEY: fp,
      XENOPS_SIM_XEN2_HOSTKEY: fp,
      XENOPS_SIM_CLIENT_KEY: '/tmp/k',
    });
    expect(c.hosts['xen2']?.port).toBe(2202);
    expect(c.people['carol']?.identities).toEqual({ terminal: 'carol', telegram: '1003', discord: '200000000000000003' });
    expect(c.discord?.token).toBeUndefined();
  });
});
