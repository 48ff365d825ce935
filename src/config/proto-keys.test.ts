import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const HOST = `xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }`;

/** YAML keeps a `__proto__` key as a key; xenops must not take it as JavaScript's prototype. */
describe('a __proto__ key in the config', () => {
  it.each([
    ['people', `hosts:\n  ${HOST}\npeople:\n  __proto__: { identities: { terminal: alice } }\n`, 'people.__proto__'],
    ['roles', `hosts:\n  ${HOST}\nroles:\n  __proto__: { allow: [read] }\n`, 'roles.__proto__'],
    ['hosts', `hosts:\n  ${HOST}\n  __proto__: { address: 10.0.0.2, privateKeyPath: /k, hostKey: "${FP}" }\n`, 'hosts.__proto__'],
    ['commands', `hosts:\n  ${HOST}\ncommands:\n  __proto__: { disabled: true }\n`, 'commands.__proto__'],
  ])('under %s is refused as not a valid name, not dropped', (_section, text, path) => {
    const checked = checkConfigText(text, {});
    expect(checked.config).toBeNull();
    expect(checked.issues).toEqual([{ path, message: 'not a valid name: __proto__ is reserved' }]);
  });

  it('under a host lends it no field: the fields it held are missing, as written', () => {
    const text = 'hosts:\n  xen1:\n    __proto__: { address: 10.9.9.9, privateKeyPath: /k, dangerouslyAcceptAnyHostKey: true }\n';
    expect(checkConfigText(text, {}).issues).toEqual([
      { path: 'hosts.xen1.__proto__', message: 'not a valid name: __proto__ is reserved' },
      { path: 'hosts.xen1.address', message: 'required' },
      { path: 'hosts.xen1.privateKeyPath', message: 'give privateKeyPath or privateKey' },
      { path: 'hosts.xen1.hostKey', message: 'pin the host key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the Dom0)' },
    ]);
  });

  it('a name that is only a property of every object (constructor) is still an ordinary name', () => {
    const checked = checkConfigText(`hosts:\n  ${HOST}\nroles:\n  constructor: { allow: [read] }\n`, {});
    expect(checked.issues).toEqual([]);
    expect(Object.keys(checked.config?.roles ?? {})).toEqual(['constructor']);
  });
});
