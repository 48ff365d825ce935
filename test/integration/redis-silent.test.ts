import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Reply } from '../../src/core/reply.ts';
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/queue/redis-connection.ts';
import { type PrivateRedisStack, startPrivateRedisStack } from '../helpers/private-redis-stack.ts';
import { targetOf } from '../helpers/requests.ts';

/**
 * A Redis that keeps its connections open and answers nothing (a frozen machine, a path dropping packets without a
 * reset, writes paused): every request is answered within the bot's command timeout, saying what is known — never
 * left with its "queued" line alone.
 */
let stack: PrivateRedisStack;

beforeAll(async () => {
  stack = await startPrivateRedisStack();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

const textOf = (r: Reply) => r.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n');
const shown = (requestId: string) => stack.adapter.delivered.filter((d) => d.target.requestId === requestId).map((d) => d.reply);

describe('a Redis that stops answering', () => {
  it('a request whose jobs it does not take in time is told so, and its answer still comes once Redis takes them', async () => {
    const { bot, adapter } = stack;
    const warm = stack.ask('list xen1');
    await bot.core.handle(warm, targetOf(warm));
    expect((await adapter.finalReply(warm.id)).title).toBe('Domains on xen1');
    // Writes held for longer than the bot waits: the MULTI that queues the job is sent, not answered — and carried
    // out when the pause ends.
    const admin = new Redis(stack.redis.url);
    await admin.call('CLIENT', 'PAUSE', String(REDIS_COMMAND_TIMEOUT_MS + 2_000), 'WRITE');
    admin.disconnect();
    const req = stack.ask('list xen1');
    await bot.core.handle(req, targetOf(req));
    const silent = 'Redis has not answered for 10 s: whether this was queued is not known yet — its answer comes here if it was';
    await adapter.until(() => shown(req.id).some((r) => textOf(r) === silent), 5_000, 'the line saying Redis has not answered');
    const final = await adapter.finalReply(req.id);
    expect(final.title).toBe('Domains on xen1');
  }, 60_000);

  it('a request made while it answers nothing at all is refused within the wait, nothing queued', async () => {
    const { bot, adapter } = stack;
    stack.redis.freeze();
    try {
      const req = stack.ask('list xen1');
      const t0 = Date.now();
      await bot.core.handle(req, targetOf(req));
      const final = await adapter.finalReply(req.id);
      expect(Date.now() - t0).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 5_000);
      expect(final.title).toBe('Redis is not answering');
      expect(textOf(final)).toBe('Redis has not answered for 10 s; nothing was queued');
    } finally {
      stack.redis.resume();
    }
    const again = stack.ask('list xen1');
    await bot.core.handle(again, targetOf(again));
    expect((await adapter.finalReply(again.id)).title).toBe('Domains on xen1');
  }, 60_000);
});
