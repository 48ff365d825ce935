import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** `-c PATH` as an operator gets it wrong: an empty path (an unset `$CONF`), a directory. */
const BIN = join(import.meta.dirname, '..', 'bin', 'xenops.js');
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'xenops-cli-config-path-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config', 'xenops.yaml'), `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[]) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(XENOPS_|DISCORD_|TELEGRAM_)/.test(k)) env[k] = v;
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: dir, env, timeout: 30_000 });
}

describe('an empty config path', () => {
  it('is bad usage (exit 2), not the working directory read as a file', () => {
    for (const args of [
      ['check-config', '-c', ''],
      ['check-config', '--config='],
      ['sim', '-c', '', '--state-dir', join(dir, 'sim')],
    ]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(
        "error: option '-c, --config <path>' argument '' is invalid. expected the path of a config file, got an empty one",
      );
      expect(r.stderr).not.toContain('EISDIR');
    }
  });
});

describe('a config path that is a directory', () => {
  it('says so in words, with exit 1', () => {
    const r = run(['check-config', '-c', 'config']);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(
      'config: 1 error, 0 warnings\n  error    cannot read the file: it is a directory (give the path of the YAML file in it)\n',
    );
  });
});
