import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_CONFIG, type ProcessHarness as Harness, ProcessHarness } from './helpers/processes.ts';

/**
 * Chat tokens are taken out of the log and the audit trail though this bot starts no adapter that would register
 * them: a Telegram bot token by its shape (only the `bot<TOKEN>` of a request URL was recognised), a token given by
 * DISCORD_TOKEN / TELEGRAM_BOT_TOKEN as registered with the config's secrets (only its adapter registered it). One
 * pasted into a reason was kept in the audit for years and shown again by /audit.
 */
const TOKEN = '7123456789:AAHx9kQe-Jd8secretTelegramTokenVal0';
/** The team's Discord token, in the environment file bot and agent share, though this bot does not start Discord. */
const DISCORD = 'MTIwMDAwMDAwMDAwMDAwMDA5.GhIjKl.discord-env-only-secret-part-abcdefghij';

let harness: Harness | null = null;
let configDir: string | null = null;
afterEach(async () => {
  await harness?.stopAll();
  harness = null;
  if (configDir) rmSync(configDir, { recursive: true, force: true });
  configDir = null;
});

/** The demo config with no chat token in it: the tokens are only in the environment, as an operator may keep them. */
function configWithoutTokens(): string {
  configDir = mkdtempSync(join(tmpdir(), 'xenops-no-tokens-'));
  const text = readFileSync(DEMO_CONFIG, 'utf8');
  const without = text.replace(/^ {2}token: \$\{(DISCORD_TOKEN|TELEGRAM_BOT_TOKEN):-\}\n/gm, '');
  expect(without).not.toMatch(/token:/);
  const path = join(configDir, 'xenops.yaml');
  writeFileSync(path, without);
  return path;
}

describe('GIVEN a terminal bot, WHEN someone pastes a chat token it does not use into a reason', () => {
  it('THEN neither the audit file, nor the log, nor /audit keeps it', async () => {
    harness = new ProcessHarness({ configPath: configWithoutTokens() });
    await harness.startSim();
    const bot = await harness.startBot({ env: { DISCORD_TOKEN: DISCORD } });
    bot.write(`/freeze xen1 tokens are ${TOKEN} and ${DISCORD} oops`);
    await bot.waitForLine(/frozen/i, 30_000);
    const from = bot.lines.length;
    bot.write('/audit 5');
    await bot.waitForLine(/freeze/, 30_000, { from });
    await expect.poll(() => readFileSync(harness?.auditFile ?? '', 'utf8')).toContain('"command":"freeze"');
    const audit = readFileSync(harness.auditFile, 'utf8');
    expect(audit).toContain('[redacted]');
    const everything = [audit, bot.stdout.lines.slice(from).join('\n'), bot.log.lines.join('\n'), bot.stderr.lines.join('\n')].join('\n');
    // Before: the audit entry and /audit's answer held the token as typed.
    expect(everything).not.toContain(TOKEN);
    expect(everything).not.toContain(TOKEN.split(':')[1]);
    expect(everything).not.toContain(DISCORD.split('.')[2]);
  });
});
