import { beforeAll, describe, expect, it } from 'vitest';
import type { TgCall } from '../helpers/fake-telegram/server.ts';
import { repliesTo, textOf as text, useTelegramStack } from '../helpers/fake-telegram/stack.ts';
import { fleetWarm } from '../helpers/stack.ts';

/**
 * Answers meant for one person (errors, refusals, approval decisions) to a button click in a Telegram group, through
 * the real telegraf client against the fake Bot API. Telegram has no message only one member of a group sees: such an
 * answer is the clicker's alert (answerCallbackQuery, 200 characters), or a message in their private chat with the
 * bot, and the group gets at most a note without the answer. Demo people: alice admin (1001), bob operator on call
 * (1002), dave operator on xen2 only (1004).
 */
const TOKEN = '123456789:AAprivateANSWERSprivateANSWERS000';
const GROUP = { id: -1005556667778, type: 'supergroup' as const, title: 'ops' };
const TG = { alice: 1001, bob: 1002, dave: 1004 };
const TOPIC = 77;

const tg = useTelegramStack(TOKEN);
const { fake } = tg;

const inGroup = (c: TgCall) => Number(c.body['chat_id']) === GROUP.id;
const idIn = (t: string) => /Approval needed: [^<\n"]*? — ([A-Z2-9]{6})/.exec(t)?.[1] ?? '';
const buttons = (card: number) =>
  fake
    .message(GROUP.id, card)
    ?.keyboard?.inline_keyboard.flat()
    .map((b) => b.text);
/** Everything the group was shown (new messages and edits), as sent. */
const groupTexts = () => fake.calls.filter((c) => (c.method === 'sendMessage' || c.method === 'editMessageText') && inGroup(c)).map(text);
const answersTo = (callbackId: string) => fake.callbackAnswers.filter((a) => a.id === callbackId);

/** alice asks for a risky command in the group (in `topic` when given): the approval card answering her message. */
async function ask(command: string, topic?: number): Promise<{ id: string; card: number }> {
  const asked = fake.sendText(TG.alice, GROUP, command, topic === undefined ? {} : { topic });
  const card = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, asked));
  const id = idIn(text(card));
  expect(id, text(card)).toMatch(/^[A-Z2-9]{6}$/);
  return { id, card: card.messageId ?? 0 };
}

/**
 * Resolves once the answer to click `callbackId` has gone somewhere: an alert or toast with text, or a message or edit
 * sent after the click that matches `re` (wherever it went: the group, a private chat). Where it went is for the test
 * to judge.
 */
function answered(callbackId: string, re: RegExp): Promise<TgCall> {
  const before = new Set(fake.calls);
  return fake.waitFor(
    (c) =>
      c.failedWith === undefined &&
      ((c.method === 'answerCallbackQuery' && c.body['callback_query_id'] === callbackId && text(c) !== '') ||
        ((c.method === 'sendMessage' || c.method === 'editMessageText') && !before.has(c) && re.test(text(c)))),
  );
}

/** The card still asks everyone, with its buttons; no private answer was ever edited into it. */
function expectCardUntouched(card: number, id: string, secret: RegExp): void {
  expect(fake.message(GROUP.id, card)?.text).toContain(`— ${id}`);
  expect(fake.message(GROUP.id, card)?.text).not.toMatch(secret);
  expect(buttons(card)).toEqual(['Approve', 'Deny']);
  expect(fake.calls.filter((c) => c.method === 'editMessageText' && Number(c.body['message_id']) === card)).toEqual([]);
}

/** Withdraws approval `id` (alice, typed), so the next test's card is the only one pending. */
async function withdraw(id: string): Promise<void> {
  const typed = fake.sendText(TG.alice, GROUP, `/deny ${id}`);
  await fake.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, typed) && text(c).includes(`Withdrawn ${id}`));
}

beforeAll(async () => {
  await fleetWarm(tg.stack);
}, 60_000);

