import { registerSecret } from '../core/log.ts';
import type { Config } from './schema.ts';

/**
 * The config's secret values: each host's key passphrase and inline private key, the chat tokens, the Telegram
 * webhook's secret token and the Redis URLs' passwords. A secret-named field is censored in a log line by its name;
 * these values are also taken out of any text — an error's message, an audit detail — wherever they turn up. A chat
 * token the config leaves out comes from DISCORD_TOKEN or TELEGRAM_BOT_TOKEN, as the adapters take it: registered from
 * there too, whether or not this process starts that platform (a terminal bot, an agent sharing the bot's environment
 * file), so one pasted into a reason is not kept in the audit.
 */
export function configSecrets(config: Config, env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const values = [
    ...Object.values(config.hosts).flatMap((h) => [h.passphrase, h.privateKey]),
    config.discord?.token ?? env['DISCORD_TOKEN'],
    config.telegram?.token ?? env['TELEGRAM_BOT_TOKEN'],
    config.telegram?.webhook?.secretToken,
    ...[config.redis.url, ...config.redis.nodes].flatMap(redisPasswords),
  ];
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
}

/**
 * A Redis URL's password (userinfo or `?password=`), as written and as ioredis sends it (decoded). Found in a URL by
 * its shape anyway, but ioredis keeps the bare password in the error of a refused AUTH (`err.command.args`), which
 * every queued command is rejected with, and in its options.
 */
export function redisPasswords(url: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [];
  }
  const written = [parsed.password, parsed.searchParams.get('password') ?? ''].filter((p) => p !== '');
  return written.flatMap((p) => {
    try {
      return [p, decodeURIComponent(p)];
    } catch {
      return [p];
    }
  });
}

/** Registers the config's secrets with the redaction every log line, reply detail and audit entry goes through. */
export function registerConfigSecrets(config: Config): void {
  for (const secret of configSecrets(config)) registerSecret(secret);
}
