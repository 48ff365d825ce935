import { describe, expect, it } from 'vitest';
import { redactSecrets } from '../core/log.ts';
import { Config } from './schema.ts';
import { configSecrets, registerConfigSecrets } from './secrets.ts';

/**
 * A chat token given only by the environment (no `discord`/`telegram` section, or one without `token`) is a secret of
 * the config as much as one written there: the adapters read DISCORD_TOKEN / TELEGRAM_BOT_TOKEN when the config has none.
 */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const DISCORD = 'MTIwMDAwMDAwMDAwMDAwMDA5.GhIjKl.discord-env-only-secret-part-abcdefghij';
const TELEGRAM = '424242:telegram-env-only-token';

describe('GIVEN chat tokens only in the environment', () => {
  const config = Config.parse({ hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: FP } } });
  const env = { DISCORD_TOKEN: DISCORD, TELEGRAM_BOT_TOKEN: TELEGRAM };

  it('THEN they are among the secrets of the config', () => {
    // Before: [] — only a token written in the config counted.
    expect(configSecrets(config, env).sort()).toEqual([DISCORD, TELEGRAM].sort());
  });

  it('THEN registered with the config, they are taken out of any text, without their platform being started', () => {
    const saved = { d: process.env['DISCORD_TOKEN'], t: process.env['TELEGRAM_BOT_TOKEN'] };
    process.env['DISCORD_TOKEN'] = DISCORD;
    process.env['TELEGRAM_BOT_TOKEN'] = TELEGRAM;
    try {
      registerConfigSecrets(config);
    } finally {
      for (const [k, v] of [
        ['DISCORD_TOKEN', saved.d],
        ['TELEGRAM_BOT_TOKEN', saved.t],
      ] as const)
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
    expect(redactSecrets(`reason: oops ${DISCORD} and ${TELEGRAM}`)).toBe('reason: oops [redacted] and [redacted]');
  });

  it('THEN a token the config writes is the one registered (the environment does not replace it)', () => {
    const written = Config.parse({ ...config, discord: { token: 'config-written-token' } });
    expect(configSecrets(written, env)).toContain('config-written-token');
    expect(configSecrets(written, env)).not.toContain(DISCORD);
  });
});
