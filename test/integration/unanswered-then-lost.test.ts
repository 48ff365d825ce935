import { describe, expect, it } from 'vitest';
import { proxiedBot } from '../helpers/proxied-bot.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { simBotConfig } from '../helpers/sim.ts';

/**
 * A request whose queueing Redis ran but whose answer never came back (the reply lost, not the command): it is
 * queued, its agent runs it. Redis then really loses it (a failover, a restart without its data): the final reply
 * must say so, not that it was "most likely never queued" while the agent is running the change.
 */
const scene = proxiedBot({
  config: (env, prefix) => {
    const config = simBotConfig(env, prefix, REDIS_URL);
    return { ...config, bot: { ...config.bot, readTimeoutMs: 60_000 } };
  },
  timings: { redisCommandTimeoutMs: 1_000, checkMs: 200 },
  agentSsh: { commandTimeoutMs: 60_000 },
});

describe('a request whose queueing Redis ran but never answered, later lost with Redis data', () => {
  it('is not said to be most likely never queued: its agent ran it', async () => {
    const { env, proxy, bot, redis, prefix, adapter } = scene;
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
