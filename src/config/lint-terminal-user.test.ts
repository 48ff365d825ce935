import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintConfig } from './lint.ts';
import { checkConfigText, parseConfigText } from './load.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const KNOWN = { permissions: ['domain.list'], groups: { read: ['domain.list'] } };
const HOSTS = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`;
const TERMINAL_CHANNEL = 'channels:\n  - { platform: terminal, id: "*" }\n';

const findings = (yaml: string) =>
  lintConfig(parseConfigText(HOSTS + yaml, 'test', {}), KNOWN).filter((f) => f.path === 'terminal.defaultUser');

describe('terminal.defaultUser that is no person at the terminal', () => {
  it('is a warning naming the identity it was likely meant to be', () => {
    const yaml = `people:\n  alice: { identities: { terminal: alice } }\n  bob: { identities: { terminal: bob } }\n${TERMINAL_CHANNEL}terminal: { defaultUser: alicee }\n`;
    expect(findings(yaml)).toEqual([
      {
        path: 'terminal.defaultUser',
        message: `"alicee" is no person's terminal identity, so every line typed at the terminal is refused — did you mean "alice"?`,
        severity: 'warning',
      },
    ]);
  });

  it('is a warning for the default (operator) when nobody has a terminal identity but the terminal is let in', () => {
    expect(findings(TERMINAL_CHANNEL)).toEqual([
      {
        path: 'terminal.defaultUser',
        message: `"operator" is no person's terminal identity, so every line typed at the terminal is refused: give the person at the terminal identities: { terminal: "operator" }`,
        severity: 'warning',
      },
    ]);
  });

  it('lists the terminal identities when none is close', () => {
    const yaml = `people:\n  alice: { identities: { terminal: alice } }\n${TERMINAL_CHANNEL}terminal: { defaultUser: zed }\n`;
    expect(findings(yaml)[0]?.message).toBe(
      `"zed" is no person's terminal identity, so every line typed at the terminal is refused (terminal identities: alice)`,
    );
  });

  it('is found in a file the schema refused too', () => {
    const text = `${HOSTS}people:\n  alice: { identities: { terminal: alice } }\n${TERMINAL_CHANNEL}terminal: { defaultUser: alicee }\nbogus: 1\n`;
    const checked = checkConfigText(text, {});
    expect(checked.config).toBeNull();
    expect(lintConfig(checked.raw, KNOWN).map((f) => f.path)).toContain('terminal.defaultUser');
  });

  it('says nothing when the default user is someone, or the terminal is not let in at all', () => {
    expect(findings(`people:\n  op: { identities: { terminal: operator } }\n${TERMINAL_CHANNEL}`)).toEqual([]);
    // A chat-only config: nobody at a terminal, nothing to say.
    expect(findings('people:\n  alice: { identities: { telegram: 1001 } }\nchannels:\n  - { platform: telegram, id: "*" }\n')).toEqual([]);
  });

  it('is printed by check-config as a warning, exit 0', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenops-terminal-user-'));
    try {
      const path = join(dir, 'xenops.yaml');
      writeFileSync(
        path,
        `${HOSTS}people:\n  alice: { identities: { terminal: alice } }\n${TERMINAL_CHANNEL}terminal: { defaultUser: alicee }\n`,
      );
      const bin = join(import.meta.dirname, '..', '..', 'bin', 'xenops.js');
      const r = spawnSync(process.execPath, [bin, 'check-config', '-c', path], { encoding: 'utf8', timeout: 30_000 });
      expect(r.stderr).toBe(
        `${path}: 0 errors, 1 warning\n  warning  terminal.defaultUser: "alicee" is no person's terminal identity, so every line typed at the terminal is refused — did you mean "alice"?\n`,
      );
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
