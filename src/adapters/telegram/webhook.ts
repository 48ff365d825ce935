import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.ts';
import { type Logger, redactSecrets } from '../../core/log.ts';

export type WebhookSettings = NonNullable<NonNullable<Config['telegram']>['webhook']>;

/** The URL Telegram posts updates to: always https (a TLS-terminating proxy sits in front of our plain server). */
export function webhookUrl(settings: WebhookSettings): string {
  const host = /^https?:\/\//.test(settings.domain) ? new URL(settings.domain).host : settings.domain;
  return `https://${host}${settings.path}`;
}

/**
 * The webhook's HTTP server, listening: rejects when it cannot listen (the port is taken), where telegraf's launch()
 * left the error unhandled and the process died of it.
 */
export async function listenWebhook(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
  settings: WebhookSettings,
  logger: Logger,
): Promise<Server> {
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: redactSecrets(String(error)) }, 'telegram webhook server error'));
  return server;
}

/** Stops taking updates: no new connection, idle keep-alive ones closed, an update being handled finished first. */
export async function closeWebhook(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  await closed;
}
