import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../../test/helpers/fake-telegram/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { freePort } from '../../app/ensure-redis.ts';
import type { Config } from '../../config/schema.ts';
import type { ChatRequest } from '../../core/request.ts';
import type { BotCore } from '../types.ts';
import { TelegramAdapter } from './index.ts';

const TOKEN = '987654321:AAbodyTOKENbodyTOKENbodyTOKENbo00';
const SECRET = 'body_secret';
let fake: FakeTelegram;
let adapter: TelegramAdapter;
let port: number;
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
  port = await freePort();
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
  adapter = new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0 });
  await adapter.start(core);
});
afterAll(async () => {
  await adapter?.stop();
  await fake?.stop();
});

const post = (body: string) =>
  fetch(`http://127.0.0.1:${port}/telegram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': SECRET },
    body,
    signal: AbortSignal.timeout(5_000),
  });

const command = (id: number) =>
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
  it('answers JSON null at once with 400, and goes on taking updates', async () => {
    const res = await post('null');
    expect(res.status).toBe(400);
    const ok = await post(command(7));
    expect(ok.status).toBe(200);
    expect(handled.map((r) => r.id)).toEqual(['tg1001_7']);
  });

  it('answers other JSON that is no Update (a list, a number, a string) without handing anything to the core', async () => {
    for (const body of ['[]', '42', '"x"', '{}']) {
      const res = await post(body);
      expect({ body, status: res.status }).toEqual({ body, status: 200 });
    }
    expect(handled.map((r) => r.id)).toEqual(['tg1001_7']);
  });
});
