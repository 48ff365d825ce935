import { describe, expect, it } from 'vitest';
import { proxiedBot, SILENT_TIMINGS } from '../helpers/proxied-bot.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * The bot's own Redis connection (requests, pending, freezes, on-call, audit) goes silent both ways and stays open: a
 * NAT or firewall that forgot it. Every request is answered "Redis is not answering", and nothing would close that
 * connection but TCP's retransmission timeout (some 15 minutes), though Redis answers a new connection at once. After
 * its periodic writes have timed out for silentReconnectMs the bot must make that new connection itself — and a write
 * a request was told had not been done must not land on it.
 */
const scene = proxiedBot();

const ask = (id: string, text: string) => scene.ask(id, text, { waitMs: 10_000 });

const redisCheck = async () => (await scene.bot.readiness()).find((c) => c.name === 'redis');

describe("the bot's own Redis connection gone silent, both ways, while Redis answers new connections", () => {
  it('THEN the bot replaces it within seconds: ready again, requests answered, and a write it was told failed never lands', async () => {
    expect((await ask('bot-redis-silent-warm', 'oncall'))?.title).not.toMatch(/Redis/);
    // The bot's next "still running" write (only its own connection writes it) is the last thing that connection carries.
    await scene.proxy.freezeAt((d) => d.includes(`${scene.prefix}:bots`), 'both');
    const silent = await ask('bot-redis-silent-1', 'oncall set carol 2h');
    expect(silent?.title).toBe('Redis is not answering');
    expect((await redisCheck())?.ok).toBe(false);

    // Many times the silence allowed, at many periodic writes a second: on a connection that is never replaced this
    // stays not ready until TCP gives up.
    await expect
      .poll(async () => (await redisCheck())?.ok, {
        timeout: 5 * SILENT_TIMINGS.silentReconnectMs,
        interval: 200,
        message: 'the bot ready again',
      })
      .toBe(true);
    expect((await ask('bot-redis-silent-2', 'oncall'))?.title).not.toMatch(/Redis/);
    expect(await ask('bot-redis-silent-3', 'list xen1')).toMatchObject({ title: 'Domains on xen1', tone: 'success' });
    // Nothing the silent request sent landed: left queued on the silent connection, its claim of the chat event would
    // have been sent again on the new one, and the event delivered again would be ignored as already acted on.
    expect(await scene.redis.exists(`${scene.prefix}:delivered:bot-redis-silent-1`, `${scene.prefix}:oncall:overrides`)).toBe(0);
    // The chat event delivered again is carried out.
    const again = chatRequest('bot-redis-silent-1', 'oncall set carol 2h');
    await scene.bot.core.handle(again, targetOf(again));
    await scene.adapter.until(() => scene.adapter.finals(again.id).length > 1, 10_000, 'the final reply to the event delivered again');
    expect(scene.adapter.finals(again.id)[1]?.title).not.toMatch(/Redis/);
    expect(await scene.redis.exists(`${scene.prefix}:oncall:overrides`)).toBe(1);
  }, 60_000);
});
