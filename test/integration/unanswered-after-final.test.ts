import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { isFinal } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * A request whose queueing Redis ran but whose answer never came back, and whose job finished before the dispatcher
 * gave up waiting for that answer: its final reply went out first. The dispatcher's "whether this was queued is not
 * known yet" must not follow it — on Discord or Telegram that edit would replace the result in the one message.
 */
let env: SimEnv;
let proxy: TcpProxy;
let agent: Agent;
let bot: Bot;
let stopped = false;
const adapter = new CaptureAdapter();
const prefix = uniquePrefix();

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.05 });
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  const config = simBotConfig(env, prefix, REDIS_URL);
  bot = await createBot({
    config,
    redis: proxy.url,
    logger: quietLogger,
    adapters: [adapter],
    // Long enough for the job to finish, and its result to go out, before the unanswered MULTI is given up on.
    timings: { redisCommandTimeoutMs: 4_000, checkMs: 200 },
  });
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger, hosts: ['xen1', 'xen2'] });
  await bot.start();
}, 30_000);

afterAll(async () => {
  // The proxy first: a connection left frozen would hold the bot's close.
  await proxy?.stop();
  if (!stopped) await bot?.stop();
  await agent?.close(1_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('a request answered before its unanswered queueing is given up on', () => {
  it('gets no progress line after its final reply', async () => {
    // The adding connection's MULTI reaches Redis and runs; its answer, and every later one on it, is lost.
    proxy.freezeRepliesAt((d) => d.includes('answered-first') && /multi[\s\S]*evalsha/i.test(d.toString('latin1')));
    const r = chatRequest('answered-first', 'pause web', 'alice');
    let givenUp = false;
    const handled = bot.core.handle(r, targetOf(r)).then(() => {
      givenUp = true;
    });
    await adapter.until(() => adapter.finals(r.id).length > 0, 15_000, 'the final reply');
    // The case under test: the result came while the dispatcher still waited for Redis to answer the MULTI.
    expect(givenUp).toBe(false);
    await handled;
    // Whatever the dispatcher announced is in the request's delivery chain now: stop() lets that chain finish.
    await proxy.stop();
    await bot.stop();
    stopped = true;
    const mine = adapter.delivered.filter((d) => d.target.requestId === r.id);
    const finalAt = mine.findIndex((d) => isFinal(d.reply));
    expect(JSON.stringify(mine[finalAt]?.reply)).not.toMatch(/not known/);
    expect(mine.slice(finalAt + 1).map((d) => JSON.stringify(d.reply))).toEqual([]);
  }, 40_000);
});
