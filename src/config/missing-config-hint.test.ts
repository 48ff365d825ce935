import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkConfigFile } from './load.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = join(ROOT, 'config', 'xenops.example.yaml');

/** The example a missing config file points to, named so that `cp` finds it from where the user is. */
describe('the hint for a missing config file', () => {
  it('names the example by a path that exists from a directory outside xenops', () => {
    const [issue] = checkConfigFile('config/xenops.yaml', {}, '/nonexistent-dir').issues;
    expect(issue?.message).toBe(`config/xenops.yaml not found — copy ${EXAMPLE} to config/xenops.yaml and edit it`);
    expect(readFileSync(EXAMPLE, 'utf8')).toContain('hosts:');
  });

  it('keeps the short path when run from xenops’s directory or above it', () => {
    expect(checkConfigFile('x.yaml', {}, ROOT).issues[0]?.message).toBe(
      'x.yaml not found — copy config/xenops.example.yaml to x.yaml and edit it',
    );
    expect(checkConfigFile('x.yaml', {}, join(ROOT, '..')).issues[0]?.message).toContain(
      `copy ${join(basename(ROOT), 'config', 'xenops.example.yaml')} to`,
    );
  });

  it('is a command that works when pasted in the directory xenops was run from', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenops-missing-config-'));
    try {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'xenops.js'), 'check-config', '-c', 'site.yaml'], {
        encoding: 'utf8',
        cwd: dir,
        timeout: 30_000,
      });
      expect(r.status).toBe(1);
      const from = /copy (\S+) to site\.yaml/.exec(r.stderr)?.[1] ?? '';
      expect(existsSync(resolve(dir, from))).toBe(true);
      expect(from).toBe(EXAMPLE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
