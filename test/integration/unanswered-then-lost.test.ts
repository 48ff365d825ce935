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
 * A request whose queueing Redis ran but whose answer never came back (the reply lost, not the command): it is
 * queued, its agent runs it. Redis then really loses it (a failover, a restart without its data): the final reply
 * must say so, not that it was "most likely never queued" while the agent is running the change.
 */
let env: SimEnv;
let proxy: TcpProxy;
let agent: Agent;
let bot: Bot;
let redis: Redis;
const adapter = new CaptureAdapter();
const prefix = uniquePrefix();

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.05 });
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  redis = new Redis(REDIS_URL);
  const config = simBotConfig(env, prefix, REDIS_URL);
  bot = await createBot({
    config: { ...config, bot: { ...config.bot, readTimeoutMs: 60_000 } },
    redis: proxy.url,
    logger: quietLogger,
    adapters: [adapter],
    timings: { redisCommandTimeoutMs: 1_000, checkMs: 200 },
  });
  agent = await startAgent({
    config,
    runner: env.pool({}, { commandTimeoutMs: 60_000 }),
    connection: REDIS_URL,
    prefix,
    logger: quietLogger,
    hosts: ['xen1', 'xen2'],
  });
  await bot.start();
}, 30_000);

afterAll(async () => {
  env?.sim.faults.clear();
  await proxy?.stop();
  await bot?.stop();
  await agent?.close(1_000);
  await env?.stop();
  redis?.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('a request whose queueing Redis ran but never answered, later lost with Redis data', () => {
  it('is not said to be most likely never queued: its agent ran it', async () => {
    const since = env.sim.log.query().length;
    env.sim.faults.hangNext('xen1', /\bpause\b/);
    // The adding connection's MULTI reaches Redis and runs; its answer, and every later one on it, is lost.
    proxy.freezeRepliesAt((d) => d.includes('unanswered-ran') && /multi[\s\S]*evalsha/i.test(d.toString('latin1')));
    const r = chatRequest('unanswered-ran', 'pause web', 'alice');
    await bot.core.handle(r, targetOf(r));
    // Queued for sure: the agent took it and is running the change on the host.
    await env.sim.log.waitFor({ host: 'xen1', since, match: /\bpause\b/, timeoutMs: 15_000 });
    expect(await redis.exists(`${prefix}:pending:unanswered-ran`)).toBe(1);
    await adapter.until(
      () =>
        adapter.delivered.some((d) => d.target.requestId === r.id && /whether this was queued is not known/.test(JSON.stringify(d.reply))),
      20_000,
      'the dispatcher giving up on the queueing',
    );
    // Redis loses it (its data gone, as after a restart without persistence).
    await redis.del(`${prefix}:pending:unanswered-ran`);
    await adapter.until(() => adapter.finals(r.id).length > 0, 30_000, 'the final reply');
    const final = JSON.stringify(adapter.finals(r.id)[0]);
    expect(final).not.toMatch(/most likely it was never queued/);
    expect(final).toMatch(/lost its data/);
  }, 60_000);
});
