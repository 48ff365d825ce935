import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ExitInfo, type ProcessHandle, ProcessHarness } from './helpers/processes.ts';
import { freePort } from './helpers/redis-server.ts';

/**
 * The bot and the agent check their config as `xenops check-config` does before they start: a misspelled permission in
 * a deny rule denies nothing, so a bot that started on it granted what the operator meant to deny, and said nothing.
 */
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'xenops.js');
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(XENOPS_|DISCORD_|TELEGRAM_)/.test(k)) env[k] = v;
  return { ...env, XENOPS_LOG_LEVEL: 'info', ...extra };
}

function writeConfig(h: ProcessHarness, redisUrl: string, extra: readonly string[]): string {
  const path = join(h.runDir, 'xenops.yaml');
  writeFileSync(
    path,
    [
      'redis:',
      `  url: ${redisUrl}`,
      `  prefix: "${h.prefix}"`,
      'hosts:',
      `  xen1: { address: 127.0.0.1, port: 1, privateKeyPath: no-such-key, hostKey: "${FP}" }`,
      'audit: { file: var/audit.jsonl }',
      ...extra,
      '',
    ].join('\n'),
  );
  return path;
}

/** Its exit, or null if it is still running after a while (it went on to start, and waits for what it connects to). */
const exitOf = (p: ProcessHandle): Promise<ExitInfo | null> =>
  Promise.race([p.exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), 20_000))]);

let harness: ProcessHarness | null = null;
afterEach(async () => {
  await harness?.stopAll();
  harness = null;
});

describe('a config check-config refuses', () => {
  it('stops the bot and the agent before they connect to anything, listing every problem as check-config does', async () => {
    harness = new ProcessHarness();
    // Nothing listens on either: whatever a process tried to reach first would be said in its log, on stderr.
    const [redisPort, discordPort] = [await freePort(), await freePort()];
    const path = writeConfig(harness, `redis://127.0.0.1:${redisPort}`, [
      'roles:',
      '  ops: { allow: ["*"], deny: [domain.migrat] }',
      'people:',
      '  alice: { roles: [ops], identities: { telegram: abc } }',
    ]);
    const expected = [
      `${path}: 2 errors, 0 warnings`,
      '  error    roles.ops.deny[0]: unknown permission "domain.migrat" — did you mean "domain.migrate"?',
      '  error    people.alice.identities.telegram: "abc" is no Telegram user id (a whole number, such as 123456789): alice can never be recognised on Telegram',
      '',
    ].join('\n');
    const checked = spawnSync(process.execPath, [BIN, 'check-config', '-c', path], { encoding: 'utf8', env: cleanEnv() });
    expect(checked.stderr).toBe(expected);

    const env = cleanEnv({
      DISCORD_TOKEN: 'MTAwMDAwMDAwMDAwMDAwMDQy.start.fails',
      DISCORD_API_ROOT: `http://127.0.0.1:${discordPort}/api`,
    });
    const bot = harness.spawn('bot', ['bot', '--discord', '-c', path], env);
    const agent = harness.spawn('agent', ['agent', '-c', path], env);
    expect(await exitOf(bot)).toEqual({ code: 1, signal: null });
    expect(await exitOf(agent)).toEqual({ code: 1, signal: null });
    for (const p of [bot, agent]) {
      // Lines as they came: the text's last newline ends its last line.
      expect(`${p.stderr.lines.join('\n')}\n`, p.name).toBe(expected);
      expect(p.stdout.lines, p.name).toEqual([]);
    }
  });
});

describe('a config with warnings only', () => {
  it('starts the bot and the agent, each logging each warning once, with its path', async () => {
    harness = new ProcessHarness();
    const path = writeConfig(harness, harness.redisUrl, ['roles:', '  ops: { allow: [{ permission: read, hosts: ["prod-*"] }] }']);
    const warned = (p: ProcessHandle) => p.stderr.lines.filter((l) => l.includes('matches no host'));
    const bot = harness.spawn('bot', ['bot', '--available', '--discord', '-c', path], cleanEnv());
    const agent = harness.spawn('agent', ['agent', '-c', path], cleanEnv());
    await bot.waitForLine(/"msg":"bot started"/, 30_000, { stream: 'stderr' });
    await agent.waitForLine(/"msg":"agent started"/, 30_000, { stream: 'stderr' });
    for (const p of [bot, agent]) {
      const lines = warned(p);
      expect(lines, p.name).toHaveLength(1);
      expect(JSON.parse(lines[0] as string), p.name).toMatchObject({
        level: 40,
        config: path,
        path: 'roles.ops.allow[0].hosts[0]',
        msg: 'roles.ops.allow[0].hosts[0]: the glob "prod-*" matches no host (hosts: xen1)',
      });
      p.kill('SIGTERM');
      expect(await p.exited, p.name).toEqual({ code: 0, signal: null });
    }
  });
});
