import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './helpers/fixtures.ts';

const BIN = join(import.meta.dirname, '..', 'bin', 'xenops.js');
const run = (args: string[], input = '', env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, [BIN, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    cwd: join(import.meta.dirname, '..'),
  });

describe('the xenops command line', () => {
  it('parse list reads stdin and prints the JSON of issue #2', () => {
    const out = execFileSync(process.execPath, [BIN, 'parse', 'list'], {
      input: fixture('xl-list__uva-sne-xen-4.9.2.txt'),
      encoding: 'utf8',
    });
    expect(JSON.parse(out)).toEqual([
      { name: 'Domain-0', id: 0, memoryMiB: 15084, vcpus: 8, state: 'r-----', cpuSeconds: 633.6 },
      { name: 'guest-01', id: 4, memoryMiB: 1024, vcpus: 2, state: '-b----', cpuSeconds: 7.7 },
    ]);
  });

  it('parse exits 1 with a one-line reason for input of another format', () => {
    const r = run(['parse', 'top'], fixture('xl-info__ganeti-xen-4.0.1.txt'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('check-config lists every problem with its path and exits 1', () => {
    // The example's tokens are optional (`${DISCORD_TOKEN:-}`, so `bot --available` can skip a platform); a file that
    // requires them (`${VAR}` without a default) names each variable that is not set.
    const dir = mkdtempSync(join(tmpdir(), 'xenops-cli-'));
    const path = join(dir, 'tokens.yaml');
    writeFileSync(
      path,
      'hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s" }\n' +
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the config file's ${VAR} substitution, not a template
        'discord:\n  token: ${DISCORD_TOKEN}\ntelegram:\n  token: ${TELEGRAM_BOT_TOKEN}\n',
    );
    const r = run(['check-config', '--config', path], '', { DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('discord.token: environment variable DISCORD_TOKEN is not set');
    expect(r.stderr).toContain('telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set');
    const example = run(['check-config', '--config', 'config/xenops.example.yaml'], '', { DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' });
    expect(example.stderr).not.toContain('is not set');
  });

  it('check-config refuses the example file as it is: its host keys are placeholders', () => {
    const r = run(['check-config', '-c', 'config/xenops.example.yaml'], '', { DISCORD_TOKEN: 'd', TELEGRAM_BOT_TOKEN: 't' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      [
        'config/xenops.example.yaml: 2 errors, 0 warnings',
        `  error    hosts.xen1.hostKey: "SHA256:ReplaceMeWithTheHostsOwnFingerpri…" is a placeholder, not xen1's fingerprint: run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on xen1 and copy its SHA256:… field`,
        `  error    hosts.xen2.hostKey: "SHA256:ReplaceMeWithTheHostsOwnFingerpri…" is a placeholder, not xen2's fingerprint: run ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on xen2 and copy its SHA256:… field`,
        '',
      ].join('\n'),
    );
  });

  describe('check-config on a file of your own', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'xenops-cli-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
    const configFile = (name: string, extra: string, host = `hostKey: ${FP}`) => {
      const path = join(dir, name);
      writeFileSync(path, `hosts:\n  xen1:\n    address: 10.0.0.1\n    privateKeyPath: /k\n    ${host}\n${extra}`);
      return path;
    };

    it('exits 1 naming a misspelled permission in a deny rule', () => {
      const path = configFile('typo.yaml', 'roles:\n  ops:\n    allow: [operate]\n    deny: [domain.stopp]\n');
      const r = run(['check-config', '-c', path]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `${path}: 1 error, 0 warnings\n  error    roles.ops.deny[0]: unknown permission "domain.stopp" — did you mean "domain.stop"?\n`,
      );
    });

    it('lists schema problems and lint findings together', () => {
      const path = configFile('both.yaml', 'roles:\n  ops:\n    allow: [opperate]\n', 'port: twenty-two');
      const r = run(['check-config', '-c', path]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        [
          `${path}: 3 errors, 0 warnings`,
          '  error    hosts.xen1.port: expected a number, got "twenty-two"',
          '  error    hosts.xen1.hostKey: pin the host key (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the Dom0)',
          '  error    roles.ops.allow[0]: unknown permission "opperate" — did you mean "operate"?',
          '',
        ].join('\n'),
      );
    });

    it('passes a clean file with exit 0', () => {
      const path = configFile('clean.yaml', 'roles:\n  ops: { allow: [operate], deny: [{ permission: domain.stop, domains: [fw-*] }] }\n');
      const r = run(['check-config', '-c', path]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`${path}: OK — 1 host(s) (xen1), 0 people, 1 roles\n`);
      expect(r.status).toBe(0);
    });

    it('warns loudly about dangerouslyAcceptAnyHostKey, and fails on it with --strict', () => {
      const path = configFile('dev.yaml', '', 'dangerouslyAcceptAnyHostKey: true');
      const warning = `  warning  hosts.xen1.dangerouslyAcceptAnyHostKey: DANGER: xen1's host key is not checked — whoever can intercept the connection can pose as xen1 and receive every command; dev only, pin hostKey instead\n`;
      const r = run(['check-config', '-c', path]);
      expect(r.status).toBe(0);
      expect(r.stderr).toBe(`${path}: 0 errors, 1 warning\n${warning}`);
      expect(r.stdout).toBe(`${path}: OK — 1 host(s) (xen1), 0 people, 0 roles (1 warning)\n`);
      const strict = run(['check-config', '--strict', '-c', path]);
      expect(strict.status).toBe(1);
      expect(strict.stderr).toBe(`${path}: 0 errors, 1 warning\n${warning}--strict: warnings count as errors\n`);
      expect(strict.stdout).toBe('');
    });

    it('says how to start when the file does not exist', () => {
      const path = join(dir, 'missing.yaml');
      const r = run(['check-config', '-c', path]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        `${path}: 1 error, 0 warnings\n  error    ${path} not found — copy config/xenops.example.yaml to ${path} and edit it\n`,
      );
      const agent = run(['agent', '-c', path]);
      expect(agent.status).toBe(1);
      expect(agent.stderr).toBe(`${path} not found — copy config/xenops.example.yaml to ${path} and edit it\n`);
    });
  });

  it.each(['bot', 'agent', 'sim', 'demo', 'parse', 'check-config', 'register-commands'])('%s has --help', (sub) => {
    const r = run([sub, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: xenops ${sub}`));
  });
});
