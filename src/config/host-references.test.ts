import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

/** Hosts named by other sections must be hosts of the config, whatever their name. */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const base = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\npeople:\n  alice: {}\n`;

describe('a host name that every JavaScript object has as a property', () => {
  it('is unknown in agent.hosts and in a schedule (it passed for configured, and the agent served a host that is not)', () => {
    const r = checkConfigText(
      `${base}agent:\n  hosts: [constructor]\nschedules:\n  a: { what: top, host: constructor, every: 5m, channel: { platform: terminal, id: t }, as: alice }\n`,
      {},
    );
    expect(r.config).toBeNull();
    expect(r.issues).toEqual([
      { path: 'schedules.a.host', message: 'unknown host "constructor"' },
      { path: 'agent.hosts[0]', message: 'unknown host "constructor"' },
    ]);
  });

  it('is fine when it is configured', () => {
    const r = checkConfigText(
      `${base.replace('people:', `  constructor: { address: 10.0.0.2, privateKeyPath: /k, hostKey: "${FP}" }\npeople:`)}agent:\n  hosts: [constructor]\n`,
      {},
    );
    expect(r.issues).toEqual([]);
  });
});
