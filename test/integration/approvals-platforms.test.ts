import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import type { ChatAdapter } from '../../src/adapters/types.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { type DcCall, type DcMessage, FakeDiscord } from '../helpers/fake-discord/server.ts';
import { FakeTelegram, type TgCall } from '../helpers/fake-telegram/server.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger } from '../helpers/sim.ts';
import { fleetWarm, startTestStack, type TestStack } from '../helpers/stack.ts';

/**
 * The two-person rule across platforms, through the real discord.js and telegraf clients against the fake servers:
 * one bot with both adapters; approval requests are also announced in a Discord channel and the Telegram group, so
 * a request made on one platform is approved (or refused, or expires) on the other, and every message that showed
 * it ends up saying the outcome, without buttons. Demo people: alice admin (1001 / …001), bob operator and on call
 * (1002 / …002), dave operator on xen2 only (1004 / …004).
 */
const DC_TOKEN = 'MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-approvals-token';
const TG_TOKEN = '123456789:AAapprovalsTOKENapprovalsTOKEN0000';
const GROUP = { id: -1001234567890, type: 'supergroup' as const, title: 'ops' };
const TG = { alice: 1001, bob: 1002, dave: 1004 };
const DC = { alice: '200000000000000001', bob: '200000000000000002', dave: '200000000000000004' };

let dc: FakeDiscord;
let tg: FakeTelegram;
let stack: TestStack;
/** The bot that serves now (replaced in the restart test). */
let bot: Bot;
let restarted: Bot | null = null;

const adjust = (c: Config): Config => ({
  ...c,
  discord: { ...c.discord, guildIds: [dc.guildId], roleBindings: {} },
  approvals: {
    ...c.approvals,
    channels: [
      { platform: 'discord', id: dc.channelId },
      { platform: 'telegram', id: String(GROUP.id) },
    ],
  },
});
const makeAdapters = (config: Config): ChatAdapter[] => [
  new DiscordAdapter({ config, logger: quietLogger }),
  new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0, groupPerMinute: 1000 }),
];

// ---- reading what the platforms were sent -------------------------------------------------------------------

