import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import type { BotCore } from '../../src/adapters/types.ts';
import { leaseKey } from '../../src/app/leader-lease.ts';
import { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import { FakeTelegram } from '../helpers/fake-telegram/server.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * Long polling that keeps going and says how it is going: start() resolves once updates can flow, a poll that fails
 * for any reason is tried again until stop(), and connected() (/readyz) turns false while polls fail.
 */
const TOKEN = '123456789:AApollingTOKENpollingTOKENpolling00';
const GROUP = { id: -1001234567890, type: 'supergroup' as const, title: 'ops' };

/** A core that only records the requests it is handed. */
function recordingCore(handled: string[]): BotCore {
  return {
    commandSpecs: () => [],
    precheck: () => null,
    handle: async (req) => void handled.push(req.id),
    autocomplete: () => [],
    handleAction: async () => {},
  };
}

/** A logger whose lines are kept (level, msg). */
function keptLogger() {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines, said: (pattern: RegExp) => lines.filter((l) => pattern.test(l.msg)) };
}

describe('the Telegram adapter against a Bot API that fails', () => {
  let fake: FakeTelegram;
  let adapter: TelegramAdapter | null = null;

  beforeAll(async () => {
    fake = new FakeTelegram(TOKEN);
    await fake.start();
  });
  afterEach(async () => {
    await adapter?.stop();
    adapter = null;
  });
  afterAll(async () => {
    await fake?.stop();
  });

  const adapterWith = (logger = quietLogger) => {
    const config = Config.parse({
      hosts: { xen1: { address: 'a', privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true } },
      telegram: { token: TOKEN, apiRoot: fake.apiRoot },
    });
    adapter = new TelegramAdapter({ config, logger, minIntervalMs: 0 });
    return adapter;
  };

  it('resolves start() only once polling can begin, through a 429 on deleteWebhook', async () => {
    fake.rateLimitNext('deleteWebhook', 1, 1);
    const since = Date.now();
    await adapterWith().start(recordingCore([]));
    const deletes = fake.calls.filter((c) => c.method === 'deleteWebhook' && c.at >= since).map((c) => c.failedWith ?? 'ok');
    expect(deletes).toEqual([429, 'ok']);
    expect(adapter?.connected()).toBe(true);
    await fake.waitForPoll((p) => p.at >= since);
  });

  it('a stop() while start() waits for Telegram fails the start and leaves nothing polling (a leader losing its lease)', async () => {
    fake.holdNext((c) => c.method === 'deleteWebhook');
    const starting = adapterWith().start(recordingCore([]));
    await fake.waitForHeld((c) => c.method === 'deleteWebhook');
    await adapter?.stop();
    await expect(starting).rejects.toThrow(/stopped/);
    expect(adapter?.connected()).toBe(false);
  });

  it('polls on after getUpdates is answered 409 Conflict (telegraf gave up polling for good)', async () => {
    const handled: string[] = [];
    await adapterWith().start(recordingCore(handled));
    fake.failNext((c) => c.method === 'getUpdates', {
      status: 409,
      description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
    });
    // The waiting long poll answers with this update; the next getUpdates is refused.
    fake.sendText(1001, GROUP, '/list');
    await fake.waitFor((c) => c.failedWith === 409);
    const after = fake.sendText(1001, GROUP, '/whoami');
    await expect.poll(() => handled, { timeout: 10_000 }).toContain(`tg${GROUP.id}_${after}`);
  });

  it('says disconnected while the API cannot be reached, logs it once, and recovers when it is back', async () => {
    const { logger, said } = keptLogger();
    await adapterWith(logger).start(recordingCore([]));
    await fake.waitForPoll(() => true);
    expect(adapter?.connected()).toBe(true);
    const port = fake.port;
    await fake.stop();
    await expect.poll(() => adapter?.connected(), { timeout: 10_000 }).toBe(false);
    // Polling goes on failing (connection refused), without a warning for each failure.
    await expect.poll(() => said(/getUpdates failed/).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    await fake.start(port);
    await expect.poll(() => adapter?.connected(), { timeout: 20_000 }).toBe(true);
    expect(said(/telegram polling failing/).map((l) => l.level)).toEqual([40]);
    expect(said(/telegram polling works again/).map((l) => l.level)).toEqual([30]);
  }, 30_000);
});

/**
 * bot.ha: a leader that loses its lease for a moment stops Telegram and starts it again when it takes the lease
 * back. A relaunch whose first call fails once (a 429 on deleteWebhook) must still end up polling: the bot keeps the
 * lease, so no standby would ever take over a leader that does not poll.
 */
describe('a lone HA bot whose Telegram relaunch meets a Bot API hiccup', () => {
  let fake: FakeTelegram;
  let stack: TestStack;
  let redis: Redis;

  beforeAll(async () => {
    fake = new FakeTelegram(TOKEN);
    await fake.start();
    stack = await startTestStack({
      env: { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_API_ROOT: fake.apiRoot },
      adjustConfig: (c) => ({ ...c, bot: { ...c.bot, ha: { ...c.bot.ha, enabled: true, leaseMs: 3000 } } }),
      makeAdapters: (config) => [new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0, groupPerMinute: 1000 })],
    });
    redis = new Redis(REDIS_URL);
  }, 60_000);

  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await fake?.stop();
  });

  it('polls Telegram again and answers once the lease is back', async () => {
    await fake.waitForPoll(() => true);
    const t0 = Date.now();
    fake.rateLimitNext('deleteWebhook', 1, 1);
    // Another bot's token for 1.5 s: this one steps down at its next renewal, then takes the key back once it lapses.
    await redis.set(leaseKey(stack.prefix), 'elsewhere:1:gone', 'PX', 1500);
    const refused = await fake.waitFor((c) => c.method === 'deleteWebhook' && c.at >= t0);
    expect(refused.failedWith).toBe(429);
    await fake.waitForPoll((p) => p.at > refused.at);
    const asked = fake.sendText(1001, GROUP, '/whoami');
    const answered = await fake.waitFor(
      (c) => c.method === 'sendMessage' && (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id === asked,
    );
    expect(String(answered.body['text'])).toContain('alice');
    const checks = await stack.bot.readiness();
    expect(checks.find((c) => c.name === 'leader')?.detail).toMatch(/^leader: this bot/);
    expect(checks.find((c) => c.name === 'adapters')).toEqual({ name: 'adapters', ok: true, detail: 'telegram connected' });
  }, 30_000);
});
