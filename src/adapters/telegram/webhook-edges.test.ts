import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../../test/helpers/fake-telegram/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { freePort } from '../../app/ensure-redis.ts';
import type { Config } from '../../config/schema.ts';
import type { ChatRequest } from '../../core/request.ts';
import type { BotCore } from '../types.ts';
import { TelegramAdapter } from './index.ts';
import { listenWebhook, type WebhookSettings } from './webhook.ts';

/**
 * Webhook mode as an operator runs it behind a reverse proxy: bodies that are no Update, a client that never finishes
 * its request, the address given to setWebhook, the update types asked for, and a stop while the server binds.
 */
const TOKEN = '987654321:AAedgeTOKENedgeTOKENedgeTOKENed00';
const SECRET = 'edge_secret';
let fake: FakeTelegram;
const handled: ChatRequest[] = [];

const core: BotCore = {
  commandSpecs: () => [],
  precheck: () => null,
  handle: async (req) => {
    handled.push(req);
  },
  autocomplete: () => [],
  handleAction: async () => {},
};

beforeAll(async () => {
  fake = new FakeTelegram(TOKEN);
  await fake.start();
});
afterAll(async () => {
  await fake?.stop();
});

/** A started adapter in webhook mode on a free loopback port (`domain` as the operator wrote it). */
async function webhookAdapter(domain = 'bot.example.net'): Promise<{ adapter: TelegramAdapter; port: number }> {
  const port = await freePort();
  const config = {
    telegram: {
      token: TOKEN,
      apiRoot: fake.apiRoot,
      mode: 'webhook',
      webhook: { domain, path: '/telegram', port, listenHost: '127.0.0.1', secretToken: SECRET },
      allowAnonymousAdmins: false,
      anonymousAdminRoles: [],
    },
  } as unknown as Config;
  const adapter = new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0 });
  await adapter.start(core);
  return { adapter, port };
}

/** A POST as Telegram (through the proxy) makes it, with the secret. */
const post = (port: number, body: string, path = '/telegram') =>
  fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    body,
    signal: AbortSignal.timeout(5_000),
  });

/** An Update carrying `/whoami` from user 1001. */
const whoami = (id: number) =>
  JSON.stringify({
    update_id: id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: 1001, type: 'private', first_name: 'a' },
      from: { id: 1001, is_bot: false, first_name: 'a' },
      text: '/whoami',
      entities: [{ type: 'bot_command', offset: 0, length: 7 }],
    },
  });

describe('webhook bodies that are no Update', () => {
  it('answers JSON null at once with 400, and goes on taking updates; other JSON that is no Update reaches nothing', async () => {
    handled.length = 0;
    const { adapter, port } = await webhookAdapter();
    try {
      const res = await post(port, 'null');
      expect(res.status).toBe(400);
      const ok = await post(port, whoami(7));
      expect(ok.status).toBe(200);
      expect(handled.map((r) => r.id)).toEqual(['tg1001_7']);
      for (const body of ['[]', '42', '"x"', '{}']) {
        const other = await post(port, body);
        expect({ body, status: other.status }).toEqual({ body, status: 200 });
      }
      expect(handled.map((r) => r.id)).toEqual(['tg1001_7']);
    } finally {
      await adapter.stop();
    }
  });
});

describe('webhook server on stop', () => {
  it('stops within the SIGTERM budget although a client holds a request half sent', async () => {
    const { adapter, port } = await webhookAdapter();
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    // Headers begun, never finished: a stalled client, or a proxy streaming an upload.
    socket.write('POST /telegram HTTP/1.1\r\nHost: bot.example.net\r\n');
    const started = performance.now();
    await adapter.stop();
    expect(performance.now() - started).toBeLessThan(3_000);
    await closed;
  }, 10_000);

  it('GIVEN a stop (lost lease, SIGTERM) while the server binds THEN no server is left listening, taking updates', async () => {
    const port = await freePort();
    const settings = { domain: 'bot.example.net', path: '/telegram', port, listenHost: '127.0.0.1', secretToken: 's' } as WebhookSettings;
    const stop = new AbortController();
    const listening = listenWebhook(() => {}, settings, quietLogger, stop.signal);
    // Between listen() and its callback: the stop finds no server to close yet.
    stop.abort();
    await expect(listening).rejects.toThrow(/stopped/);
    // Nothing listens: binding the port ourselves succeeds.
    const probe = createServer();
    const taken = await new Promise<boolean>((resolve) => {
      probe.once('error', () => resolve(true));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
    });
    expect(taken).toBe(false);
  });
});

describe('the address given to setWebhook', () => {
  it('has the listener path when the domain is written with a trailing slash (a proxy passes the path as Telegram sent it)', async () => {
    handled.length = 0;
    const { adapter, port } = await webhookAdapter('slash.example.net/');
    try {
      // Its own setWebhook: the other tests' name another domain.
      const set = await fake.waitFor((c) => c.method === 'setWebhook' && String(c.body['url']).includes('slash.example.net'));
      const url = new URL(String(set.body['url']));
      expect(url.href).toBe('https://slash.example.net/telegram');
      // What the proxy forwards: the path Telegram posts to, unchanged.
      const res = await post(port, whoami(1), url.pathname);
      expect(res.status).toBe(200);
      expect(handled.map((r) => r.id)).toEqual(['tg1001_1']);
    } finally {
      await adapter.stop();
    }
  });
});

describe('the update types setWebhook asks for', () => {
  it('include button clicks although an earlier setWebhook (another program, a curl) asked for messages only', async () => {
    // Telegram keeps allowed_updates from the last call that named them: a setWebhook without them inherits it.
    await fetch(`${fake.apiRoot}/bot${TOKEN}/setWebhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ url: 'https://old.example.net/hook', allowed_updates: ['message'] }),
    });
    expect(fake.delivers('callback_query')).toBe(false);
    const { adapter } = await webhookAdapter();
    await adapter.stop();
    expect({ message: fake.delivers('message'), callback_query: fake.delivers('callback_query') }).toEqual({
      message: true,
      callback_query: true,
    });
  });
});
