import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionClick } from '../../src/adapters/types.ts';
import type { Reply } from '../../src/core/reply.ts';
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/queue/redis-connection.ts';
import { type PrivateRedisStack, startPrivateRedisStack } from '../helpers/private-redis-stack.ts';

/**
 * A button clicked while Redis is down or silent: the click's request is kept in Redis, so it cannot even be read —
 * the clicker is told that Redis is the reason, as a typed command is, never "an internal error".
 */
let stack: PrivateRedisStack;

beforeAll(async () => {
  stack = await startPrivateRedisStack();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

const textOf = (r: Reply) => r.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n');
let n = 0;
function click(actionId: string): ActionClick {
  return {
    id: `oa-click-${++n}-${Math.random().toString(36).slice(2, 6)}`,
    actionId,
    platform: 'terminal',
    actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
    channel: { id: 'terminal', kind: 'direct' },
    receivedAt: Date.now(),
  };
}

describe('a button clicked during a Redis outage', () => {
  it('while Redis is down: "Redis is unreachable", nothing run; the same button works once it is back', async () => {
    const { bot, adapter, redis } = stack;
    const action = await bot.createAction('list', { host: 'xen1' });
    await redis.kill('SIGKILL');
    try {
      const c = click(action);
      await bot.core.handleAction(c, { platform: 'terminal', channelId: 'terminal', requestId: c.id, state: {} });
      const r = await adapter.finalReply(c.id);
      expect({ title: r.title, text: textOf(r) }).toEqual({
        title: 'Redis is unreachable',
        text: 'nothing was queued; try again when it is back',
      });
    } finally {
      // The bot's own client back, not only the server: a click before that is still "Redis is unreachable".
      const back = stack.logged(/^Redis is reachable again: catching up/);
      await redis.restart();
      await back;
    }
    const again = click(action);
    await bot.core.handleAction(again, { platform: 'terminal', channelId: 'terminal', requestId: again.id, state: {} });
    expect((await adapter.finalReply(again.id)).title).toBe('Domains on xen1');
  }, 60_000);

  it('while Redis answers nothing: "Redis is not answering" within the command timeout, nothing queued', async () => {
    const { bot, adapter, redis } = stack;
    const action = await bot.createAction('list', { host: 'xen1' });
    redis.freeze();
    try {
      const c = click(action);
      const t0 = Date.now();
      await bot.core.handleAction(c, { platform: 'terminal', channelId: 'terminal', requestId: c.id, state: {} });
      const r = await adapter.finalReply(c.id);
      expect(Date.now() - t0).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 5_000);
      expect({ title: r.title, text: textOf(r) }).toEqual({
        title: 'Redis is not answering',
        text: 'Redis has not answered for 10 s; nothing was queued',
      });
    } finally {
      redis.resume();
    }
  }, 60_000);
});
