import { registerSecret } from '../core/log.ts';
import type { Config } from './schema.ts';

/**
 * The config's secret values: each host's key passphrase and inline private key, the chat tokens and the Telegram
 * webhook's secret token. A secret-named field is censored in a log line by its name; these values are also taken out
 * of any text — an error's message, an audit detail — wherever they turn up. (A Redis URL's password is found by its
 * shape.) A chat token the config leaves out comes from DISCORD_TOKEN or TELEGRAM_BOT_TOKEN, as the adapters take it:
 * registered from there too, whether or not this process starts that platform (a terminal bot, an agent sharing the
 * bot's environment file), so one pasted into a reason is not kept in the audit.
 */
export function configSecrets(config: Config, env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const values = [
    ...Object.values(config.hosts).flatMap((h) => [h.passphrase, h.privateKey]),
    config.discord?.token ?? env['DISCORD_TOKEN'],
    config.telegram?.token ?? env['TELEGRAM_BOT_TOKEN'],
    config.telegram?.webhook?.secretToken,
  ];
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

/** Registers the config's secrets with the redaction every log line, reply detail and audit entry goes through. */
export function registerConfigSecrets(config: Config): void {
  for (const secret of configSecrets(config)) registerSecret(secret);
}
