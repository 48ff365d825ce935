import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

/** A value of the wrong type is one problem, not also a length the value was never meant to have. */
describe('a value of the wrong type where text of some length is wanted', () => {
  it.each([
    ['address: []', 'hosts.xen1.address', 'expected text, got a list'],
    ['address: 10.0.0.1, user: []', 'hosts.xen1.user', 'expected text, got a list'],
    ['address: 10.0.0.1, user: [a, b]', 'hosts.xen1.user', 'expected text, got a list'],
  ])('%s gets one message', (fields, path, message) => {
    const checked = checkConfigText(`hosts:\n  xen1: { ${fields}, privateKeyPath: /k, hostKey: "${FP}" }\n`, {});
    expect(checked.issues).toEqual([{ path, message }]);
  });

  it('under a mapping it is nested in (a person’s terminal identity)', () => {
    const text = `hosts:\n  xen1: { address: a, privateKeyPath: /k, hostKey: "${FP}" }\npeople:\n  al: { identities: { terminal: [] } }\n`;
    expect(checkConfigText(text, {}).issues).toEqual([{ path: 'people.al.identities.terminal', message: 'expected text, got a list' }]);
  });

  it('in a union (a role’s rule: text or a mapping), the same as for a list that is not empty', () => {
    const text = `hosts:\n  xen1: { address: a, privateKeyPath: /k, hostKey: "${FP}" }\nroles:\n  ops: { allow: [[]], deny: [[x]] }\n`;
    expect(checkConfigText(text, {}).issues).toEqual([
      { path: 'roles.ops.allow[0]', message: 'expected text or a mapping (key: value), got a list' },
      { path: 'roles.ops.deny[0]', message: 'expected text or a mapping (key: value), got a list' },
    ]);
  });

  it('a list of the right type that is too short is still said to be', () => {
    const checked = checkConfigText(`hosts:\n  xen1: { address: a, configDirs: [], privateKeyPath: /k, hostKey: "${FP}" }\n`, {});
    expect(checked.issues).toEqual([{ path: 'hosts.xen1.configDirs', message: 'must list at least 1 item' }]);
  });
});
