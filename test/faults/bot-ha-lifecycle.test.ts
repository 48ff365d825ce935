import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { leaseKey } from '../../src/app/leader-lease.ts';
import { FakeTelegram, type TgCall } from '../helpers/fake-telegram/server.ts';
import { ProcessHarness } from '../helpers/processes.ts';
import { demoConfigWith } from './support.ts';

const TOKEN = '123456789:AAtestTOKENtestTOKENtestTOKENtest00';
const ALICE = 1001;
const CHAT = -100201;

const text = (c: TgCall) => String(c.body['text'] ?? '');
const isText = (c: TgCall) => c.method === 'sendMessage' || c.method === 'editMessageText';

/**
 * A leader frozen (SIGSTOP: a paused VM, a stalled host) for longer than its lease, then resumed. While it was frozen,
 * Telegram answered its long poll with an update (the answer waits in its socket, unread, unconfirmed), and the
 * standby took the lease and, polling, was handed the same update (Telegram gives an unconfirmed update again). The
 * resumed bot's clock says its lease is long over: it must not act as the leader on what it reads then — no reply, no
 * command run a second time, no further long poll beside the new leader's.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('the lifecycle of a leader: paused, stopped while starting', () => {
  let h: ProcessHarness | null = null;
  let fake: FakeTelegram | null = null;
  afterEach(async () => {
    await h?.stopAll();
    await fake?.stop();
    h = null;
    fake = null;
  });

  it('resumed, it handles nothing it read while frozen: the update is answered once, by the new leader', async () => {
    const tg = new FakeTelegram(TOKEN);
    fake = tg;
    await tg.start();
    const harness = new ProcessHarness({
      configPath: demoConfigWith({ 'bot.fleetRefreshMs': 600_000, 'approvals.enabled': false, 'bot.queuedReplyDelayMs': 0 }),
    });
    h = harness;
    await harness.startSim();
    await harness.startAgent();
    const envFor = (client: string) => ({ TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRootFor(client) });
    const bot1 = await harness.startBot({ adapters: ['--telegram'], env: envFor('b1') });
    await tg.waitForPoll((p) => p.client === 'b1' && p.timeout > 0);
    await harness.startBot({ adapters: ['--telegram'], env: envFor('b2') });

    bot1.kill('SIGSTOP');
    const stoppedAt = Date.now();
    // Answered into bot 1's waiting long poll: the answer sits in its socket until it runs again.
    const asked = tg.sendText(ALICE, { id: CHAT, type: 'supergroup' }, '/list xen2');
    const takeover = await tg.waitForPoll((p) => p.client === 'b2' && p.at > stoppedAt);
    expect(takeover.offset).toBeLessThanOrEqual(asked);
    const answered = await tg.waitFor((c) => isText(c) && c.body['chat_id'] !== undefined && /Domains on xen2/.test(text(c)));
    expect(answered.client).toBe('b2');

    const resumedAt = Date.now();
    bot1.kill('SIGCONT');
    // Its adapters stopped (the standby's line comes once the term has ended, the poller's confirming call included).
    await bot1.waitForLine(/"msg":"leader lease: standby \(chat adapters stopped\)"/, 30_000, { stream: 'stderr' });
    // Whatever it did on resuming, it did by now (a reply to the update it read would have gone before the term ended).
    const fromB1 = tg.calls.filter((c) => c.client === 'b1' && c.at >= resumedAt && c.method !== 'getUpdates');
    expect(fromB1.map((c) => `${c.method} ${text(c).slice(0, 60)}`)).toEqual([]);
    expect(tg.pollCalls.filter((p) => p.client === 'b1' && p.at >= resumedAt && p.timeout > 0)).toEqual([]);
  }, 120_000);

  it('SIGTERM while the leader starts Telegram: it stops at once, giving the lease up, and the standby takes over', async () => {
    const tg = new FakeTelegram(TOKEN);
    fake = tg;
    await tg.start();
    const harness = new ProcessHarness({ configPath: demoConfigWith({ 'bot.fleetRefreshMs': 600_000, 'approvals.enabled': false }) });
    h = harness;
    await harness.startSim();
    await harness.startAgent();
    const redis = new Redis(harness.redisUrl);
    try {
      const envFor = (client: string) => ({ TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRootFor(client) });
      // Telegram takes bot 1's getMe and never answers (each try is given 15 s): its start as the leader hangs there.
      tg.holdNext((c) => c.client === 'b1' && c.method === 'getMe');
      const bot1 = await harness.startBot({ adapters: ['--telegram'], env: envFor('b1'), awaitStart: false });
      await tg.waitForHeld((c) => c.client === 'b1' && c.method === 'getMe');
      expect(await redis.get(leaseKey(harness.prefix))).toMatch(new RegExp(`:${bot1.pid}:`));
      await harness.startBot({ adapters: ['--telegram'], env: envFor('b2') });

      const termAt = Date.now();
      bot1.kill('SIGTERM');
      const exit = await bot1.exited;
      const stopMs = Date.now() - termAt;
      expect(exit.code).toBe(0);
      expect(bot1.stderr.lines.filter((l) => /did not stop within|stopping failed/.test(l))).toEqual([]);
      // Well within the 4 s after which a stop is abandoned (and the lease left to lapse).
      expect(stopMs).toBeLessThan(2_000);
      // Nothing said as if it had started, nor a lease lost: it was stopped.
      expect(bot1.stderr.lines.filter((l) => /leader lease: started|not renewed in time/.test(l))).toEqual([]);
      // Given up: the standby polls at its next attempt (every lease/12), not once the lease has lapsed (6 s).
      const poll = await tg.waitForPoll((p) => p.client === 'b2');
      expect(poll.at - termAt).toBeLessThan(3_000);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
