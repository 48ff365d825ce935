import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logLevelOf } from './main.ts';

const LEVELS = 'fatal, error, warn, info, debug, trace, silent';

/** XENOPS_LOG_LEVEL that names no level: said, once, and the process goes on at the config's level. */
describe('XENOPS_LOG_LEVEL that is no level', () => {
  it('is said once, naming the levels and the one used', () => {
    const said: string[] = [];
    const say = (line: string) => void said.push(line);
    expect(logLevelOf({ logLevel: 'info' }, { XENOPS_LOG_LEVEL: 'verbose' }, say)).toBe('info');
    expect(logLevelOf({ logLevel: 'info' }, { XENOPS_LOG_LEVEL: 'verbose' }, say)).toBe('info');
    expect(said).toEqual([`xenops: XENOPS_LOG_LEVEL="verbose" is not a log level (${LEVELS}): logging at info\n`]);
  });

  it('says nothing for a level (any case), an empty value or none', () => {
    const said: string[] = [];
    const say = (line: string) => void said.push(line);
    expect(logLevelOf({ logLevel: 'info' }, { XENOPS_LOG_LEVEL: ' DEBUG ' }, say)).toBe('debug');
    expect(logLevelOf({ logLevel: 'warn' }, { XENOPS_LOG_LEVEL: '' }, say)).toBe('warn');
    expect(logLevelOf({ logLevel: 'warn' }, {}, say)).toBe('warn');
    expect(said).toEqual([]);
  });

  it('reaches stderr of a command that logs, which goes on (register-commands: to its own refusal)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xenops-log-level-'));
    try {
      const config = join(dir, 'xenops.yaml');
      writeFileSync(config, 'hosts:\n  xen1: { address: 127.0.0.1, privateKey: not-a-key, dangerouslyAcceptAnyHostKey: true }\n');
      const env: NodeJS.ProcessEnv = {};
      for (const [k, v] of Object.entries(process.env)) if (!/^(XENOPS_|DISCORD_|TELEGRAM_)/.test(k)) env[k] = v;
      const r = spawnSync(
        process.execPath,
        [join(import.meta.dirname, '..', '..', 'bin', 'xenops.js'), 'register-commands', '-c', config],
        {
          encoding: 'utf8',
          env: { ...env, XENOPS_LOG_LEVEL: 'verbose' },
          timeout: 30_000,
        },
      );
      expect(r.stderr).toBe(
        `xenops: XENOPS_LOG_LEVEL="verbose" is not a log level (${LEVELS}): logging at info\n` +
          'xenops register-commands: Discord needs a token: discord.token in the config or DISCORD_TOKEN\n',
      );
      expect(r.status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
