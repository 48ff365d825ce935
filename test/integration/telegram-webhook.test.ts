import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import { freePort } from '../../src/app/ensure-redis.ts';
import { FakeTelegram } from '../helpers/fake-telegram/server.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

const TOKEN = '987654321:AAwebhookTOKENwebhookTOKENwebhook00';
const SECRET = 'hook_secret-123';
let fake: FakeTelegram;
let stack: TestStack;
let port: number;

beforeAll(async () => {
  fake = new FakeTelegram(TOKEN);
  await fake.start();
  port = await freePort();
  stack = await startTestStack({
    env: { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.apiRoot },
    adjustConfig: (c) => ({
      ...c,
      telegram: {
        ...(c.telegram ?? { allowAnonymousAdmins: false, anonymousAdminRoles: [] }),
        mode: 'webhook',
        webhook: { domain: 'bot.example.net', path: '/telegram', port, listenHost: '127.0.0.1', secretToken: SECRET },
      },
    }),
    makeAdapters: (config) => [new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0 })],
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await fake?.stop();
});

const update = (text: string, id: number) => ({
  update_id: id,
  message: {
    message_id: id,
    date: Math.floor(Date.now() / 1000),
    chat: { id: 1001, type: 'private', first_name: 'a' },
    from: { id: 1001, is_bot: false, first_name: 'a' },
    text,
    entities: [{ type: 'bot_command', offset: 0, length: text.length }],
  },
});

describe('Telegram in webhook mode', () => {
  it('registers the webhook with its secret token', async () => {
    const call = await fake.waitFor((c) => c.method === 'setWebhook');
    expect(call.body).toMatchObject({ url: 'https://bot.example.net/telegram', secret_token: SECRET });
  });

  it('refuses an update without the secret token and handles one with it', async () => {
    const post = (secret: string | null, body: unknown) =>
      fetch(`http://127.0.0.1:${port}/telegram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret ? { 'x-telegram-bot-api-secret-token': secret } : {}) },
        body: JSON.stringify(body),
      });
    const forged = await post('wrong', update('/whoami', 501));
    expect(forged.status).toBe(403);
    const ok = await post(SECRET, update('/whoami', 502));
    expect(ok.status).toBe(200);
    const reply = await fake.waitFor((c) => c.method === 'sendMessage' && String(c.body['text']).includes('You are alice'));
    expect(reply.body['chat_id']).toBe('1001');
    expect(fake.calls.filter((c) => c.method === 'sendMessage' && String(c.body['text']).includes('You are'))).toHaveLength(1);
  });

  it('counts as connected on /readyz once the webhook is registered (launch() settling is no outage)', async () => {
    await fake.waitFor((c) => c.method === 'setWebhook');
    const adapters = (await stack.bot.readiness()).find((c) => c.name === 'adapters');
    expect({ connected: stack.adapters[0]?.connected?.(), adapters }).toEqual({
      connected: true,
      adapters: { name: 'adapters', ok: true, detail: 'telegram connected' },
    });
  });

  it('fails start() when the webhook port is taken, instead of an unhandled server error ending the process', async () => {
    const telegram = { ...stack.config.telegram, token: TOKEN, apiRoot: fake.apiRoot } as typeof stack.config.telegram;
    const second = new TelegramAdapter({ config: { ...stack.config, telegram }, logger: quietLogger, minIntervalMs: 0 });
    const core = {
      commandSpecs: () => [],
      precheck: () => null,
      handle: async () => {},
      autocomplete: () => [],
      handleAction: async () => {},
    };
    await expect(second.start(core)).rejects.toThrow(/EADDRINUSE/);
    expect(second.connected()).toBe(false);
  });
});
