import { describe, expect, it } from 'vitest';
import { ConfigError } from '../core/errors.ts';
import { loadConfig, parseConfigText, resolveConfigPath } from './load.ts';

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
    expect(() => loadConfig('/nonexistent/xenops.yaml', {})).toThrow(/cannot read the file: ENOENT/);
  });
});

describe('the shipped config files', () => {
  it('config/xenops.example.yaml documents a valid config', () => {
    const c = loadConfig('config/xenops.example.yaml', { DISCORD_TOKEN: 'x'.repeat(20), TELEGRAM_BOT_TOKEN: '1:abc' });
    expect(Object.keys(c.hosts)).toEqual(['xen1', 'xen2']);
    expect(c.roles['operator']?.deny[0]).toEqual({ permission: 'domain.stop', hosts: ['*'], domains: ['gateway', 'fw-*'] });
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
