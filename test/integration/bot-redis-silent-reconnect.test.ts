import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The bot's own Redis connection (requests, pending, freezes, on-call, audit) goes silent both ways and stays open: a
 * NAT or firewall that forgot it. Every request is answered "Redis is not answering", and nothing would close that
 * connection but TCP's retransmission timeout (some 15 minutes), though Redis answers a new connection at once. After
 * its periodic writes have timed out for silentReconnectMs the bot must make that new connection itself — and a write
 * a request was told had not been done must not land on it.
 */
let env: SimEnv;
let proxy: TcpProxy;
let agent: Agent;
let bot: Bot;
let admin: Redis;
const adapter = new CaptureAdapter();
const prefix = uniquePrefix();
// Short for a test, yet not so short that a loaded CI box's slow answers time out.
const COMMAND_TIMEOUT_MS = 1_000;
const CHECK_MS = 200;
const SILENT_RECONNECT_MS = 3_000;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.05 });
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  admin = new Redis(REDIS_URL);
  const config = simBotConfig(env, prefix, REDIS_URL);
  bot = await createBot({
    config,
    redis: proxy.url,
    logger: quietLogger,
    adapters: [adapter],
    timings: { redisCommandTimeoutMs: COMMAND_TIMEOUT_MS, checkMs: CHECK_MS, silentReconnectMs: SILENT_RECONNECT_MS },
  });
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger, hosts: ['xen1', 'xen2'] });
  await bot.start();
}, 30_000);

afterAll(async () => {
  // The proxy first: a connection left frozen would hold the bot's close.
  await proxy?.stop();
  await bot?.stop();
  await agent?.close(1_000);
  await env?.stop();
  admin?.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

async function ask(id: string, text: string) {
  const r = chatRequest(id, text);
  await bot.core.handle(r, targetOf(r));
  await adapter.until(() => adapter.finals(r.id).length > 0, 10_000, `the final reply to ${text}`);
  return adapter.finals(r.id)[0];
}

const redisCheck = async () => (await bot.readiness()).find((c) => c.name === 'redis');

describe("the bot's own Redis connection gone silent, both ways, while Redis answers new connections", () => {
  it('THEN the bot replaces it within seconds: ready again, requests answered, and a write it was told failed never lands', async () => {
    expect((await ask('bot-redis-silent-warm', 'oncall'))?.title).not.toMatch(/Redis/);
    // The bot's next "still running" write (only its own connection writes it) is the last thing that connection carries.
    await proxy.freezeAt((d) => d.includes(`${prefix}:bots`), 'both');
    const silent = await ask('bot-redis-silent-1', 'oncall set carol 2h');
    expect(silent?.title).toBe('Redis is not answering');
    expect((await redisCheck())?.ok).toBe(false);

    // Many times the silence allowed, at many periodic writes a second: on a connection that is never replaced this
    // stays not ready until TCP gives up.
    await expect
      .poll(async () => (await redisCheck())?.ok, { timeout: 5 * SILENT_RECONNECT_MS, interval: 200, message: 'the bot ready again' })
      .toBe(true);
    expect((await ask('bot-redis-silent-2', 'oncall'))?.title).not.toMatch(/Redis/);
    expect(await ask('bot-redis-silent-3', 'list xen1')).toMatchObject({ title: 'Domains on xen1', tone: 'success' });
    // Nothing the silent request sent landed: left queued on the silent connection, its claim of the chat event would
    // have been sent again on the new one, and the event delivered again would be ignored as already acted on.
    expect(await admin.exists(`${prefix}:delivered:bot-redis-silent-1`, `${prefix}:oncall:overrides`)).toBe(0);
    // The chat event delivered again is carried out.
    const again = chatRequest('bot-redis-silent-1', 'oncall set carol 2h');
    await bot.core.handle(again, targetOf(again));
    await adapter.until(() => adapter.finals(again.id).length > 1, 10_000, 'the final reply to the event delivered again');
    expect(adapter.finals(again.id)[1]?.title).not.toMatch(/Redis/);
    expect(await admin.exists(`${prefix}:oncall:overrides`)).toBe(1);
  }, 60_000);
});
