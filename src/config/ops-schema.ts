import { isIP } from 'node:net';
import { z } from 'zod';
import { yamlNumber } from './number-schema.ts';

/** The bot's and the agent's default ports for /healthz, /readyz and /metrics (one machine may run both). */
export const DEFAULT_BOT_HTTP_PORT = 9464;
export const DEFAULT_AGENT_HTTP_PORT = 9465;

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * `bot.http` / `agent.http`: the operations endpoints of one process, off unless enabled (or `--http-port` is given).
 * Bound to loopback: the endpoints have no authentication, so another address must be allowed explicitly.
 */
export function opsHttpSection(defaultPort: number) {
  const defaults = { enabled: false, host: '127.0.0.1', port: defaultPort, allowNonLoopback: false };
  return z
    .strictObject({
      /** Serve /healthz, /readyz and /metrics over HTTP. `xenops bot|agent --http-port N` turns it on too. */
      enabled: z.boolean().default(false),
      /** The address to listen on; loopback only unless allowNonLoopback. */
      host: z.string().min(1).default('127.0.0.1'),
      /** The TCP port (0 = any free port; the one chosen is logged as "ops http listening"). */
      port: yamlNumber(z.number().int().min(0).max(65535)).default(defaultPort),
      /** Listen on a non-loopback address (e.g. 0.0.0.0 in a container scraped by Prometheus). No authentication. */
      allowNonLoopback: z.boolean().default(false),
    })
    .superRefine((h, ctx) => {
      if (!h.allowNonLoopback && !isLoopbackHost(h.host))
        ctx.addIssue({
          code: 'custom',
          path: ['host'],
          message: `${h.host} is not a loopback address: the endpoints have no authentication; use 127.0.0.1, or set allowNonLoopback: true`,
        });
    })
    .default(defaults);
}
export type OpsHttpConfig = z.infer<ReturnType<typeof opsHttpSection>>;