describe('Telegram: an answer meant for the clicker never lands in the group', () => {
  it("dave's Approve is refused to him alone, as an alert: the group never sees the refusal, the card stays", async () => {
    const { id, card } = await ask('/stop web');
    const click = fake.press(TG.dave, GROUP, card, 'Approve');
    await answered(click, /Not allowed/);

    const [alert, ...more] = answersTo(click);
    expect(more).toEqual([]);
    expect(alert?.showAlert).toBe(true);
    expect(alert?.text).toMatch(/^⛔ Not allowed\n/);
    expect(alert?.text).toContain('may approve this');
    expect(groupTexts().filter((t) => /Not allowed|may approve this/.test(t))).toEqual([]);
    expect(fake.privateMessages(TG.dave)).toEqual([]);
    expectCardUntouched(card, id, /Not allowed/);
    await withdraw(id);
  }, 60_000);

  it('an answer too long for an alert goes to the private chat; the clicker gets a toast, the group nothing', async () => {
    // A button whose request is refused at length (the rule for names, and the usage): more than an alert's 200 characters.
    const bad = await tg.stack.bot.createAction('stop', { domain: 'n'.repeat(150) });
    const { id, card } = await ask('/stop web');
    const click = fake.callback(TG.dave, GROUP, card, bad);
    // The toast comes last, once the private chat has the answer.
    await fake.waitFor((c) => c.method === 'answerCallbackQuery' && c.body['callback_query_id'] === click);

    const dm = fake.privateMessages(TG.dave);
    expect(dm).toHaveLength(1);
    expect(dm[0]?.text).toContain('Bad arguments for /stop');
    expect(dm[0]?.text).toContain('is not a valid domain name');
    expect(dm[0]?.text).toContain('Your button click in ops');
    expect(answersTo(click)).toEqual([expect.objectContaining({ showAlert: false, text: expect.stringContaining('private chat') })]);
    expect(groupTexts().filter((t) => /Bad arguments/.test(t))).toEqual([]);
    expectCardUntouched(card, id, /Bad arguments/);
    await withdraw(id);
  }, 60_000);

  it('too long for an alert and dave never started the bot: the alert carries what fits and how to get the rest', async () => {
    fake.closePrivateChat(TG.dave);
    const bad = await tg.stack.bot.createAction('stop', { domain: 'n'.repeat(150) });
    const { id, card } = await ask('/stop web');
    const before = fake.privateMessages(TG.dave).length;
    const click = fake.callback(TG.dave, GROUP, card, bad);
    await answered(click, /Bad arguments for \/stop/);

    const [alert, ...more] = answersTo(click);
    expect(more).toEqual([]);
    expect(alert?.showAlert).toBe(true);
    expect(alert?.text.length).toBeLessThanOrEqual(200);
    expect(alert?.text).toMatch(/^⛔ Bad arguments for \/stop/);
    expect(alert?.text).toContain('@xenops_bot');
    expect(fake.privateMessages(TG.dave)).toHaveLength(before);
    expect(groupTexts().filter((t) => /Bad arguments/.test(t))).toEqual([]);
    expectCardUntouched(card, id, /Bad arguments/);
    await withdraw(id);
  }, 60_000);

  it('a click answered too late for an alert goes to the private chat', async () => {
    const { id, card } = await ask('/stop web');
    const click = fake.press(TG.alice, GROUP, card, 'Approve');
    // Telegram takes no answer to a query this old (the bot was slow to decide).
    fake.expireCallback(click);
    await answered(click, /cannot approve your own request/);

    const dm = fake.privateMessages(TG.alice);
    expect(dm.map((m) => m.text)).toEqual([expect.stringContaining('you cannot approve your own request')]);
    expect(groupTexts().filter((t) => /cannot approve your own/.test(t))).toEqual([]);
    expectCardUntouched(card, id, /Not allowed/);
    await withdraw(id);
  }, 60_000);

  it('in a forum topic, with neither an alert nor the private chat left: a note without the answer, in the topic', async () => {
    fake.closePrivateChat(TG.bob, 'blocked');
    const { id, card } = await ask('/stop web', TOPIC);
    const click = fake.press(TG.bob, GROUP, card, 'Deny', { topic: TOPIC });
    fake.expireCallback(click);
    const note = await fake.waitFor((c) => c.method === 'sendMessage' && inGroup(c) && repliesTo(c, card) && c.failedWith === undefined);
    expect(text(note)).toContain(`tg://user?id=${TG.bob}`);

    expect(note.body['message_thread_id']).toBe(TOPIC);
    expect(repliesTo(note, card)).toBe(true);
    expect(text(note)).toContain('@xenops_bot');
    expect(text(note)).not.toMatch(new RegExp(`Denied|${id}|nothing ran`));
    expect(groupTexts().filter((t) => new RegExp(`Denied ${id}`).test(t))).toEqual([]);
    // bob's denial itself settles the card, publicly: that is the desk's card, not his answer.
    await expect.poll(() => fake.message(GROUP.id, card)?.text ?? '', { timeout: 20_000 }).toMatch(/denied by bob/);
  }, 60_000);

  it("a typed command's refusal in the group stays a reply there: it answers what the person typed publicly", async () => {
    const { id, card } = await ask('/stop web');
    const typed = fake.sendText(TG.dave, GROUP, `/approve ${id}`);
    const refusal = await fake.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, typed));
    expect(text(refusal)).toContain('Not allowed');
    expect(inGroup(refusal)).toBe(true);
    expectCardUntouched(card, id, /Not allowed/);
    await withdraw(id);
  }, 60_000);

  it("bob's approval is told to bob alone; the card says publicly that it was approved", async () => {
    const { id, card } = await ask('/stop web');
    const click = fake.press(TG.bob, GROUP, card, 'Approve');
    await answered(click, new RegExp(`Approved ${id}`));

    expect(answersTo(click)).toEqual([expect.objectContaining({ showAlert: true, text: expect.stringContaining(`Approved ${id}`) })]);
    expect(groupTexts().filter((t) => t.includes(`Approved ${id}`))).toEqual([]);
    // The card is the desk's to settle (who approved, what runs): that is public by design.
    await expect.poll(() => fake.message(GROUP.id, card)?.text ?? '', { timeout: 20_000 }).toMatch(/web shut down on xen1/);
    expect(fake.message(GROUP.id, card)?.keyboard).toBeNull();
  }, 60_000);
});
