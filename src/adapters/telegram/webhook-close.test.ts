import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../../test/helpers/fake-telegram/server.ts';
import { quietLogger } from '../../../test/helpers/sim.ts';
import { freePort } from '../../app/ensure-redis.ts';
import type { Config } from '../../config/schema.ts';
import type { BotCore } from '../types.ts';
import { TelegramAdapter } from './index.ts';

const TOKEN = '987654321:AAcloseTOKENcloseTOKENcloseTOKEN00';
const SECRET = 'close_secret';
let fake: FakeTelegram;

beforeAll(async () => {
  fake = new FakeTelegram(TOKEN);
  await fake.start();
});
afterAll(async () => {
  await fake?.stop();
});

const core: BotCore = {
  commandSpecs: () => [],
  precheck: () => null,
  handle: async () => {},
  autocomplete: () => [],
  handleAction: async () => {},
};

async function webhookAdapter(): Promise<{ adapter: TelegramAdapter; port: number }> {
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
  return { adapter, port };
}

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
});
