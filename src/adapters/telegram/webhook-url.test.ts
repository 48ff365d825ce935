import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../../test/helpers/fake-telegram/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { freePort } from '../../app/ensure-redis.ts';
import type { Config } from '../../config/schema.ts';
import type { ChatRequest } from '../../core/request.ts';
import type { BotCore } from '../types.ts';
import { TelegramAdapter } from './index.ts';

const TOKEN = '987654321:AAurlTOKENurlTOKENurlTOKENurlTOK00';
const SECRET = 'url_secret';
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

describe('the address given to setWebhook', () => {
  it('has the listener path when the domain is written with a trailing slash (a proxy passes the path as Telegram sent it)', async () => {
    const port = await freePort();
    const config = {
      telegram: {
        token: TOKEN,
        apiRoot: fake.apiRoot,
        mode: 'webhook',
        webhook: { domain: 'bot.example.net/', path: '/telegram', port, listenHost: '127.0.0.1', secretToken: SECRET },
        allowAnonymousAdmins: false,
        anonymousAdminRoles: [],
      },
    } as unknown as Config;
    const adapter = new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0 });
    await adapter.start(core);
    try {
      const set = await fake.waitFor((c) => c.method === 'setWebhook');
      const url = new URL(String(set.body['url']));
      expect(url.href).toBe('https://bot.example.net/telegram');
      // What the proxy forwards: the path Telegram posts to, unchanged.
      const res = await fetch(`http://127.0.0.1:${port}${url.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
        body: JSON.stringify({
          update_id: 1,
          message: {
            message_id: 1,
            date: Math.floor(Date.now() / 1000),
            chat: { id: 1001, type: 'private', first_name: 'a' },
            from: { id: 1001, is_bot: false, first_name: 'a' },
            text: '/whoami',
            entities: [{ type: 'bot_command', offset: 0, length: 7 }],
          },
        }),
      });
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
    const port = await freePort();
    const config = {
      telegram: {
        token: TOKEN,
        apiRoot: fake.apiRoot,
        mode: 'webhook',
        webhook: { domain: 'bot.example.net', path: '/telegram', port, listenHost: '127.0.0.1', secretToken: SECRET },
        allowAnonymousAdmins: false,
        anonymousAdminRoles: [],
      },
    } as unknown as Config;
    const adapter = new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0 });
    await adapter.start(core);
    await adapter.stop();
    expect({ message: fake.delivers('message'), callback_query: fake.delivers('callback_query') }).toEqual({
      message: true,
      callback_query: true,
    });
  });
});
