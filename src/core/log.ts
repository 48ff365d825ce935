import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Secrets never reach logs: these paths are censored wherever they appear in a logged object.
 * Error messages are scrubbed separately (`redactSecrets`) because libraries put tokens in URLs.
 */
const REDACT = [
  'token',
  '*.token',
  'privateKey',
  '*.privateKey',
  'passphrase',
  '*.passphrase',
  'secretToken',
  '*.secretToken',
  'password',
  '*.password',
  'headers.authorization',
  '*.headers.authorization',
];

export function createLogger(level: string = process.env['XENOPS_LOG_LEVEL'] ?? 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { app: 'xenops' } };
  return destination ? pino(options, destination) : pino(options, pino.destination(2));
}

const knownSecrets = new Set<string>();

/** Registers a secret (bot token…) so `redactSecrets` removes it from any text. */
export function registerSecret(secret: string | undefined): void {
  if (secret && secret.length >= 6) knownSecrets.add(secret);
}

/** Removes registered secrets and anything shaped like a Telegram bot token or a URL password from text. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const s of knownSecrets) out = out.split(s).join('[redacted]');
  return out.replace(/\bbot\d{5,}:[A-Za-z0-9_-]{20,}/g, 'bot[redacted]').replace(/(\/\/[^/:@\s]*:)[^@\s/]+@/g, '$1[redacted]@');
}
