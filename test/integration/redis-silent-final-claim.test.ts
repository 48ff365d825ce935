import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { createLogger } from '../../src/core/log.ts';
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/queue/redis-connection.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { privateRedisConfig } from '../helpers/private-redis-stack.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The bot's claim of a final reply reaches Redis and is carried out, and its answer never comes back (Redis gone
 * silent, or the connection cut, right after): the claim then names this very bot, which must still deliver the reply
 * once Redis answers again — the same process, not only after a restart — and deliver it once.
 */
let redis: PrivateRedis;
let proxy: TcpProxy;
let admin: Redis;
let env: SimEnv;
let agent: Agent;
let bot: Bot;
const adapter = new CaptureAdapter();
const prefix = `{silent-claim-${Math.random().toString(36).slice(2, 8)}}`;
const log: { msg: string; what?: string; requestId?: string }[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  proxy = TcpProxy.forUrl(redis.url);
  await proxy.start();
  admin = new Redis(redis.url);
  env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
  // The bot reaches Redis through the proxy (whose replies the test cuts off); the agent directly.
  const config = privateRedisConfig(env, proxy.url, prefix);
  agent = await startAgent({ config, runner: env.pool(), connection: redis.url, prefix, logger: quietLogger });
  const logger = createLogger('debug', { write: (line: string) => void log.push(JSON.parse(line) as { msg: string }) });
  bot = await createBot({ config, redis: proxy.url, logger, adapters: [adapter] });
  await bot.start();
  const warm = chatRequest('sc-warm', 'list xen1');
  await bot.core.handle(warm, targetOf(warm));
  expect((await adapter.finalReply(warm.id)).title).toBe('Domains on xen1');
}, 60_000);
afterAll(async () => {
  proxy?.heal();
  await bot?.stop().catch(() => {});
  await agent?.close(500).catch(() => {});
  await env?.stop().catch(() => {});
  admin?.disconnect();
  await proxy?.stop().catch(() => {});
  await redis?.stop().catch(() => {});
}, 60_000);

/** The bytes of the command that claims the request's final reply (the claim key is in them). */
const claimOf = (requestId: string) => (chunk: Buffer) => chunk.toString('latin1').includes(`${prefix}:final:${requestId}`);

/** Once its final reply is out and its bookkeeping done, a request is gone from Redis: no recovery finds it after. */
async function settled(requestId: string): Promise<void> {
  await expect.poll(async () => await admin.exists(`${prefix}:pending:${requestId}`), { timeout: 30_000, interval: 100 }).toBe(0);
  expect(await admin.get(`${prefix}:final:${requestId}`)).toMatch(/:sent$/);
  expect(adapter.finals(requestId)).toHaveLength(1);
}

describe('a final reply whose claim Redis carried out without answering', () => {
  it('Redis silent past the command timeout: the reply comes once it answers again, from the same bot, once', async () => {
    const req = chatRequest(`sc-silent-${Date.now()}`, 'list xen1');
    proxy.freezeRepliesAt(claimOf(req.id));
    await bot.core.handle(req, targetOf(req));
    // The claim is in Redis, and this bot's: the bot was told nothing.
    await expect.poll(async () => await admin.get(`${prefix}:final:${req.id}`), { timeout: 15_000, interval: 50 }).toMatch(/^[0-9a-f]{6}$/);
    await expect
      .poll(() => log.some((l) => l.msg === 'relay handler failed' && l.what === 'completed'), {
        timeout: REDIS_COMMAND_TIMEOUT_MS + 5_000,
        interval: 100,
      })
      .toBe(true);
    expect(adapter.finals(req.id)).toEqual([]);
    proxy.heal();
    await adapter.until(() => adapter.finals(req.id).length > 0, 30_000, 'the final reply after Redis answers again');
    expect(adapter.finals(req.id)[0]?.title).toBe('Domains on xen1');
    await settled(req.id);
  }, 90_000);

  it('the connection cut right after the claim was sent: the reply comes on the new connection, once', async () => {
    const req = chatRequest(`sc-cut-${Date.now()}`, 'stop web');
    proxy.freezeRepliesAt(claimOf(req.id));
    await bot.core.handle(req, targetOf(req));
    await expect.poll(async () => await admin.get(`${prefix}:final:${req.id}`), { timeout: 15_000, interval: 50 }).toMatch(/^[0-9a-f]{6}$/);
    proxy.heal();
    await adapter.until(() => adapter.finals(req.id).length > 0, 30_000, 'the final reply after the connection is made again');
    expect(adapter.finals(req.id)[0]?.title).toMatch(/^web (shut down|stopped) on xen1/);
    await settled(req.id);
  }, 90_000);

  it('a claim Redis carries out after the bot stopped waiting, on the same connection: the reply comes with no reconnect', async () => {
    const reconnects = log.filter((l) => l.msg.startsWith('Redis is reachable again')).length;
    const failures = log.filter((l) => l.msg === 'relay handler failed').length;
    const req = chatRequest(`sc-late-${Date.now()}`, 'list xen1');
    const release = proxy.holdAt(claimOf(req.id));
    await bot.core.handle(req, targetOf(req));
    await expect
      .poll(() => log.filter((l) => l.msg === 'relay handler failed').length, { timeout: REDIS_COMMAND_TIMEOUT_MS + 5_000, interval: 100 })
      .toBeGreaterThan(failures);
    expect(await admin.exists(`${prefix}:final:${req.id}`)).toBe(0);
    // Redis gets it now, and answers a call that was given up: only the relay's own look again can find the claim.
    release();
    await expect.poll(async () => await admin.get(`${prefix}:final:${req.id}`), { timeout: 5_000, interval: 50 }).toMatch(/^[0-9a-f]{6}/);
    await adapter.until(() => adapter.finals(req.id).length > 0, 20_000, 'the final reply once Redis answers');
    expect(adapter.finals(req.id)[0]?.title).toBe('Domains on xen1');
    expect(log.filter((l) => l.msg.startsWith('Redis is reachable again')).length).toBe(reconnects);
    await settled(req.id);
  }, 90_000);

  it('a claim made at a read’s deadline (no outcome claims it) that Redis carries out late: the reply comes, once', async () => {
    // xen1 answers after the deadline (8 s): the deadline claims the reply, and the late answer finds it claimed.
    env.sim.faults.delayNext('xen1', { match: /xl list/, ms: 9_000 });
    const failures = log.filter((l) => l.msg === 'relay handler failed').length;
    const req = chatRequest(`sc-deadline-${Date.now()}`, 'list xen1');
    const release = proxy.holdAt(claimOf(req.id));
    await bot.core.handle(req, targetOf(req));
    await expect
      .poll(() => log.filter((l) => l.msg === 'relay handler failed' && l.what === 'deadline').length, {
        timeout: 8_000 + REDIS_COMMAND_TIMEOUT_MS + 5_000,
        interval: 100,
      })
      .toBeGreaterThan(0);
    expect(log.filter((l) => l.msg === 'relay handler failed').length).toBeGreaterThan(failures);
    release();
    await adapter.until(() => adapter.finals(req.id).length > 0, 20_000, 'the final reply once Redis answers');
    await settled(req.id);
  }, 90_000);

  it('neither reply was sent again later (a recovery, the lost-requests check)', () => {
    for (const id of new Set(adapter.delivered.map((d) => d.target.requestId)))
      expect({ id, finals: adapter.finals(id).length }).toEqual({ id, finals: 1 });
  });
});
