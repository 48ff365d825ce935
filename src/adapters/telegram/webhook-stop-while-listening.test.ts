import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { freePort } from '../../app/ensure-redis.ts';
import { listenWebhook, type WebhookSettings } from './webhook.ts';

/** Whether something listens on the port: binding it ourselves fails with EADDRINUSE then. */
async function taken(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

describe('the webhook listener when the start is given up while it binds', () => {
  it('GIVEN a stop (lost lease, SIGTERM) while the server binds THEN no server is left listening, taking updates', async () => {
    const port = await freePort();
    const settings = { domain: 'bot.example.net', path: '/telegram', port, listenHost: '127.0.0.1', secretToken: 's' } as WebhookSettings;
    const stop = new AbortController();
    const listening = listenWebhook(() => {}, settings, quietLogger, stop.signal);
    // Between listen() and its callback: the stop finds no server to close yet.
    stop.abort();
    await expect(listening).rejects.toThrow(/stopped/);
    expect(await taken(port)).toBe(false);
  });
});
