import { describe, expect, it } from 'vitest';
import type { Reply } from '../../src/core/reply.ts';
import { proxiedBot, SILENT_RECOVERY_MS } from '../helpers/proxied-bot.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { simBotConfig } from '../helpers/sim.ts';

/**
 * Every Redis connection of the bot goes silent at once, both ways, and stays open: a NAT or firewall that forgot all
 * its flows. New connections get through. The bot's own connection is replaced after silentReconnectMs; the others
 * (BullMQ's shared one, the adding one, the hosts' event reader, …) must not be left on the dead flows: /list must
 * be answered again soon after, and no reply meanwhile may say Redis lost its data — it lost nothing.
 */
const scene = proxiedBot({
  config: (env, prefix) => {
    const config = simBotConfig(env, prefix, REDIS_URL);
    return { ...config, bot: { ...config.bot, readTimeoutMs: 3_000 } };
  },
});

const text = (r: Reply | undefined) => JSON.stringify(r ?? null);

describe('every Redis connection of the bot gone silent at once, while Redis answers new connections', () => {
  it('THEN /list xen1 is answered again within silentReconnectMs and a few seconds, and no reply says Redis lost its data', async () => {
    expect(await scene.ask('all-silent-warm', 'list xen1')).toMatchObject({ title: 'Domains on xen1', tone: 'success' });
    const frozenAt = performance.now();
    scene.proxy.freezeOpen('both');
    const replies: Reply[] = [];
    let answered = false;
    for (let i = 0; !answered && performance.now() - frozenAt < SILENT_RECOVERY_MS; i++) {
      const reply = await scene.ask(`all-silent-${i}`, 'list xen1');
      if (reply) replies.push(reply);
      answered = reply?.title === 'Domains on xen1' && reply.tone === 'success';
    }
    const lied = replies.filter((r) => /lost its data/.test(text(r)));
    expect(lied.map(text)).toEqual([]);
    expect(answered, `answered within ${SILENT_RECOVERY_MS} ms; replies: ${replies.map(text).join('\n')}`).toBe(true);
    // Stays answered: not one lucky request.
    expect(await scene.ask('all-silent-after', 'list xen1')).toMatchObject({ title: 'Domains on xen1', tone: 'success' });
  }, 90_000);

  it('a request whose queueing Redis never answered, and which Redis does not have, is not said to be lost with its data', async () => {
    // Only the connection adding this request's jobs goes silent as its MULTI is sent: held back, it never reaches Redis.
    // Told by its start (MULTI) with the request's id in that chunk. The id and "evalsha" anywhere could also match a
    // script call of another connection naming the request: under load (CI beside other runs) the held line then went
    // through and the request was answered, 2 runs in 4; the cause was not caught in the act.
    scene.proxy.holdAt((d) => {
      const t = d.toString('latin1');
      return t.startsWith('*1\r\n$5\r\nmulti\r\n') && t.includes('all-silent-unanswered');
    });
    const r = chatRequest('all-silent-unanswered', 'list xen1');
    await scene.bot.core.handle(r, targetOf(r));
    expect(scene.proxy.holding).toBe(true);
    await scene.adapter.until(() => scene.adapter.finals(r.id).length > 0, 30_000, 'the final reply');
    const final = text(scene.adapter.finals(r.id)[0]);
    expect(final).not.toMatch(/lost its data/);
    expect(final).toMatch(/Redis did not answer when this was queued/);
  }, 60_000);
});
