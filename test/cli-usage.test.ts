import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * What README "Running it for real" promises of the command line, run as an operator runs it: bad usage exits 2 (a
 * refused config or a failed run exits 1), `$XENOPS_CONFIG` or else config/xenops.yaml, and a simulator that says what
 * is wrong in one line.
 */
const BIN = join(import.meta.dirname, '..', 'bin', 'xenops.js');
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-cli-usage-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'xenops.yaml'), `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The environment without anything that would change what the CLI does (a config path, tokens). */
function run(args: string[], env: Record<string, string> = {}) {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(XENOPS_|DISCORD_|TELEGRAM_)/.test(k)) clean[k] = v;
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...clean, ...env }, timeout: 30_000 });
}

describe('bad usage exits 2', () => {
  it('sim --control-port that is not a port, as bot and agent --http-port do', () => {
    for (const port of ['abc', '70000', '-1']) {
      const r = run(['sim', '--state-dir', join(dir, 'sim'), '--control-port', port]);
      expect(r.status, `--control-port ${port}`).toBe(2);
      expect(r.stderr).toContain("error: option '--control-port <port>' argument");
      expect(r.stderr).toContain('Usage: xenops sim');
    }
  });

  it('bot with no chat adapter chosen, before it reads any config', () => {
    const r = run(['bot', '-c', join(dir, 'no-such.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('choose at least one adapter: --terminal, --discord, --telegram (or --available)');
    expect(r.stderr).toContain('Usage: xenops bot');
  });
});

describe('xenops sim with a fleet file it cannot use', () => {
  it('says why in one line and exits 1, with no stack trace', () => {
    const missing = join(dir, 'missing.yaml');
    const r = run(['sim', '-c', missing, '--state-dir', join(dir, 'sim')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`xenops sim: ${missing}: no such file\n`);
    const noFleet = run(['sim', '-c', 'config/xenops.yaml', '--state-dir', join(dir, 'sim')]);
    expect(noFleet.status).toBe(1);
    expect(noFleet.stderr).toBe('xenops sim: config/xenops.yaml: 1 problem\n  - simulator: no simulated fleet defined\n');
  });
});

describe('the config path', () => {
  it('is config/xenops.yaml when XENOPS_CONFIG is set but empty (as an empty env file line leaves it)', () => {
    const r = run(['check-config'], { XENOPS_CONFIG: '' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('config/xenops.yaml: OK — 1 host(s) (xen1), 0 people, 0 roles\n');
    expect(r.status).toBe(0);
  });
});