const sent = (host: string, re: RegExp) => (stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length;
const tgText = (c: TgCall) => String(c.body['text'] ?? '');
const inGroup = (c: TgCall) => Number(c.body['chat_id']) === GROUP.id;
const repliesTo = (c: TgCall, id: number) => (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id === id;
const tgMarkup = (c: TgCall) => (typeof c.body['reply_markup'] === 'string' ? JSON.parse(c.body['reply_markup']) : c.body['reply_markup']);
const embeds = (c: DcCall) => JSON.stringify((c.body?.['embeds'] as unknown[] | undefined) ?? []);
const idIn = (text: string) => /Approval needed: [^<\n"]*? — ([A-Z2-9]{6})/.exec(text)?.[1] ?? '';
const mentionLink = (userId: number, name: string) => `<a href="tg://user?id=${userId}">${name}</a>`;

/** Resolves with the first Telegram send or edit in the group whose text matches. */
const tgShows = (re: RegExp, also: (c: TgCall) => boolean = () => true) =>
  tg.waitFor((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && inGroup(c) && re.test(tgText(c)) && also(c));

/** The message (as the fake Discord keeps it) that shows approval `id`'s card in the approvals channel. */
function dcShowing(id: string): DcMessage {
  const m = [...dc.messages.values()].find((x) => JSON.stringify(x.embeds).includes(`— ${id}`) && x.flags === 0);
  if (!m) throw new Error(`no Discord message shows ${id}`);
  return m;
}

/** The Telegram button data under a message, by label (kept to replay a stale click later). */
function tgButton(messageId: number, label: string): string {
  const data = tg
    .message(GROUP.id, messageId)
    ?.keyboard?.inline_keyboard.flat()
    .find((b) => b.text === label)?.callback_data;
  if (!data) throw new Error(`Telegram message ${messageId} has no button ${label}`);
  return data;
}

/** alice asks on Telegram: the card answering her message, and its announcement in the Discord channel. */
async function askOnTelegram(text: string): Promise<{ id: string; tgCard: number; dcCard: DcMessage; asked: number }> {
  const asked = tg.sendText(TG.alice, GROUP, text);
  const card = await tg.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, asked));
  const id = idIn(tgText(card));
  expect(id, tgText(card)).toMatch(/^[A-Z2-9]{6}$/);
  await dc.waitFor((c) => c.method === 'POST' && c.route === `/channels/${dc.channelId}/messages` && embeds(c).includes(`— ${id}`));
  return { id, tgCard: card.messageId ?? 0, dcCard: dcShowing(id), asked };
}

/**
 * Every edit a Discord card got: through the channel, and (for a card that fills a deferred reply) through the
 * `@original` of the interaction tokens in `cardTokens`.
 */
function dcEditsOf(messageId: string, cardTokens: string[] = []): DcCall[] {
  return dc.calls.filter(
    (c) =>
      c.method === 'PATCH' &&
      (c.route === `/channels/${dc.channelId}/messages/${messageId}` ||
        cardTokens.some((t) => c.route.includes(`/${t}/messages/@original`))),
  );
}
const tgEditsOf = (messageId: number) =>
  tg.calls.filter((c) => c.method === 'editMessageText' && Number(c.body['message_id']) === messageId);

/**
 * The answer to a Discord click (the interaction `token`) whose text matches: private, as an ephemeral follow-up.
 * The message holding the button is not touched by it (no edit, no delete of @original): the shared card stays.
 */
async function dcPrivateAnswer(token: string, re: RegExp): Promise<DcCall> {
  const answer = await dc.waitFor((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${token}` && re.test(embeds(c)));
  expect(answer.body).toMatchObject({ flags: 64 });
  expect(dc.calls.filter((c) => c.route.includes(`/${token}/messages/`))).toEqual([]);
  return answer;
}

/** The alerts Telegram took for button presses (answerCallbackQuery with a text): what only the clicker saw. */
const tgAlerts = () => tg.calls.filter((c) => c.method === 'answerCallbackQuery' && c.failedWith === undefined && tgText(c) !== '');

/**
 * The answer to Telegram button press `callbackId` whose (plain) text matches: private, as the clicker's alert; the
 * group is never shown it, neither as a message nor in an edit of the card.
 */
async function tgPrivateAnswer(callbackId: string, re: RegExp): Promise<TgCall> {
  const answer = await tg.waitFor((c) => tgAlerts().includes(c) && c.body['callback_query_id'] === callbackId && re.test(tgText(c)));
  expect(answer.body['show_alert']).toBe(true);
  expect(
    tg.calls.filter((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && inGroup(c) && re.test(tgText(c))),
  ).toEqual([]);
  return answer;
}

/** No answer meant for one person (deciders' answers, a dead button) ever replaced a shared card. */
function expectNoAnswerOnCards(id: string, tgCards: number[], dcCards: DcMessage[]): void {
  const answer = new RegExp(
    `(Approved ${id}|${id} was already approved|Not allowed|Withdrawn ${id}|Denied ${id}|"title":"${id} expired|<b>${id} expired|This button has expired)`,
  );
  for (const card of tgCards) {
    expect(tgEditsOf(card).filter((e) => answer.test(tgText(e)))).toEqual([]);
    expect(tg.message(GROUP.id, card)?.text).not.toMatch(answer);
  }
  for (const card of dcCards) expect(JSON.stringify(dc.messages.get(card.id)?.embeds)).not.toMatch(answer);
  expect(dc.calls.filter((c) => c.method === 'PATCH' && /@original$/.test(c.route) && /This button has expired/.test(embeds(c)))).toEqual(
    [],
  );
}

/** A settled Telegram card: shows `outcome`, no keyboard; every edit it got said "no buttons" explicitly. */
async function expectTgSettled(tgCard: number, outcome: RegExp): Promise<void> {
  await expect.poll(() => tg.message(GROUP.id, tgCard)?.text ?? '', { timeout: 15_000 }).toMatch(outcome);
  expect(tg.message(GROUP.id, tgCard)?.keyboard).toBeNull();
  const tgEdits = tgEditsOf(tgCard);
  expect(tgEdits.length).toBeGreaterThan(0);
  for (const e of tgEdits) expect(tgMarkup(e)).toEqual({ inline_keyboard: [] });
}

/**
 * A settled Discord card: shows `outcome`, no buttons, no mention; every edit it got after the request card
 * (through the channel, or the `cardTokens` it fills) said "no buttons, no mention" explicitly.
 */
async function expectDcSettled(dcCard: DcMessage, outcome: RegExp, cardTokens: string[] = []): Promise<void> {
  await expect.poll(() => JSON.stringify(dc.messages.get(dcCard.id)?.embeds), { timeout: 15_000 }).toMatch(outcome);
  expect(dc.buttons(dcCard.id)).toEqual([]);
  expect(dc.messages.get(dcCard.id)?.content).toBe('');
  const dcEdits = dcEditsOf(dcCard.id, cardTokens).filter((c) => !embeds(c).includes('Approval needed'));
  expect(dcEdits.length).toBeGreaterThan(0);
  for (const e of dcEdits) expect(e.body).toMatchObject({ components: [], content: '' });
}

/** After a refusal, withdrawal or expiry: both cards show the same `outcome`. */
async function expectSettled(tgCard: number, dcCard: DcMessage, outcome: RegExp): Promise<void> {
  await expectTgSettled(tgCard, outcome);
  await expectDcSettled(dcCard, outcome);
}

/**
 * After an approval of a request made on Telegram: alice's own card (`tgCard`) said it was approved and being checked,
 * then got the job's `result` edited in; the Discord announcement says who approved it and where the result goes.
 */
async function expectApprovedFromTelegram(tgCard: number, dcCard: DcMessage, what: string, by: string, result: RegExp): Promise<void> {
  const running = `<b>${what}</b>\napproved by ${by}; checking it can still run`;
  await expectTgSettled(tgCard, result);
  expect(tgEditsOf(tgCard).filter((e) => tgText(e).startsWith(`⏳ ${running}`))).toHaveLength(1);
  expect(tgEditsOf(tgCard).map(tgText).at(-1)).toMatch(result);
  await expectDcSettled(dcCard, new RegExp(escapeRe(`"title":"${what} approved by ${by}"`)));
  expect(JSON.stringify(dc.messages.get(dcCard.id)?.embeds)).toContain("running; the result goes to alice's chat");
  expect(JSON.stringify(dc.messages.get(dcCard.id)?.embeds)).not.toMatch(result);
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Makes approval `id` past its expiry in Redis (and, with `tokens`, the interaction tokens of its Discord
 * announcements too: Discord's last 15 minutes, the adapter uses them for 14), as if that much time had passed.
 * Waits until the desk has recorded both announcements first, or its own update would put them back.
 */
async function rewindInRedis(id: string, tokens = false): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const key = `${stack.prefix}:approval:${id}`;
    type Stored = { expiresAt: number; announcements?: { state: Record<string, unknown> }[] };
    const stored = async () => JSON.parse((await redis.get(key)) ?? '{}') as Stored;
    for (const until = Date.now() + 10_000; ((await stored()).announcements ?? []).length < 2; ) {
      if (Date.now() > until) throw new Error(`approval ${id} never recorded its announcements`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const rec = await stored();
    const announcements = (rec.announcements ?? []).map((a) =>
      tokens && typeof a.state['token'] === 'string' ? { ...a, state: { ...a.state, expiresAt: 1 } } : a,
    );
    await redis.set(key, JSON.stringify({ ...rec, expiresAt: Date.now() - 60_000, announcements }), 'KEEPTTL');
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  dc = new FakeDiscord(DC_TOKEN);
  tg = new FakeTelegram(TG_TOKEN);
  await dc.start();
  await tg.start();
  stack = await startTestStack({
    env: { DISCORD_TOKEN: DC_TOKEN, DISCORD_API_ROOT: dc.apiRoot, TELEGRAM_BOT_TOKEN: TG_TOKEN, TELEGRAM_API_ROOT: tg.apiRoot },
    adjustConfig: adjust,
    makeAdapters,
  });
  bot = stack.bot;
  // The fleet cache is warm: lookups answer from memory.
  await fleetWarm(stack);
}, 60_000);

afterAll(async () => {
  await restarted?.stop();
  await stack?.stop();
  await dc?.stop();
  await tg?.stop();
});

describe('approvals across Discord and Telegram (real clients, fake servers)', () => {
  it('a Telegram request, approved with a click on Discord: on-call mentioned on both, runs once, every card settles', async () => {
    const { id, tgCard, dcCard } = await askOnTelegram('/stop web --reason "kernel upgrade"');

    // Telegram: the card answers alice's message, mentions bob with a text mention (a new message: he is notified).
    const tgShown = tg.message(GROUP.id, tgCard);
    expect(tgShown?.text).toContain(mentionLink(TG.bob, 'bob'));
    expect(tgShown?.text).toContain('xen1$ timeout 30 xl shutdown -w web');
    expect(tgShown?.text).toContain('<b>reason</b>: kernel upgrade');
    expect(tgShown?.keyboard?.inline_keyboard.flat().map((b) => b.text)).toEqual(['Approve', 'Deny']);
    expect(tg.notifications.filter((n) => n.messageId === tgCard).map((n) => n.userId)).toEqual([TG.bob]);

    // Discord: the announcement mentions bob in the content (embeds never notify), allowing only him.
    const post = dc.calls.find(
      (c) => c.method === 'POST' && c.route === `/channels/${dc.channelId}/messages` && embeds(c).includes(`— ${id}`),
    );
    expect(post?.body).toMatchObject({ content: `🔔 <@${DC.bob}>`, allowed_mentions: { parse: [], users: [DC.bob] } });
    expect(dc.buttons(dcCard.id).map((b) => b.label)).toEqual(['Approve', 'Deny']);
    expect(dc.notifications.filter((n) => n.messageId === dcCard.id).map((n) => n.userId)).toEqual([DC.bob]);
    expect(sent('xen1', /\bshutdown\b/)).toBe(0);

    // bob approves on Discord and is told privately (an ephemeral follow-up): the card in the channel is not his answer.
    const click = dc.click(DC.bob, dcCard.id, 'Approve');
    const answer = await dcPrivateAnswer(click.token, new RegExp(`"title":"Approved ${id}"`));
    expect(embeds(answer)).toContain('/stop xen1:web is running; alice gets the result');

    // alice's own card in the Telegram group says it is running, then gets the result in place; web was shut down once.
    await tg.waitFor(
      (c) => c.method === 'editMessageText' && Number(c.body['message_id']) === tgCard && /web shut down on xen1/.test(tgText(c)),
    );
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(1);
    await expectApprovedFromTelegram(tgCard, dcCard, '/stop xen1:web', 'bob', /web shut down on xen1/);
    expect(tg.calls.filter((c) => c.method === 'sendMessage' && /web shut down on xen1/.test(tgText(c)))).toEqual([]);
    expectNoAnswerOnCards(id, [tgCard], [dcCard]);
    expect(sent('xen1', /\bshutdown\b.*\bweb\b/)).toBe(1);
  }, 60_000);

  it('a Discord request; bob clicks Approve twice on Telegram and once on Discord at the same moment: approved once, run once', async () => {
    const ask = dc.interact(DC.alice, { id: '10', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'gateway' }] });
    // The card fills alice's deferred reply: an edit, which notifies nobody, so the mention comes as a message of its own.
    const edit = await dc.waitFor(
      (c) => c.method === 'PATCH' && c.route.includes(`/${ask.token}/messages/@original`) && embeds(c).includes('Approval needed'),
    );
    const id = idIn(embeds(edit));
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(edit.body).toMatchObject({ content: `🔔 <@${DC.bob}>`, allowed_mentions: { parse: [], users: [DC.bob] } });
    const ping = await dc.waitFor((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${ask.token}`);
    expect(ping.body).toMatchObject({ allowed_mentions: { parse: [], users: [DC.bob] } });
    expect(String(ping.body?.['content'])).toBe(`🔔 <@${DC.bob}> Approval needed: /stop xen1:gateway — ${id}`);
    expect(dc.notifications.filter((n) => n.userId === DC.bob && dc.messages.get(n.messageId)?.content.includes(id))).toHaveLength(1);
    const dcCard = dcShowing(id);

    // Announced in the Telegram group with the keyboard and a mention of bob.
    const announced = await tgShows(new RegExp(`— ${id}`), (c) => c.method === 'sendMessage');
    const tgCard = announced.messageId ?? 0;
    expect(tgText(announced)).toContain(mentionLink(TG.bob, 'bob'));

    // Two presses of the same Telegram button and a Discord click, all before any of them is answered.
    const presses = [tg.press(TG.bob, GROUP, tgCard, 'Approve'), tg.press(TG.bob, GROUP, tgCard, 'Approve')];
    const click = dc.click(DC.bob, dcCard.id, 'Approve');

    // alice's card (her deferred reply) gets the result in place.
    await dc.waitFor(
      (c) =>
        c.method === 'PATCH' && c.route.includes(`/${ask.token}/messages/@original`) && embeds(c).includes('gateway shut down on xen1'),
    );
    // Every click was answered, privately: the clicker's alert on Telegram, an ephemeral follow-up on Discord; one
    // "Approved", the others "already approved".
    const tgAnswers = () => tgAlerts().filter((c) => presses.includes(String(c.body['callback_query_id'])));
    const dcAnswers = () => dc.calls.filter((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${click.token}`);
    const answers = () => [...tgAnswers().map(tgText), ...dcAnswers().map(embeds)];
    await expect.poll(() => answers().filter((t) => t.includes(`${id} was already approved`)).length, { timeout: 10_000 }).toBe(2);
    expect(answers().filter((t) => new RegExp(`Approved ${id}\\b`).test(t))).toHaveLength(1);
    expect(tgAnswers()).toHaveLength(2);
    expect(tg.calls.filter((c) => c.method === 'sendMessage' && repliesTo(c, tgCard))).toEqual([]);
    expect(dcAnswers()).toHaveLength(1);
    expect(dcAnswers()[0]?.body).toMatchObject({ flags: 64 });
    expect(dc.calls.filter((c) => c.route.includes(`/${click.token}/messages/`))).toEqual([]);
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bgateway\b/)).toBe(1);

    // The Telegram announcement says who approved it and where the result goes; no buttons, never anyone's answer.
    await expectTgSettled(tgCard, /\/stop xen1:gateway approved by bob/);
    expect(tg.message(GROUP.id, tgCard)?.text).toContain("running; the result goes to alice's chat");
    expect(tg.message(GROUP.id, tgCard)?.text).not.toContain('gateway shut down');
    // alice's card: approved and being checked, then the result, every edit after the request card without buttons.
    await expectDcSettled(dcCard, /gateway shut down on xen1/, [ask.token]);
    const aliceEdits = dcEditsOf(dcCard.id, [ask.token]).map(embeds);
    expect(
      aliceEdits.filter((e) => e.includes('"title":"/stop xen1:gateway"') && e.includes('approved by bob; checking it can still run')),
    ).toHaveLength(1);
    expect(aliceEdits.at(-1)).toContain('gateway shut down on xen1');
    expectNoAnswerOnCards(id, [tgCard], [dcCard]);
    await new Promise((r) => setTimeout(r, 500));
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bgateway\b/)).toBe(1);
  }, 60_000);

  it('the domain restarted between request and approval: approved on Discord, the agent refuses and touches nothing', async () => {
    const { id, tgCard, dcCard } = await askOnTelegram('/stop files');
    const host = stack.sim.fleet.host('xen2');
    const files = stack.sim.fleet.findDomain(host, 'files');
    if (!files) throw new Error('no files');
    stack.sim.fleet.removeDomain(host, files);
    stack.sim.fleet.addDomain(host, { name: 'files', memoryMiB: files.memoryMiB, vcpus: files.vcpus, flags: '-b----' });
    const click = dc.click(DC.bob, dcCard.id, 'Approve');
    await dcPrivateAnswer(click.token, new RegExp(`"title":"Approved ${id}"`));
    // The refusal is the result: it comes to alice's card, in place.
    const refused = await tg.waitFor(
      (c) => c.method === 'editMessageText' && Number(c.body['message_id']) === tgCard && /Could not stop/.test(tgText(c)),
    );
    expect(tgText(refused)).toMatch(
      new RegExp(`files was restarted \\(id \\d+ → \\d+\\) since approval ${id} was asked for: nothing was done`),
    );
    await expectApprovedFromTelegram(tgCard, dcCard, '/stop xen2:files', 'bob', /Could not stop/);
    expectNoAnswerOnCards(id, [tgCard], [dcCard]);
    expect(sent('xen2', /\b(shutdown|destroy)\b.*\bfiles\b/)).toBe(0);
  }, 60_000);

  it('Approve after expiry says expired and runs nothing; every card says expired; stale clicks say so too', async () => {
    const { id, tgCard, dcCard } = await askOnTelegram('/stop files');
    const staleApprove = tgButton(tgCard, 'Approve');
    await rewindInRedis(id);

    const click = dc.click(DC.bob, dcCard.id, 'Approve');
    // bob is told privately (ephemeral follow-up; the card is not replaced by his answer).
    const told = await dcPrivateAnswer(click.token, new RegExp(`"title":"${id} expired"`));
    expect(embeds(told)).toMatch(new RegExp(`${id} expired.*it expired at \\d\\d:\\d\\d UTC; nothing ran`));
    await expectSettled(tgCard, dcCard, new RegExp(`Approval ${id} expired`));
    expect(tg.message(GROUP.id, tgCard)?.text).toMatch(/\/stop xen2:files was not approved by \d\d:\d\d UTC; nothing ran/);
    expect(JSON.stringify(dc.messages.get(dcCard.id)?.embeds)).toMatch(/\/stop xen2:files was not approved by \d\d:\d\d UTC; nothing ran/);

    // A stale Approve on Telegram (a client that still shows the keyboard): the desk (not a dead button) says
    // "expired", privately, in bob's alert; the card keeps saying the approval expired.
    const stale = tg.callback(TG.bob, GROUP, tgCard, staleApprove);
    const reply = await tgPrivateAnswer(stale, new RegExp(`^⛔ ${id} expired\n`));
    expect(tgText(reply)).toContain('nothing ran');
    expect(tg.message(GROUP.id, tgCard)?.text).toContain(`Approval ${id} expired`);
    expect(tg.message(GROUP.id, tgCard)?.keyboard).toBeNull();
    expectNoAnswerOnCards(id, [tgCard], [dcCard]);
    expect(sent('xen2', /\b(shutdown|destroy)\b.*\bfiles\b/)).toBe(0);
  }, 60_000);

  it('a Discord card that expires after its interaction token (14 min < 15 min) still loses its buttons, in place', async () => {
    const ask = dc.interact(DC.alice, { id: '11', name: 'stop', type: 1, options: [{ name: 'domain', type: 3, value: 'files' }] });
    const edit = await dc.waitFor(
      (c) => c.method === 'PATCH' && c.route.includes(`/${ask.token}/messages/@original`) && embeds(c).includes('Approval needed'),
    );
    const id = idIn(embeds(edit));
    const dcCard = dcShowing(id);
    const announced = await tgShows(new RegExp(`— ${id}`), (c) => c.method === 'sendMessage');
    const tgCard = announced.messageId ?? 0;
    // Fifteen minutes later, as far as the record knows: the approval and alice's interaction token have expired.
    await rewindInRedis(id, true);

    const press = tg.press(TG.bob, GROUP, tgCard, 'Approve');
    const told = await tgPrivateAnswer(press, new RegExp(`^⛔ ${id} expired\n`));
    expect(tgText(told)).toContain('nothing ran');
    // The card (alice's deferred reply) is edited through the channel with the bot token: buttons gone, no new post.
    await expectDcSettled(dcCard, new RegExp(`"title":"Approval ${id} expired"`));
    const viaChannel = dc.calls.filter((c) => c.method === 'PATCH' && c.route === `/channels/${dc.channelId}/messages/${dcCard.id}`);
    expect(viaChannel.length).toBe(1);
    expect(viaChannel[0]?.body).toMatchObject({ components: [], content: '' });
    expect(dc.calls.filter((c) => c.route.includes(ask.token) && embeds(c).includes('expired'))).toEqual([]);
    expect(
      dc.calls.filter(
        (c) => c.method === 'POST' && c.route === `/channels/${dc.channelId}/messages` && embeds(c).includes(`${id} expired`),
      ),
    ).toEqual([]);
    await expectTgSettled(tgCard, new RegExp(`Approval ${id} expired`));
    expectNoAnswerOnCards(id, [tgCard], [dcCard]);
    expect(sent('xen2', /\b(shutdown|destroy)\b.*\bfiles\b/)).toBe(0);
  }, 60_000);

  it('an approver out of scope (dave, on call, xen2 only) is refused on both platforms; the card stays; a withdrawal settles it', async () => {
    const set = tg.sendText(TG.alice, GROUP, '/oncall set dave 2h');
    await tg.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, set) && /✅/.test(tgText(c)));
    try {
      const started = tg.sendText(TG.alice, GROUP, '/start mail');
      await tg.waitFor(
        (c) => (c.method === 'sendMessage' ? repliesTo(c, started) : true) && inGroup(c) && /mail started on xen1/.test(tgText(c)),
      );

      const { id, tgCard, dcCard } = await askOnTelegram('/stop mail');
      // dave is on call, but may not run /stop on xen1: the card says so and does not call on him (his approval
      // would be refused); nobody else may approve it (alice, the only admin, asked).
      expect(tg.message(GROUP.id, tgCard)?.text).not.toContain(mentionLink(TG.dave, 'dave'));
      expect(tg.message(GROUP.id, tgCard)?.text).toContain('nobody on call may approve this; dave on call may not run /stop there');
      expect(dc.messages.get(dcCard.id)?.content ?? '').not.toContain(DC.dave);

      // dave is refused privately on both platforms (an ephemeral follow-up; his alert).
      const click = dc.click(DC.dave, dcCard.id, 'Approve');
      const refused = await dcPrivateAnswer(click.token, /"title":"Not allowed"/);
      expect(embeds(refused)).toContain('dave may not run /stop on xen1, so may not approve it there');
      const press = tg.press(TG.dave, GROUP, tgCard, 'Approve');
      const tgRefused = await tgPrivateAnswer(press, /Not allowed/);
      expect(tgText(tgRefused)).toContain('dave may not run /stop on xen1, so may not approve it there');
      // One person's refusal does not replace the card for everyone: it still asks, with its buttons.
      expect(tg.message(GROUP.id, tgCard)?.text).toContain(`Approval needed: /stop xen1:mail — ${id}`);
      expect(tgEditsOf(tgCard)).toEqual([]);
      expect(
        tg
          .message(GROUP.id, tgCard)
          ?.keyboard?.inline_keyboard.flat()
          .map((b) => b.text),
      ).toEqual(['Approve', 'Deny']);
      expect(JSON.stringify(dc.messages.get(dcCard.id)?.embeds)).toContain(`Approval needed: /stop xen1:mail — ${id}`);
      expect(dcEditsOf(dcCard.id)).toEqual([]);
      expect(dc.buttons(dcCard.id).map((b) => b.label)).toEqual(['Approve', 'Deny']);

      // A migration of files (xen2) to xen1 touches xen1: dave may not approve that either.
      const migration = await askOnTelegram('/migrate files xen1');
      const m = dc.click(DC.dave, migration.dcCard.id, 'Approve');
      const mRefused = await dcPrivateAnswer(m.token, /"title":"Not allowed"/);
      expect(embeds(mRefused)).toContain('dave may not run /migrate on xen1, so may not approve it there');
      expect(dc.buttons(migration.dcCard.id).map((b) => b.label)).toEqual(['Approve', 'Deny']);

      // alice withdraws both: the cards say so, without buttons; a late click on Discord is told, privately, that
      // it was withdrawn.
      const dcApprove = dc.buttons(dcCard.id).find((b) => b.label === 'Approve')?.customId ?? '';
      const deny = tg.sendText(TG.alice, GROUP, `/deny ${id}`);
      await tg.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, deny) && tgText(c).includes(`Withdrawn ${id}`));
      await expectSettled(tgCard, dcCard, /\/stop xen1:mail was withdrawn by alice/);
      expect(tg.message(GROUP.id, tgCard)?.text).toContain('nothing ran');
      const denyMigration = tg.sendText(TG.alice, GROUP, `/deny ${migration.id} not today`);
      await tg.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, denyMigration) && tgText(c).includes(`Withdrawn ${migration.id}`));
      // A withdrawal's card names who withdrew it and why, on every card.
      await expectSettled(migration.tgCard, migration.dcCard, /\/migrate xen2:files to xen1 was withdrawn by alice: not today/);

      const late = dc.interact(DC.bob, { custom_id: dcApprove, component_type: 2 }, 3, [], dcCard.id);
      const lateAnswer = await dcPrivateAnswer(late.token, new RegExp(`"title":"${id} was withdrawn"`));
      expect(embeds(lateAnswer)).toContain('by alice');
      expect(JSON.stringify(dc.messages.get(dcCard.id)?.embeds)).toMatch(/\/stop xen1:mail was withdrawn by alice/);
      expect(dc.buttons(dcCard.id)).toEqual([]);
      expectNoAnswerOnCards(id, [tgCard], [dcCard]);
      expectNoAnswerOnCards(migration.id, [migration.tgCard], [migration.dcCard]);
      expect(sent('xen1', /\b(shutdown|destroy)\b.*\bmail\b/)).toBe(0);
      expect(sent('xen2', /\bmigrate\b/)).toBe(0);
    } finally {
      // bob is on call again for the tests that follow, also when this one failed.
      const back = tg.sendText(TG.alice, GROUP, '/oncall set bob 2h');
      await tg.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, back) && /✅/.test(tgText(c)));
    }
  }, 60_000);

  it('a bot restart with an approval pending: a new bot approves it with /approve on Telegram, and it runs once', async () => {
    const { id, tgCard, dcCard } = await askOnTelegram('/stop mail');
    await bot.stop();
    restarted = await createBot({
      config: stack.config,
      redis: stack.config.redis.url,
      logger: quietLogger,
      adapters: makeAdapters(stack.config),
    });
    await restarted.start();
    bot = restarted;

    const approve = tg.sendText(TG.bob, GROUP, `/approve ${id}`);
    const answer = await tg.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, approve));
    expect(tgText(answer)).toContain(`Approved ${id}`);
    await tg.waitFor(
      (c) => c.method === 'editMessageText' && Number(c.body['message_id']) === tgCard && /mail shut down on xen1/.test(tgText(c)),
    );
    expect(sent('xen1', /\bshutdown\b.*\bmail\b/)).toBe(1);
    await expectApprovedFromTelegram(tgCard, dcCard, '/stop xen1:mail', 'bob', /mail shut down on xen1/);

    // Approved again, with /approve on Discord: the "thinking…" goes, the answer is an ephemeral follow-up.
    const again = tg.sendText(TG.bob, GROUP, `/approve ${id}`);
    const twice = await tg.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, again));
    expect(tgText(twice)).toContain(`${id} was already approved`);
    const slash = dc.interact(DC.bob, { id: '12', name: 'approve', type: 1, options: [{ name: 'id', type: 3, value: id }] });
    const dcTwice = await dc.waitFor((c) => c.method === 'POST' && c.route === `/webhooks/${dc.appId}/${slash.token}`);
    expect(dcTwice.body).toMatchObject({ flags: 64 });
    expect(embeds(dcTwice)).toContain(`${id} was already approved`);
    expect(dc.calls.filter((c) => c.route === `/webhooks/${dc.appId}/${slash.token}/messages/@original`).map((c) => c.method)).toEqual([
      'DELETE',
    ]);
    expectNoAnswerOnCards(id, [tgCard], [dcCard]);
    expect(sent('xen1', /\bshutdown\b.*\bmail\b/)).toBe(1);
  }, 60_000);
});
