import { describe, expect, it } from 'vitest';
import { isFinal } from '../../src/core/reply.ts';
import { proxiedBot } from '../helpers/proxied-bot.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * A request whose queueing Redis ran but whose answer never came back, and whose job finished before the dispatcher
 * gave up waiting for that answer: its final reply went out first. The dispatcher's "whether this was queued is not
 * known yet" must not follow it — on Discord or Telegram that edit would replace the result in the one message.
 */
const scene = proxiedBot({
  // Long enough for the job to finish, and its result to go out, before the unanswered MULTI is given up on.
  timings: { redisCommandTimeoutMs: 4_000, checkMs: 200 },
});

describe('a request answered before its unanswered queueing is given up on', () => {
  it('gets no progress line after its final reply', async () => {
    const { proxy, bot, adapter } = scene;
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
    await scene.stopBot();
    const mine = adapter.delivered.filter((d) => d.target.requestId === r.id);
    const finalAt = mine.findIndex((d) => isFinal(d.reply));
    expect(JSON.stringify(mine[finalAt]?.reply)).not.toMatch(/not known/);
    expect(mine.slice(finalAt + 1).map((d) => JSON.stringify(d.reply))).toEqual([]);
  }, 40_000);
});
