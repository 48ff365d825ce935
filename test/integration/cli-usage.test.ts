import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Bad usage exits 2 with the reason and the usage, so a script tells it from a refused config or a failed run (1). */
const ROOT = join(import.meta.dirname, '..', '..');
const run = (args: string[]) =>
  // A command that should have been refused at once but went on (an agent waiting for Redis) is killed, not waited for.
  spawnSync(process.execPath, [join(ROOT, 'bin', 'xenops.js'), ...args], { input: '', encoding: 'utf8', cwd: ROOT, timeout: 30_000 });

describe('the xenops command line, used wrongly', () => {
  it.each([
    [['bogus'], "error: unknown command 'bogus'", 'Usage: xenops [options] [command]'],
    [['check-config', '--strcit'], "error: unknown option '--strcit'", 'Usage: xenops check-config [options]'],
    [['parse'], "error: missing required argument 'kind'", 'Usage: xenops parse [options] <kind>'],
    [['audit', 'verify', '--bogus'], "error: unknown option '--bogus'", 'Usage: xenops audit verify [options]'],
  ])('%j exits 2 with the reason first, then the usage', (args, reason, usage) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe(reason);
    expect(r.stderr).toContain(usage);
  });

  it('parse with an unknown kind exits 2 (not 1, which means "the input is not that format")', () => {
    const r = run(['parse', 'lsit']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain("'lsit' is invalid");
    expect(r.stderr).toContain('Usage: xenops parse');
  });

  it.each([
    ['xen1,', 'expected host names separated by commas, with no empty one'],
    ['xen1,xen1', 'xen1 is named twice'],
  ])('agent --hosts %s is refused before the config is read, exit 2', (hosts, reason) => {
    const r = run(['agent', '--hosts', hosts, '-c', '/nonexistent/xenops.yaml']);
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toContain(reason);
    expect(r.stderr).not.toContain('not found');
  });

  it('agent --hosts with a name every object has (constructor) is an unknown host, not taken as configured', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenops-cli-'));
    try {
      const config = join(dir, 'xenops.yaml');
      // Redis at a port nothing listens on: the agent must refuse the name before it gets that far.
      writeFileSync(
        config,
        'redis: { url: redis://127.0.0.1:1 }\nhosts:\n  xen1: { address: 127.0.0.1, user: root, privateKey: not-a-key, dangerouslyAcceptAnyHostKey: true }\n',
      );
      const r = run(['agent', '--hosts', 'constructor', '-c', config]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('xenops agent: unknown host(s): constructor');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help and --version still exit 0', () => {
    expect(run(['check-config', '--help']).status).toBe(0);
    const v = run(['--version']);
    expect(v.status).toBe(0);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
