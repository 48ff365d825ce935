import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelegram, type TgCall } from '../helpers/fake-telegram/server.ts';
import { ProcessHarness } from '../helpers/processes.ts';
import { demoConfigWith } from './support.ts';

const TOKEN = '123456789:AAtestTOKENtestTOKENtestTOKENtest00';
const ALICE = 1001;
const CHAT = -100301;

const text = (c: TgCall) => String(c.body['text'] ?? '');
const chatOf = (c: TgCall) => Number(c.body['chat_id']);
const isText = (c: TgCall) => c.method === 'sendMessage' || c.method === 'editMessageText';
const isResult = (c: TgCall) => isText(c) && chatOf(c) === CHAT && /Domains on 2 hosts/.test(text(c));

/**
 * A fan-out read answered at its deadline with one host still silent: the bot claims the final reply ("no answer"
 * from that host) and is SIGKILLed while Telegram holds the edit. The restarted bot must send that reply once the dead
 * bot's claim is past its grace — not wait for the silent host, whose late answer could then never be delivered (the
 * claim is the dead bot's, and only a recovery takes a claim over). Before the fix the read stayed "queued" until some
 * later restart of the bot.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('a read claimed at its deadline by a bot that died', () => {
  let h: ProcessHarness | null = null;
  let fake: FakeTelegram | null = null;
  let redis: Redis | null = null;
  afterEach(async () => {
    redis?.disconnect();
    await h?.stopAll();
    await fake?.stop();
    h = null;
    fake = null;
    redis = null;
  });

  it('is answered by the restarted bot after the claim grace, into the same message, once', async () => {
    const tg = new FakeTelegram(TOKEN);
    fake = tg;
    await tg.start();
    const harness = new ProcessHarness({
      configPath: demoConfigWith({
        'bot.fleetRefreshMs': 600_000,
        'approvals.enabled': false,
        'bot.queuedReplyDelayMs': 0,
        'bot.readTimeoutMs': 4_000,
      }),
    });
    h = harness;
    const r = new Redis(harness.redisUrl);
    redis = r;
    const sim = (await harness.startSim()).control;
    await harness.startAgent();
    const env = { TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRoot };
    const bot1 = await harness.startBot({ adapters: ['--telegram'], env });
    await tg.waitForPoll((p) => p.timeout > 0);

    // xen2 answers no list for the rest of the test: its read stays unanswered past the deadline and the restart.
    await sim.addFault({ host: 'xen2', kind: 'delay', ms: 90_000, match: '\\bxl list\\b', times: 0 });
    tg.holdNext(isResult);
    tg.sendText(ALICE, { id: CHAT, type: 'supergroup' }, '/list');
    const queued = await tg.waitFor((c) => c.method === 'sendMessage' && chatOf(c) === CHAT && c.messageId !== undefined);
    // Where the "queued" line is, stored: the restarted bot edits it (a bot killed before that write posts anew).
    await expect
      .poll(
        async () => {
          const keys = await r.keys(`${harness.prefix}:pending-target:*`);
          return keys.length === 1
            ? (JSON.parse((await r.get(keys[0] as string)) ?? '{}') as { state?: { messageId?: number } }).state?.messageId
            : null;
        },
        { timeout: 10_000 },
      )
      .toBe(queued.messageId);
    // The deadline's reply, claimed and on its way to Telegram, which never answers: bot 1 dies with it in flight.
    const hung = await tg.waitForHeld(isResult);
    expect(text(hung)).toMatch(/xen2: no answer/);
    bot1.kill('SIGKILL');
    await bot1.exited;

    const bot2 = await harness.startBot({ adapters: ['--telegram'], env });
    // The lease lapses within 6 s, the dead bot's claim is taken over once 14 s old: well within 30 s.
    await expect.poll(() => tg.calls.some(isResult), { timeout: 30_000 }).toBe(true);
    const result = tg.calls.find(isResult) as TgCall;
    expect(result.method).toBe('editMessageText');
    expect(Number(result.body['message_id'])).toBe(queued.messageId);
    expect(text(result)).toMatch(/xen2: no answer/);
    await bot2.waitForLine(/"msg":"the final reply was claimed by a bot that went before sending it: this bot sends it"/, 5_000, {
      stream: 'stderr',
    });
    // Finished: the request is gone from Redis, so xen2's late answer finds nothing to answer again.
    await expect.poll(async () => (await r.keys(`${harness.prefix}:pending:*`)).length, { timeout: 5_000 }).toBe(0);
    bot2.kill('SIGTERM');
    expect((await bot2.exited).code).toBe(0);
    expect(tg.calls.filter(isResult)).toHaveLength(1);
    expect(tg.calls.filter((c) => chatOf(c) === CHAT && c.method === 'sendMessage')).toHaveLength(1);
  }, 60_000);
});
