import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';
import { configSecrets } from './secrets.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

/** Hosts sharing their login settings through an anchor and YAML merge keys (`<<: *defaults`). */
describe('YAML merge keys in the config', () => {
  const shared = `x-dom0: &dom0
  user: xenops
  port: 2222
  privateKeyPath: /etc/xenops/id_ed25519
  passphrase: \${KEY_PASSPHRASE}
  sudo: true
hosts:
  xen1:
    <<: *dom0
    address: 10.0.0.1
    hostKey: "${FP}"
  xen2:
    address: 10.0.0.2
    <<: *dom0
    port: 22
    hostKey: "${FP}"
`;

  it('fill each host from the anchored block; a key the host writes itself wins, before or after the <<', () => {
    const checked = checkConfigText(shared, { KEY_PASSPHRASE: 'merged-key-passphrase' });
    expect(checked.issues).toEqual([]);
    const pick = (h: string) => {
      const c = checked.config?.hosts[h];
      return c && { user: c.user, port: c.port, key: c.privateKeyPath, sudo: c.sudo, address: c.address };
    };
    expect(pick('xen1')).toEqual({ user: 'xenops', port: 2222, key: '/etc/xenops/id_ed25519', sudo: true, address: '10.0.0.1' });
    expect(pick('xen2')).toEqual({ user: 'xenops', port: 22, key: '/etc/xenops/id_ed25519', sudo: true, address: '10.0.0.2' });
    // The anchor's home, an `x-` key at the top, is not a setting.
    expect(Object.keys(checked.config ?? {})).not.toContain('x-dom0');
  });

  it('register a passphrase a host got through a merge for redaction', () => {
    const checked = checkConfigText(shared, { KEY_PASSPHRASE: 'merged-key-passphrase' });
    expect(configSecrets(checked.config as NonNullable<typeof checked.config>, {})).toContain('merged-key-passphrase');
  });

  it('take a list of sources (the earlier wins) and an anchor on another host', () => {
    const text = `hosts:
  xen1: &first
    address: 10.0.0.1
    privateKeyPath: /k1
    hostKey: "${FP}"
  xen2:
    <<: [{ user: admin, port: 2200 }, *first]
    address: 10.0.0.2
`;
    const checked = checkConfigText(text, {});
    expect(checked.issues).toEqual([]);
    const xen2 = checked.config?.hosts['xen2'];
    expect([xen2?.address, xen2?.user, xen2?.port, xen2?.privateKeyPath, xen2?.hostKey]).toEqual(['10.0.0.2', 'admin', 2200, '/k1', FP]);
  });

  it.each([
    ['a number', '<<: 5', 'hosts.xen2.<<', 'got a number'],
    ['an alias of a list', '<<: *list', 'hosts.xen2.<<', 'got an alias of a list'],
    ['a list holding text', '<<: [*dom0, oops]', 'hosts.xen2.<<[1]', 'got text'],
  ])('refuse %s as a source, with its path, among the other problems', (_what, merge, path, got) => {
    const text = `x-list: &list [a, b]
x-dom0: &dom0 { privateKeyPath: /k }
hosts:
  xen1: { <<: *dom0, address: 10.0.0.1, hostKey: "${FP}", port: 0 }
  xen2:
    ${merge}
    address: 10.0.0.2
    hostKey: "${FP}"
`;
    const checked = checkConfigText(text, {});
    expect(checked.config).toBeNull();
    expect(checked.issues).toContainEqual({
      path,
      message: `a merge (<<) takes a mapping, an alias of one (*name) or a list of them; ${got}`,
    });
    // Every problem of the file is still listed, not only the first.
    expect(checked.issues.map((i) => i.path)).toContain('hosts.xen1.port');
  });

  it('never echo a secret a wrong source holds', () => {
    const text = `x-pass: &pass correct-horse-battery
hosts:
  xen1: { <<: *pass, address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }
`;
    const checked = checkConfigText(text, {});
    expect(JSON.stringify(checked.issues)).not.toContain('correct-horse');
    expect(checked.issues).toContainEqual({
      path: 'hosts.xen1.<<',
      message: 'a merge (<<) takes a mapping, an alias of one (*name) or a list of them; got an alias of text',
    });
  });

  it('lend no field through a __proto__ key in the source', () => {
    const text = `x-evil: &evil
  __proto__: { address: 10.9.9.9, privateKeyPath: /k, dangerouslyAcceptAnyHostKey: true }
hosts:
  xen1:
    <<: *evil
`;
    expect(checkConfigText(text, {}).issues).toEqual([
      { path: 'hosts.xen1.__proto__', message: 'not a valid name: __proto__ is reserved' },
      { path: 'hosts.xen1.address', message: 'required' },
      { path: 'hosts.xen1.privateKeyPath', message: 'give privateKeyPath or privateKey' },
      { path: 'hosts.xen1.hostKey', message: 'pin the host key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the Dom0)' },
    ]);
  });

  it('a quoted "<<" is an ordinary key, as YAML has it', () => {
    const text = `x-d: &d { privateKeyPath: /k }\nhosts:\n  xen1: { "<<": *d, address: 10.0.0.1, hostKey: "${FP}" }\n`;
    expect(checkConfigText(text, {}).issues).toContainEqual({ path: 'hosts.xen1.<<', message: 'unknown key' });
  });

  it('an `x-` key is kept to the top level: one in a section is still unknown', () => {
    const text = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\nredis:\n  x-note: hi\n`;
    expect(checkConfigText(text, {}).issues).toEqual([{ path: 'redis.x-note', message: 'unknown key' }]);
  });
});
