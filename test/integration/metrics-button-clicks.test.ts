import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ActionClick } from '../../src/adapters/types.ts';
import { type PrivateRedisStack, startPrivateRedisStack } from '../helpers/private-redis-stack.ts';
import { targetOf } from '../helpers/requests.ts';

/**
 * README, Operations: `xenops_commands_total` counts commands "typed, clicked or run by a schedule, counted where a
 * request ends". A click that ends before its command could be read — Redis down, or the button expired — is a
 * request that ended too: counted once, as `unknown` (its command is not known), never left out.
 */
let stack: PrivateRedisStack;

beforeAll(async () => {
  stack = await startPrivateRedisStack();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

let n = 0;
function click(actionId: string): ActionClick {
  return {
    id: `mc-click-${++n}-${Math.random().toString(36).slice(2, 6)}`,
    actionId,
    platform: 'terminal',
    actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
    channel: { id: 'terminal', kind: 'direct' },
    receivedAt: Date.now(),
  };
}
const target = (c: ActionClick) => ({ platform: 'terminal' as const, channelId: 'terminal', requestId: c.id, state: {} });
const counted = async () =>
  (await stack.bot.metrics.registry.getSingleMetricAsString('xenops_commands_total')).split('\n').filter((l) => !l.startsWith('#'));

describe('xenops_commands_total for button clicks', () => {
  it('counts a click during a Redis outage as an error, as a typed command is, and an expired button as refused', async () => {
    const { bot, adapter, redis } = stack;
    const action = await bot.createAction('list', { host: 'xen1' });
    await redis.kill('SIGKILL');
    try {
      const typed = stack.ask('list xen1');
      await bot.core.handle(typed, targetOf(typed));
      expect((await adapter.finalReply(typed.id)).title).toBe('Redis is unreachable');
      const c = click(action);
      await bot.core.handleAction(c, target(c));
      expect((await adapter.finalReply(c.id)).title).toBe('Redis is unreachable');
    } finally {
      // The bot's own client back, not only the server: a click before that is still "Redis is unreachable".
      const back = stack.logged(/^Redis is reachable again: catching up/);
      await redis.restart();
      await back;
    }
    const expired = click('gone0000');
    await bot.core.handleAction(expired, target(expired));
    expect((await adapter.finalReply(expired.id)).title).toBe('This button has expired');
    expect(await counted()).toEqual([
      'xenops_commands_total{command="list",outcome="error"} 1',
      'xenops_commands_total{command="unknown",outcome="error"} 1',
      'xenops_commands_total{command="unknown",outcome="refused"} 1',
    ]);
  }, 60_000);
});
