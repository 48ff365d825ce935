import { describe, expect, it } from 'vitest';
import type { TgCall } from '../../../test/helpers/fake-telegram/server.ts';
import { textOf, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * A basic group the config lets in by its id, upgraded to a supergroup while no bot was there to be told: the first
 * thing the bot gets from the supergroup may be a click on a button posted there (a card, a "Show more"), not a typed
 * command. Telegram is asked about the group then as for a message, and the click is answered as in the group.
 */
const TOKEN = '123456784:AAclickTOKENclickTOKENclickTOKENcl00';
const CLICKED = { old: -4200000001, new: -1004200000001 };
const ALICE = 1001;

const tg = useTelegramStack(TOKEN, {
  adjustConfig: (c) => ({ ...c, channels: [{ platform: 'telegram', id: String(CLICKED.old) }] }),
});
const { fake } = tg;

/** The first answer to click `id` with something in it: its alert or toast, or a message or edit in the chat. */
function answerToClick(id: string, chatId: number): Promise<TgCall> {
  const before = new Set(fake.calls);
  return fake.waitFor(
    (c) =>
      c.failedWith === undefined &&
      ((c.method === 'answerCallbackQuery' && c.body['callback_query_id'] === id && textOf(c) !== '') ||
        ((c.method === 'sendMessage' || c.method === 'editMessageText') && !before.has(c) && Number(c.body['chat_id']) === chatId)),
  );
}

describe('a click is the first thing from an upgraded group the bot was not told of', () => {
  it('asks Telegram about the group, and answers the click as in the group', async () => {
    fake.migrateChat(CLICKED.old, CLICKED.new);
    const action = await tg.stack.bot.createAction('whoami', {});
    const click = fake.callback(ALICE, { id: CLICKED.new, type: 'supergroup', title: 'ops' }, 7, action);
    const answer = textOf(await answerToClick(click, CLICKED.new));
    expect(answer).not.toMatch(/Not allowed here|not enabled/);
    expect(answer).toMatch(/You are alice/);
    expect(fake.calls.filter((c) => c.method === 'getChat').map((c) => String(c.body['chat_id']))).toEqual([String(CLICKED.old)]);
  });
});
