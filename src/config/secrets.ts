import { registerSecret } from '../core/log.ts';
import type { Config } from './schema.ts';

/**
 * The config's secret values: each host's key passphrase and inline private key, the chat tokens and the Telegram
 * webhook's secret token. A secret-named field is censored in a log line by its name; these values are also taken out
 * of any text — an error's message, an audit detail — wherever they turn up. (A Redis URL's password is found by its
 * shape.)
 */
export function configSecrets(config: Config): string[] {
  const values = [
    ...Object.values(config.hosts).flatMap((h) => [h.passphrase, h.privateKey]),
    config.discord?.token,
    config.telegram?.token,
    config.telegram?.webhook?.secretToken,
  ];
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

/** Registers the config's secrets with the redaction every log line, reply detail and audit entry goes through. */
export function registerConfigSecrets(config: Config): void {
  for (const secret of configSecrets(config)) registerSecret(secret);
}
