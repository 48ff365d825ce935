import { describe, expect, it } from 'vitest';
import { redactSecrets, registerSecret } from '../core/log.ts';
import { Config } from './schema.ts';
import { configSecrets, registerConfigSecrets } from './secrets.ts';

const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';

describe("the config's secret values", () => {
  const config = Config.parse({
    hosts: {
      xen1: { address: '10.0.0.1', privateKeyPath: '/k', passphrase: 'correct-horse-passphrase', hostKey: FP },
      xen2: { address: '10.0.0.2', privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END', hostKey: FP },
    },
    telegram: {
      token: '123456:AAE-telegram-bot-token',
      mode: 'webhook',
      webhook: { domain: 'bot.example.org', secretToken: 'webhook_secret_42' },
    },
    discord: { token: 'discord.bot.token-value' },
  });

  it('are each host key passphrase and inline key, the chat tokens and the webhook secret', () => {
    expect(configSecrets(config).sort()).toEqual(
      [
        'correct-horse-passphrase',
        '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END',
        '123456:AAE-telegram-bot-token',
        'webhook_secret_42',
        'discord.bot.token-value',
      ].sort(),
    );
  });

  it('are taken out of any text once registered (an error quoting a passphrase, a webhook secret in a URL)', () => {
    const text = 'xen1: key not decrypted with correct-horse-passphrase; POST /telegram?s=webhook_secret_42';
    // Before: only the chat tokens were registered (by their adapters); a passphrase in a message went out as it was.
    expect(redactSecrets(text)).toContain('correct-horse-passphrase');
    registerConfigSecrets(config);
    expect(redactSecrets(text)).toBe('xen1: key not decrypted with [redacted]; POST /telegram?s=[redacted]');
  });

  it('are taken out whole when one holds another, whatever order they were registered in', () => {
    registerSecret('inner-secret-1');
    registerSecret('outer-inner-secret-1-tail');
    // Before: the shorter one, registered first, was cut out first, and the rest of the longer one stayed visible.
    expect(redactSecrets('key outer-inner-secret-1-tail')).toBe('key [redacted]');
  });
});
