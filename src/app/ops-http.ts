import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { type Logger, redactSecrets } from '../core/log.ts';
import { type ReadinessCheck, readinessReport } from '../core/readiness.ts';
import { withTimeout } from '../core/with-timeout.ts';

export interface OpsServerOptions {
  /** Listen address (the config's bot.http / agent.http; the schema keeps it on loopback unless allowed). */
  host: string;
  /** 0 = any free port (see `url`). */
  port: number;
  registry: Registry;
  readiness: () => Promise<ReadinessCheck[]>;
  logger: Logger;
  /** /readyz answers 503 "checks timed out" after this. @defaultValue 3000 */
  readinessTimeoutMs?: number;
}

export interface OpsServer {
  /** `http://host:port` with the port actually bound. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The operations endpoints of one process (bot or agent), on node:http:
 * - `GET /healthz`: 200 while the process runs (its event loop answers);
 * - `GET /readyz`: 200 when every readiness check passes, else 503; JSON `{ ready, failing, checks: [{ name, ok, detail }] }`;
 * - `GET /metrics`: the process's prom-client registry in Prometheus' text format.
 * Resolves once listening; rejects when the address cannot be bound (EADDRINUSE…).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const { registry, logger } = options;
  const timeoutMs = options.readinessTimeoutMs ?? 3_000;
  const startedAt = Date.now();
  const address = listenAddress(options.host);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
        return json(res, 200, { status: 'alive', pid: process.pid, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
      case '/readyz': {
        const checks = await withTimeout(
          options.readiness(),
          timeoutMs,
          `the readiness checks did not finish within ${timeoutMs} ms`,
        ).catch((error: unknown): ReadinessCheck[] => [
          { name: 'checks', ok: false, detail: redactSecrets(error instanceof Error ? error.message : String(error)) },
        ]);
        const report = readinessReport(checks);
        return json(res, report.status, report.body);
      }
      case '/metrics': {
        const text = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType }).end(text);
        return;
      }
      default:
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /healthz, /readyz or /metrics\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: redactSecrets(String(error)), url: req.url }, 'ops http: request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  });
  // A scraper keeping connections open must not hold up a stop.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new Error(`cannot listen on ${options.host}:${options.port} for /healthz, /readyz, /metrics: ${error.code ?? error.message}`));
    };
    server.once('error', onError);
    server.listen(options.port, address, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger.warn({ err: error.message }, 'ops http server error'));
  const port = (server.address() as AddressInfo).port;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  logger.info({ url, endpoints: ['/healthz', '/readyz', '/metrics'] }, 'ops http listening');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The address as listen() takes it: the config accepts `[::1]` (URL notation) and surrounding spaces as loopback
 * (config/ops-schema.ts), which listen() would look up as a host name and fail with ENOTFOUND.
 */
function listenAddress(host: string): string {
  return host.trim().replace(/^\[(.*)\]$/, '$1');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res
    .writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
    .end(`${JSON.stringify(body)}\n`);
}
