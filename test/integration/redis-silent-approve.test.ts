import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { privateRedisConfig } from '../helpers/private-redis-stack.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * An approved request whose queueing Redis does not answer in time (its MULTI sent, held on the way): whether it was
 * queued is not known when the approver is answered, so the approver is not told it "is running".
 */
let redis: PrivateRedis;
let proxy: TcpProxy;
let env: SimEnv;
let agent: Agent;
let bot: Bot;
const adapter = new CaptureAdapter();
const prefix = `{oa-approve-${Math.random().toString(36).slice(2, 8)}}`;

beforeAll(async () => {
  redis = await startPrivateRedis();
  proxy = TcpProxy.forUrl(redis.url);
  await proxy.start();
  env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
  // The bot reaches Redis through the proxy (whose bytes the test holds back); the agent directly.
  const config = privateRedisConfig(env, proxy.url, prefix, { approvals: { enabled: true } });
  agent = await startAgent({ config, runner: env.pool(), connection: redis.url, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: proxy.url, logger: quietLogger, adapters: [adapter] });
  await bot.start();
}, 60_000);
afterAll(async () => {
  await bot?.stop().catch(() => {});
  await agent?.close(500).catch(() => {});
  await env?.stop().catch(() => {});
  await proxy?.stop().catch(() => {});
  await redis?.stop().catch(() => {});
}, 60_000);

const textOf = (r: Reply) => r.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n');

describe('an approval whose queueing Redis does not answer in time', () => {
  it('the approver is told it is not known yet whether it was queued; the result still comes once Redis takes it', async () => {
    const warm = chatRequest('oa-warm', 'list xen1');
    await bot.core.handle(warm, targetOf(warm));
    expect((await adapter.finalReply(warm.id)).title).toBe('Domains on xen1');

    const ask = chatRequest(`oa-ask-${Date.now()}`, 'stop web', 'alice');
    await bot.core.handle(ask, targetOf(ask));
    await adapter.until(() => adapter.delivered.some((d) => d.reply.title.startsWith('Approval needed')), 10_000, 'the approval card');
    const card = adapter.delivered.find((d) => d.reply.title.startsWith('Approval needed'))?.reply.title ?? '';
    const id = /— ([A-Z2-9]{6})$/.exec(card)?.[1] ?? '';
    expect(id).toMatch(/^[A-Z2-9]{6}$/);

    // The transaction saving the request and adding its job reaches Redis only after the bot has stopped waiting.
    const release = proxy.holdAt((chunk) => chunk.toString('latin1').includes(`:pending:${ask.id}`));
    const approve = chatRequest(`oa-approve-${Date.now()}`, `approve ${id}`, 'bob');
    const handled = bot.core.handle(approve, targetOf(approve));
    await adapter.until(() => proxy.holding, 15_000, 'the MULTI held');
    const answer = await adapter.finalReply(approve.id);
    release();
    await handled;
    expect(answer.title).toBe(`Approved ${id}`);
    expect(textOf(answer)).toBe(
      'Redis has not answered for 10 s: whether /stop xen1:web was queued is not known yet — alice gets the result if it was',
    );
    // Queued after all once Redis took it: the result reaches alice's card.
    await adapter.until(
      () => adapter.delivered.some((d) => d.target.requestId === ask.id && /^web shut down on xen1/.test(d.reply.title)),
      30_000,
      "the stop's result on alice's card",
    );
  }, 90_000);

  it('an approval Redis recorded but did not answer in time never runs unseen: the cards are told nothing ran', async () => {
    const ask = chatRequest(`oa-ask2-${Date.now()}`, 'stop gateway', 'alice');
    await bot.core.handle(ask, targetOf(ask));
    const carded = () => adapter.delivered.find((d) => d.target.requestId === ask.id && d.reply.title.startsWith('Approval needed'));
    await adapter.until(() => carded() !== undefined, 10_000, 'the approval card');
    const id = /— ([A-Z2-9]{6})$/.exec(carded()?.reply.title ?? '')?.[1] ?? '';
    expect(id).toMatch(/^[A-Z2-9]{6}$/);

    // The approval's own write reaches Redis and is carried out; its answer never comes back.
    proxy.freezeRepliesAt((chunk) => chunk.toString('latin1').includes('"status":"approved"'));
    const approve = chatRequest(`oa-approve2-${Date.now()}`, `approve ${id}`, 'bob');
    await bot.core.handle(approve, targetOf(approve));
    const answer = await adapter.finalReply(approve.id);
    expect(answer.title).toBe('Redis is not answering');
    // Recorded as approved, so no later /approve runs it: it must not be left saying "Approval needed" (nor run now,
    // unseen), but be settled as not run, on the requester's card.
    await adapter.until(
      () =>
        adapter.delivered.some((d) => d.target.requestId === ask.id && d.reply.title === `/stop xen1:gateway was approved but did not run`),
      20_000,
      "alice's card saying it did not run",
    );
    const said = adapter.delivered.filter((d) => d.target.requestId === ask.id).at(-1)?.reply;
    expect(said && textOf(said)).toBe('Redis did not answer as it was approved; nothing ran — ask again if it is still needed');
    const again = chatRequest(`oa-approve3-${Date.now()}`, `approve ${id}`, 'bob');
    await bot.core.handle(again, targetOf(again));
    expect((await adapter.finalReply(again.id)).title).toBe(`${id} was approved but did not run`);
    expect(env.sim.hosts['xen1']?.commandLog.filter((c) => /shutdown.*gateway/.test(c))).toEqual([]);
  }, 90_000);
});
