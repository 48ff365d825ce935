import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.ts';
import { type Logger, redactSecrets } from '../../core/log.ts';

export type WebhookSettings = NonNullable<NonNullable<Config['telegram']>['webhook']>;

/** The URL Telegram posts updates to: always https (a TLS-terminating proxy sits in front of our plain server). */
export function webhookUrl(settings: WebhookSettings): string {
  // A trailing slash kept would make the path `//telegram`, which a proxy passes on as is and the listener refuses.
  const host = /^https?:\/\//.test(settings.domain) ? new URL(settings.domain).host : settings.domain.replace(/\/+$/, '');
  return `https://${host}${settings.path}`;
}

/**
 * The webhook's HTTP server, listening: rejects when it cannot listen (the port is taken), where telegraf's launch()
 * left the error unhandled and the process died of it. `signal`: the start it belongs to; given up while the server
 * binds (a stop then finds no server to close), the server is closed here, so none is left taking updates.
 */
export async function listenWebhook(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
  settings: WebhookSettings,
  logger: Logger,
  signal?: AbortSignal,
): Promise<Server> {
  const server = createServer((req, res) => {
    // telegraf throws before its own error handling for a body that parses but is no object (JSON null): the
    // request would stay unanswered, the rejection unhandled, and the server's close() would wait for it.
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((error: unknown) => {
        logger.warn({ err: redactSecrets(String(error)) }, 'telegram webhook request refused: not an update');
        if (!res.headersSent) res.writeHead(400);
        res.end();
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => logger.error({ err: redactSecrets(String(error)) }, 'telegram webhook server error'));
  if (signal?.aborted) {
    await closeWebhook(server);
    throw new Error('telegram stopped while its webhook server was starting');
  }
  return server;
}

/**
 * How long an update being handled may take to be answered once the server closes: handlers answer at once, so this
 * is only for one already under way; the rest of a stop still has to fit in SIGTERM's 5 s.
 */
export const WEBHOOK_CLOSE_GRACE_MS = 1_000;

/**
 * Stops taking updates: no new connection, idle keep-alive ones closed, an update being handled finished first. A
 * connection still open after the grace is cut: close() alone waits for a client that never finishes its request
 * (Node stops enforcing headersTimeout once the server closes), and a stop that never ends keeps this bot from
 * leading again (start() waits for it) and the lease from being handed over on SIGTERM.
 */
export async function closeWebhook(server: Server, graceMs = WEBHOOK_CLOSE_GRACE_MS): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(cut);
}
