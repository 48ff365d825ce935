import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import { leaseKey } from '../../src/app/leader-lease.ts';
import { type ReadinessCheck, readinessReport } from '../../src/core/readiness.ts';
import { FakeTelegram } from '../helpers/fake-telegram/server.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * README, Operations: /readyz's `adapters` is "each chat adapter started and connected", and a standby is ready
 * because the leader runs Telegram. A bot whose own attempt to lead failed (Telegram refused its start) and that
 * gave the lease up, with no other bot holding it, runs Telegram nowhere: it must not say it is ready.
 */
const TOKEN = '123456789:AAreadyzTOKENreadyzTOKENreadyzTOK00';

describe('a lone HA bot whose Telegram cannot be started when it takes the lease', () => {
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

  const check = (checks: ReadinessCheck[], name: string) => checks.find((c) => c.name === name);

  it('is not ready while no bot leads, and ready again once it leads with Telegram running', async () => {
    await fake.waitForPoll(() => true);
    expect(readinessReport(await stack.bot.readiness()).status).toBe(200);
    // Telegram refuses the token from now on (revoked): every start of the adapter fails at getMe.
    let refusing = true;
    for (let i = 0; i < 100; i++) fake.failNext((c) => refusing && c.method === 'getMe', { status: 401, description: 'Unauthorized' });
    const t0 = Date.now();
    // Another bot's lease for a moment: this one steps down, then takes the lease back once it lapses, and its
    // Telegram start fails: it gives the lease up for a while (nobody holds it then).
    await redis.set(leaseKey(stack.prefix), 'elsewhere:1:gone', 'PX', 1500);
    await fake.waitFor((c) => c.method === 'getMe' && c.at >= t0 && c.failedWith === 401);
    await expect
      .poll(async () => check(await stack.bot.readiness(), 'leader')?.detail, { timeout: 10_000, interval: 50 })
      .toMatch(/^standby: no bot holds the lease/);
    const checks = await stack.bot.readiness();
    expect(readinessReport(checks).status).toBe(503);
    expect(check(checks, 'adapters')).toEqual({
      name: 'adapters',
      ok: false,
      detail: expect.stringMatching(/^telegram could not be started as the leader \(.*401: Unauthorized.*\); trying again$/),
    });

    // The token is accepted again: the next attempt leads, polls, and the bot is ready without a restart.
    refusing = false;
    await expect.poll(async () => readinessReport(await stack.bot.readiness()).status, { timeout: 30_000, interval: 200 }).toBe(200);
    expect(check(await stack.bot.readiness(), 'adapters')).toEqual({ name: 'adapters', ok: true, detail: 'telegram connected' });
  }, 60_000);
});
