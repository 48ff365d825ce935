import { describe, expect, it } from 'vitest';
import { proxiedBot, SILENT_RECOVERY_MS, SILENT_TIMINGS } from '../helpers/proxied-bot.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * Only the connection the bot adds jobs on goes silent, both ways, and stays open: a NAT or firewall that forgot just
 * that flow. The bot's own connection answers, so its periodic write never finds anything wrong; only requests use
 * the adding one, and each would be answered "Redis has not answered" until TCP gives up (some 15 minutes), though
 * Redis answers a new connection at once. After its adds have only timed out for silentReconnectMs it must be replaced.
 */
const scene = proxiedBot();

/** The adding connection's MULTI of request `id` (its start, the request's id and BullMQ's add script, in one chunk). */
const addOf = (id: string) => (d: Buffer) => {
  const t = d.toString('latin1');
  return t.startsWith('*1\r\n$5\r\nmulti\r\n') && t.includes(id) && /evalsha/i.test(t);
};

/** What became of a /list xen1 asked now: its final reply, or the line saying Redis did not answer its queueing. */
async function listXen1(id: string): Promise<string> {
  const r = chatRequest(id, 'list xen1');
  await scene.bot.core.handle(r, targetOf(r));
  const mine = () => scene.adapter.delivered.filter((d) => d.target.requestId === id).map((d) => d.reply);
  const told = () => scene.adapter.finals(id).length > 0 || mine().some((reply) => /not known yet/.test(JSON.stringify(reply)));
  await scene.adapter.until(told, 15_000, `an answer to ${id}`);
  const final = scene.adapter.finals(id)[0];
  if (final?.title === 'Domains on xen1' && final.tone === 'success') return 'answered';
  return JSON.stringify(final ?? mine().at(-1));
}

describe('only the connection adding jobs gone silent, both ways, while Redis answers new connections', () => {
  it('THEN requests are queued again within silentReconnectMs and a few seconds: that connection alone is replaced', async () => {
    expect(await listXen1('adder-silent-warm')).toBe('answered');
    // This request's MULTI reaches Redis; nothing after it on that connection does, and no answer comes back on it.
    const frozen = scene.proxy.freezeAt(addOf('adder-silent-trigger'), 'both');
    const trigger = listXen1('adder-silent-trigger');
    await frozen;
    const frozenAt = performance.now();
    // Its job reached Redis and may be answered first by its result: either way, not a request of the test's.
    await trigger;
    // The bot's own connection answers: what replaces every connection when that one goes silent never fires.
    expect((await scene.bot.readiness()).find((c) => c.name === 'redis')?.ok).toBe(true);

    const outcomes: string[] = [];
    for (let i = 0; outcomes.at(-1) !== 'answered' && performance.now() - frozenAt < SILENT_RECOVERY_MS; i++)
      outcomes.push(await listXen1(`adder-silent-${i}`));
    expect(outcomes.at(-1), `queued again within ${SILENT_RECOVERY_MS} ms; outcomes: ${outcomes.join('\n')}`).toBe('answered');
    // Before it was replaced, each was told Redis did not answer (none of theirs reached it), and for how long it
    // was given: the bot's own timing, not a default it does not use.
    const waited = `Redis has not answered for ${SILENT_TIMINGS.redisCommandTimeoutMs / 1000} s: whether this was queued is not known yet`;
    expect(outcomes.length).toBeGreaterThan(1);
    expect(outcomes.slice(0, -1).filter((o) => !o.includes(waited))).toEqual([]);
    // Stays answered: not one lucky request.
    expect(await listXen1('adder-silent-after')).toBe('answered');
  }, 60_000);
});
