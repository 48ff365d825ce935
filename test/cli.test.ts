import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
    const r = run(['check-config', '--config', 'config/xenops.example.yaml'], '', { DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('discord.token: environment variable DISCORD_TOKEN is not set');
    expect(r.stderr).toContain('telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set');
    const ok = run(['check-config', '-c', 'config/xenops.example.yaml'], '', { DISCORD_TOKEN: 'd', TELEGRAM_BOT_TOKEN: 't' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('OK — 2 host(s)');
  });

  it.each(['bot', 'agent', 'sim', 'demo', 'parse', 'check-config', 'register-commands'])('%s has --help', (sub) => {
    const r = run([sub, '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: xenops ${sub}`));
  });
});
