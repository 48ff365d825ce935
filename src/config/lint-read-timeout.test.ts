import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintConfig } from './lint.ts';
import { parseConfigText } from './load.ts';
import { configProblems } from './problems.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const KNOWN = { permissions: ['domain.list'], groups: { read: ['domain.list'] } };
const host = (name: string, extra = '') => `  ${name}: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}"${extra} }\n`;
const WHY = "a read of a hung host is answered 'no answer from its agent' before the agent can say the host did not answer";

/** The read-timeout finding of a config made of `yaml`, as the validated config (defaults filled in) is linted. */
const findings = (yaml: string) => lintConfig(parseConfigText(yaml, 'test', {}), KNOWN).filter((f) => f.path === 'bot.readTimeoutMs');

describe('bot.readTimeoutMs not longer than the agent’s SSH command timeout', () => {
  it('GIVEN the demo’s 20 s against the default 30 s THEN a warning naming both and the way forward', () => {
    expect(findings(`hosts:\n${host('xen1')}bot: { readTimeoutMs: 20000 }\n`)).toEqual([
      {
        path: 'bot.readTimeoutMs',
        message: `bot.readTimeoutMs (20 s) is not longer than ssh.commandTimeoutMs (30 s): ${WHY} — set it above 30 s`,
        severity: 'warning',
      },
    ]);
  });

  it('GIVEN equal timeouts THEN warned too (the bot gives up as the agent does)', () => {
    expect(findings(`hosts:\n${host('xen1')}ssh: { commandTimeoutMs: 45000 }\nbot: { readTimeoutMs: 45000 }\n`)).toHaveLength(1);
  });

  it('GIVEN one host whose own commandTimeoutMs is the longest THEN that host’s setting is named', () => {
    const yaml = `hosts:\n${host('xen1')}${host('xen2', ', ssh: { commandTimeoutMs: 90000 }')}bot: { readTimeoutMs: 60000 }\n`;
    expect(findings(yaml)).toEqual([
      {
        path: 'bot.readTimeoutMs',
        message: `bot.readTimeoutMs (60 s) is not longer than hosts.xen2.ssh.commandTimeoutMs (90 s): ${WHY} — set it above 90 s`,
        severity: 'warning',
      },
    ]);
  });

  it('GIVEN the defaults (60 s against 30 s), or a read timeout longer than every host’s THEN nothing', () => {
    expect(findings(`hosts:\n${host('xen1')}`)).toEqual([]);
    expect(findings(`hosts:\n${host('xen1', ', ssh: { commandTimeoutMs: 50000 }')}bot: { readTimeoutMs: 50001 }\n`)).toEqual([]);
  });

  it('GIVEN a raw document the schema refused (no defaults filled in) THEN the defaults are assumed', () => {
    const raw = { hosts: { xen1: { ssh: { commandTimeoutMs: 70_000 } } }, people: 'not a map' };
    expect(
      lintConfig(raw, KNOWN)
        .filter((f) => f.path === 'bot.readTimeoutMs')
        .map((f) => f.message),
    ).toEqual([`bot.readTimeoutMs (60 s) is not longer than hosts.xen1.ssh.commandTimeoutMs (70 s): ${WHY} — set it above 70 s`]);
  });

  it('config/demo.yaml gives the agent time to say a host hung before the bot gives up', () => {
    const env = {
      XENOPS_SIM_XEN1_PORT: '2201',
      XENOPS_SIM_XEN2_PORT: '2202',
      XENOPS_SIM_CLIENT_KEY: '/tmp/client_ed25519',
      XENOPS_SIM_XEN1_HOSTKEY: FP,
      XENOPS_SIM_XEN2_HOSTKEY: FP.replace('uNi', 'vNi'),
    };
    const demo = join(import.meta.dirname, '..', '..', 'config', 'demo.yaml');
    expect(configProblems(demo, env).problems.filter((p) => p.path === 'bot.readTimeoutMs')).toEqual([]);
  });
});
