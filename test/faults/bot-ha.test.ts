import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTelegram, type TgCall } from '../helpers/fake-telegram/server.ts';
import { opsUrlOf, ProcessHarness } from '../helpers/processes.ts';
import { demoConfigWith, received } from './support.ts';

const TOKEN = '123456789:AAtestTOKENtestTOKENtestTOKENtest00';
const ALICE = 1001;
/** One chat per request: Telegram's per-chat pacing (1 message/s) then never orders one request behind another. */
const CHATS = { list: -100101, start: -100102, stop: -100103, pause: -100104, after: -100105, hung: -100106 } as const;

const text = (c: TgCall) => String(c.body['text'] ?? '');
const chatOf = (c: TgCall) => Number(c.body['chat_id']);
const repliesTo = (c: TgCall, id: number) => (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id === id;
const isText = (c: TgCall) => c.method === 'sendMessage' || c.method === 'editMessageText';

/**
 * High availability of the bot with the real processes: two `xenops bot --telegram` on one Redis prefix against the
 * fake Bot API, each naming itself in its API root (b1, b2). The first polls; the second stands by (ready on
 * /readyz, never polling). The first is SIGKILLed while three mutations are held on the hosts: the second starts
 * polling within 10 s of the kill, never while the first polled, and every request — those finished while nobody
 * led, and one finished after the takeover — gets exactly one final reply, edited into the message the dead bot
 * posted; each mutating command reached its host once. And a reply the first bot had claimed and was sending when it
 * was killed (the fake took the edit and never answered) is sent by the second, into the same message.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('bot high availability', () => {
  let h: ProcessHarness | null = null;
  let fake: FakeTelegram | null = null;
  let redis: Redis | null = null;
  afterEach(async () => {
    redis?.disconnect();
    redis = null;
    await h?.stopAll();
    await fake?.stop();
    h = null;
    fake = null;
  });

  /** The fake Bot API, a simulator and an agent on a new prefix; `envFor(name)` starts a bot that names itself there. */
  async function startRun() {
    const tg = new FakeTelegram(TOKEN);
    fake = tg;
    await tg.start();
    // The "queued" line at once: these tests follow replies into the message it made (bot.queuedReplyDelayMs).
    const harness = new ProcessHarness({
      configPath: demoConfigWith({ 'bot.fleetRefreshMs': 600_000, 'approvals.enabled': false, 'bot.queuedReplyDelayMs': 0 }),
    });
    h = harness;
    const r = new Redis(harness.redisUrl);
    redis = r;
    const sim = (await harness.startSim()).control;
    await harness.startAgent();
    const envFor = (client: string) => ({ TELEGRAM_BOT_TOKEN: tg.token, TELEGRAM_API_ROOT: tg.apiRootFor(client) });
    return { tg, harness, r, sim, envFor };
  }

  it('the standby takes over within 10 s of a SIGKILL, and every request gets one final reply', async () => {
    const { tg, harness, r, sim, envFor } = await startRun();
    let updates = 0;
    const say = (chat: number, line: string) => {
      updates++;
      return tg.sendText(ALICE, { id: chat, type: 'supergroup' }, line);
    };
    /** The first call (past or future) showing a final reply in `chat` that matches `re`. */
    const final = (chat: number, re: RegExp) =>
      tg.waitFor((c) => isText(c) && c.messageId !== undefined && chatOf(c) === chat && re.test(text(c)));

    const bot1 = await harness.startBot({ adapters: ['--telegram'], env: envFor('b1') });
    await tg.waitForPoll((p) => p.client === 'b1' && p.timeout > 0);
    const bot2 = await harness.startBot({ adapters: ['--telegram', '--http-port', '0'], env: envFor('b2') });

    // The standby is ready, and says who leads.
    const url = await opsUrlOf(bot2, 'stderr', 10_000);
    const ready = await fetch(`${url}/readyz`);
    const body = (await ready.json()) as { checks: { name: string; ok: boolean; detail: string }[] };
    expect(ready.status).toBe(200);
    expect(body.checks.find((c) => c.name === 'leader')?.detail).toMatch(/^standby: the leader is /);
    expect(body.checks.find((c) => c.name === 'adapters')?.detail).toBe('telegram on standby (run by the leader)');

    const list = say(CHATS.list, '/list');
    expect((await final(CHATS.list, /Domains on 2 hosts/)).client).toBe('b1');

    // Three mutations, each held on its host: two finish while nobody leads, one after the takeover.
    await sim.addFault({ host: 'xen1', kind: 'delay', match: '\\bcreate\\b', ms: 2_000 });
    await sim.addFault({ host: 'xen2', kind: 'delay', match: '\\bpause\\b', ms: 2_000 });
    await sim.addFault({ host: 'xen1', kind: 'delay', match: '\\bshutdown\\b', ms: 12_000 });
    const { lastSeq } = await sim.log();
    const asked = {
      start: say(CHATS.start, '/start mail'),
      stop: say(CHATS.stop, '/stop web'),
      pause: say(CHATS.pause, '/pause files'),
    };
    await sim.waitForLog({ match: '\\b(create|shutdown|pause)\\b', count: 3, since: lastSeq, timeoutMs: 30_000 });
    // Bot 1 has confirmed every update (its next getUpdates asks past them): none is handed to bot 2 again.
    await tg.waitForPoll((p) => p.client === 'b1' && p.offset > updates);
    const queued = (id: number) => tg.calls.find((c) => c.method === 'sendMessage' && repliesTo(c, id) && c.messageId !== undefined);
    // The "queued" lines are out (the hosts may have the commands before the fake has answered for them)…
    for (const id of Object.values(asked))
      expect((await tg.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, id) && c.messageId !== undefined)).client).toBe('b1');
    // …and bot 1 has stored where they are. Killed between the fake's answer and that write, a bot leaves the old target,
    // and its successor posts the result anew instead of editing (README, the guarantees table): not what this test is about.
    await expect
      .poll(
        async () => {
          const keys = await r.keys(`${harness.prefix}:pending-target:*`);
          const targets = keys.length > 0 ? await r.mget(...keys) : [];
          return targets.filter((t) => t !== null && (JSON.parse(t) as { state: { messageId?: number } }).state.messageId !== undefined)
            .length;
        },
        { timeout: 10_000 },
      )
      .toBe(3);

    const killedAt = Date.now();
    bot1.kill('SIGKILL');
    await bot1.exited;
    const firstPoll = await tg.waitForPoll((p) => p.client === 'b2');
    const takeoverMs = firstPoll.at - killedAt;
    process.stderr.write(`bot HA: the standby's first getUpdates came ${takeoverMs} ms after the SIGKILL\n`);
    expect(takeoverMs).toBeLessThan(10_000);
    expect(tg.pollCalls.filter((p) => p.client === 'b2' && p.at < killedAt)).toEqual([]);

    const finals = {
      start: await final(CHATS.start, /mail started on xen1/),
      stop: await final(CHATS.stop, /web shut down on xen1/),
      pause: await final(CHATS.pause, /files paused on xen2/),
    };
    for (const [name, call] of Object.entries(finals)) {
      // Delivered by the new leader, edited into the message the dead one posted.
      expect(call.client, name).toBe('b2');
      expect(call.method, name).toBe('editMessageText');
      expect(Number(call.body['message_id']), name).toBe(queued(asked[name as keyof typeof asked])?.messageId);
    }
    // Both ways of the takeover were taken: create and pause ended before the new leader polled (their replies come
    // from its recovery), the shutdown after it (its reply from the job's own event).
    const endOf = async (match: string) => (await sim.log({ match, since: lastSeq, ended: true })).entries[0]?.end?.at ?? Number.NaN;
    expect(await endOf('\\bcreate\\b')).toBeLessThan(firstPoll.at);
    expect(await endOf('\\bpause\\b')).toBeLessThan(firstPoll.at);
    expect(await endOf('\\bshutdown\\b')).toBeGreaterThan(firstPoll.at);
    // New requests reach the new leader.
    say(CHATS.after, '/list xen2');
    expect((await final(CHATS.after, /Domains on xen2/)).client).toBe('b2');

    // Stopped, bot 2 sends nothing more: now every reply there will ever be is on the fake.
    bot2.kill('SIGTERM');
    expect((await bot2.exited).code).toBe(0);
    const count = (chat: number, re: RegExp) => tg.calls.filter((c) => isText(c) && chatOf(c) === chat && re.test(text(c))).length;
    expect(count(CHATS.list, /Domains on 2 hosts/)).toBe(1);
    expect(count(CHATS.start, /mail started on xen1/)).toBe(1);
    expect(count(CHATS.stop, /web shut down on xen1/)).toBe(1);
    expect(count(CHATS.pause, /files paused on xen2/)).toBe(1);
    expect(count(CHATS.after, /Domains on xen2/)).toBe(1);
    // When this fails, what was sent to the chat and what bot 1 warned of say why.
    const warned = [...bot1.log.lines, ...bot1.stdout.lines, ...bot1.stderr.lines].filter((l) => /"level":(40|50)/.test(l)).slice(0, 20);
    const listChat = tg.calls.filter((c) => chatOf(c) === CHATS.list).map((c) => `${c.client} ${c.method} ${text(c).slice(0, 40)}`);
    expect(
      tg.calls.filter((c) => isText(c) && repliesTo(c, list)),
      [...listChat, ...warned].join('\n'),
    ).toHaveLength(1);
    // Never two pollers at once; each mutation reached its host once.
    expect(tg.pollOverlaps).toEqual([]);
    expect(await received(sim, 'xen1', /\bcreate\b/)).toBe(1);
    expect(await received(sim, 'xen1', /\bshutdown\b/)).toBe(1);
    expect(await received(sim, 'xen2', /\bpause\b/)).toBe(1);
  }, 120_000);

  it('a reply the leader claimed and was sending when it was SIGKILLed is sent by the new leader, into the same message', async () => {
    const { tg, harness, r, envFor } = await startRun();
    const bot1 = await harness.startBot({ adapters: ['--telegram'], env: envFor('b1') });
    await tg.waitForPoll((p) => p.client === 'b1' && p.timeout > 0);
    const bot2 = await harness.startBot({ adapters: ['--telegram'], env: envFor('b2') });

    // Bot 1's result edit reaches Telegram, which never answers: bot 1 dies with it in flight (not applied).
    const isResult = (c: TgCall) => isText(c) && chatOf(c) === CHATS.hung && /Domains on xen1/.test(text(c));
    tg.holdNext((c) => c.client === 'b1' && isResult(c));
    const asked = tg.sendText(ALICE, { id: CHATS.hung, type: 'supergroup' }, '/list xen1');
    const hung = await tg.waitForHeld(isResult);
    expect(hung.method).toBe('editMessageText');
    const queued = tg.calls.find((c) => c.method === 'sendMessage' && repliesTo(c, asked) && c.messageId !== undefined);
    expect(Number(hung.body['message_id'])).toBe(queued?.messageId);
    // Where the "queued" line is, stored (as in the test above: not what this one is about).
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
      .toBe(queued?.messageId);

    bot1.kill('SIGKILL');
    await bot1.exited;
    // The lease lapses in 6 s; the new leader's recovery sends the reply once the claim is older than the grace (2 ×
    // lease + 2 s: 14 s), in case the old leader was still sending it.
    await expect.poll(() => tg.calls.some((c) => isResult(c) && c.client === 'b2'), { timeout: 30_000 }).toBe(true);
    const result = tg.calls.find((c) => isResult(c) && c.client === 'b2') as TgCall;
    expect(result.method).toBe('editMessageText');
    expect(Number(result.body['message_id'])).toBe(queued?.messageId);
    expect(tg.message(CHATS.hung, queued?.messageId ?? 0)?.text).toMatch(/Domains on xen1/);

    // Taken over from the dead leader's claim (its recovery), not claimed afresh.
    await bot2.waitForLine(/"msg":"the final reply was claimed by a bot that went before sending it: this bot sends it"/, 5_000, {
      stream: 'stderr',
    });

    // Stopped, bot 2 sends nothing more: one result in the chat, in the one message.
    bot2.kill('SIGTERM');
    expect((await bot2.exited).code).toBe(0);
    expect(tg.calls.filter(isResult)).toHaveLength(1);
    expect(tg.calls.filter((c) => chatOf(c) === CHATS.hung && c.method === 'sendMessage')).toHaveLength(1);
  }, 90_000);
});
