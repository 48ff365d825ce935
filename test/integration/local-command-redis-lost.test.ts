import { readFile, rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { privateRedisConfig } from '../helpers/private-redis-stack.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * A command the bot carries out itself (/unfreeze) loses Redis part-way, after its change was written: the answer
 * must not say nothing was done — the hosts are no longer frozen, and whoever asked must not believe they still are.
 */
let redis: PrivateRedis;
let proxy: TcpProxy;
let env: SimEnv;
let bot: Bot;
let config: Config;
const adapter = new CaptureAdapter();
const prefix = `{local-lost-${Math.random().toString(36).slice(2, 8)}}`;

beforeAll(async () => {
  redis = await startPrivateRedis();
  proxy = TcpProxy.forUrl(redis.url);
  await proxy.start();
  env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
  // The bot reaches Redis through the proxy, which the test cuts at a chosen command.
  config = privateRedisConfig(env, proxy.url, prefix);
  bot = await createBot({ config, redis: proxy.url, logger: quietLogger, adapters: [adapter] });
  await bot.start();
}, 60_000);
afterAll(async () => {
  await bot?.stop().catch(() => {});
  await env?.stop().catch(() => {});
  await proxy?.stop().catch(() => {});
  await redis?.stop().catch(() => {});
  if (config) await rm(config.audit.file, { force: true });
}, 60_000);

const textOf = (r: Reply) => r.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n');

describe('a command the bot runs itself, when Redis goes away part-way', () => {
  it('/unfreeze whose read-back fails after the freeze was lifted does not say nothing was done', async () => {
    const freeze = chatRequest(`ll-freeze-${Date.now()}`, 'freeze xen1 1h disk swap');
    await bot.core.handle(freeze, targetOf(freeze));
    expect((await adapter.finalReply(freeze.id)).title).toBe('Frozen: xen1');

    // Everything the bot sends after the HDEL that lifts the freeze is held back (the HDEL itself goes through), and
    // then the connection is cut with no Redis to reconnect to.
    let lifted = false;
    proxy.holdAt((chunk) => {
      const sent = chunk.toString('latin1').toLowerCase();
      if (sent.includes('hdel') && sent.includes(`${prefix}:freezes`)) lifted = true;
      return lifted && sent.includes('hgetall');
    });
    const unfreeze = chatRequest(`ll-unfreeze-${Date.now()}`, 'unfreeze xen1');
    const handled = bot.core.handle(unfreeze, targetOf(unfreeze));
    await expect.poll(() => proxy.holding).toBe(true);
    await proxy.stop();
    await handled;

    const admin = new Redis(redis.url);
    try {
      // The freeze is gone: the change was made.
      expect(await admin.hgetall(`${prefix}:freezes`)).toEqual({});
    } finally {
      admin.disconnect();
    }
    const answer = await adapter.finalReply(unfreeze.id);
    expect(answer.title).toBe('Redis is unreachable');
    expect(textOf(answer)).toBe('it may have been done, or in part: check once it is back, before trying again');
    // On record as what is known: not a rejection.
    const entries = (await readFile(config.audit.file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e['requestId'] === unfreeze.id && e['event'] === 'decision' && String(e['detail']).startsWith('Redis unreachable'));
    expect(entries).toHaveLength(1);
    expect(entries[0]?.['decision']).toBeUndefined();
    expect(entries[0]?.['detail']).toBe('Redis unreachable (lost part-way: it may have been done in part)');
  }, 60_000);
});
