import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * Every Redis connection of the bot goes silent at once, both ways, and stays open: a NAT or firewall that forgot all
 * its flows. New connections get through. The bot's own connection is replaced after silentReconnectMs; the others
 * (BullMQ's shared one, the adding one, the hosts' event reader, …) must not be left on the dead flows: /list must
 * be answered again soon after, and no reply meanwhile may say Redis lost its data — it lost nothing.
 */
let env: SimEnv;
let proxy: TcpProxy;
let agent: Agent;
let bot: Bot;
const adapter = new CaptureAdapter();
const prefix = uniquePrefix();
const COMMAND_TIMEOUT_MS = 1_000;
const CHECK_MS = 200;
const SILENT_RECONNECT_MS = 3_000;
/** Beyond silentReconnectMs: the replacement itself (ioredis's 2 s disconnectTimeout at most) and a /list's round. */
const RECOVERY_MS = SILENT_RECONNECT_MS + 8_000;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.05 });
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  const config = simBotConfig(env, prefix, REDIS_URL);
  bot = await createBot({
    config: { ...config, bot: { ...config.bot, readTimeoutMs: 3_000 } },
    redis: proxy.url,
    logger: quietLogger,
    adapters: [adapter],
    timings: { redisCommandTimeoutMs: COMMAND_TIMEOUT_MS, checkMs: CHECK_MS, silentReconnectMs: SILENT_RECONNECT_MS },
  });
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger, hosts: ['xen1', 'xen2'] });
  await bot.start();
}, 30_000);

afterAll(async () => {
  await proxy?.stop();
  await bot?.stop();
  await agent?.close(1_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

async function ask(id: string, text: string): Promise<Reply | undefined> {
  const r = chatRequest(id, text);
  await bot.core.handle(r, targetOf(r));
  await adapter.until(() => adapter.finals(r.id).length > 0, 15_000, `the final reply to ${text}`);
  return adapter.finals(r.id)[0];
}

const text = (r: Reply | undefined) => JSON.stringify(r ?? null);

describe('every Redis connection of the bot gone silent at once, while Redis answers new connections', () => {
  it('THEN /list xen1 is answered again within silentReconnectMs and a few seconds, and no reply says Redis lost its data', async () => {
    expect(await ask('all-silent-warm', 'list xen1')).toMatchObject({ title: 'Domains on xen1', tone: 'success' });
    const frozenAt = performance.now();
    proxy.freezeOpen('both');
    const replies: Reply[] = [];
    let answered = false;
    for (let i = 0; !answered && performance.now() - frozenAt < RECOVERY_MS; i++) {
      const reply = await ask(`all-silent-${i}`, 'list xen1');
      if (reply) replies.push(reply);
      answered = reply?.title === 'Domains on xen1' && reply.tone === 'success';
    }
    const lied = replies.filter((r) => /lost its data/.test(text(r)));
    expect(lied.map(text)).toEqual([]);
    expect(answered, `answered within ${RECOVERY_MS} ms; replies: ${replies.map(text).join('\n')}`).toBe(true);
    // Stays answered: not one lucky request.
    expect(await ask('all-silent-after', 'list xen1')).toMatchObject({ title: 'Domains on xen1', tone: 'success' });
  }, 90_000);

  it('a request whose queueing Redis never answered, and which Redis does not have, is not said to be lost with its data', async () => {
    // Only the connection adding this request's jobs goes silent as its MULTI is sent: held back, it never reaches Redis.
    proxy.holdAt((d) => d.includes('all-silent-unanswered') && /evalsha/i.test(d.toString('latin1')));
    const r = chatRequest('all-silent-unanswered', 'list xen1');
    await bot.core.handle(r, targetOf(r));
    expect(proxy.holding).toBe(true);
    await adapter.until(() => adapter.finals(r.id).length > 0, 30_000, 'the final reply');
    const final = text(adapter.finals(r.id)[0]);
    expect(final).not.toMatch(/lost its data/);
    expect(final).toMatch(/Redis did not answer when this was queued/);
  }, 60_000);
});
