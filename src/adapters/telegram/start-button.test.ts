import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeTelegram, TgCall } from '../../../test/helpers/fake-telegram/server.ts';
import { startTelegramStack, type TelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * The README (and the note the group gets) tells people to open a private chat with the bot and press Start, so that
 * answers meant for them alone can reach them. Start sends a bare "/start": it must greet them with what they can
 * run, not refuse them as a `/start <domain>` missing its domain.
 */
const TOKEN = '123456785:AAstartTOKENstartTOKENstartTOKENst00';
const ALICE = { id: 1001, type: 'private' as const };

let fake: FakeTelegram;
let running: TelegramStack | null = null;

beforeAll(async () => {
  running = await startTelegramStack(TOKEN);
  fake = running.fake;
}, 60_000);

afterAll(async () => {
  await running?.stop();
});

const repliesTo = (c: TgCall, id: number) => (c.body['reply_parameters'] as { message_id?: number } | undefined)?.message_id === id;
async function answer(id: number): Promise<string> {
  const sent = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
  return String(sent.body['text']);
}

describe('the Start button of a private chat with the bot', () => {
  it('answers with the commands the person can run', async () => {
    const id = fake.sendText(ALICE.id, ALICE, '/start');
    expect(await answer(id)).toMatch(
      /^ℹ️ <b>Commands you can run<\/b>\n<i>The full output \(\d+ lines\) is attached as Commands-you-can-run\.txt\.<\/i>$/,
    );
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && c.body['chat_id'] === String(ALICE.id));
    expect(doc.files['document']?.data.toString()).toContain('/start <domain>');
  });

  it('leaves "/start mail" the command that starts a domain', async () => {
    const id = fake.sendText(ALICE.id, ALICE, '/start nosuchdomain');
    expect(await answer(id)).toMatch(/^⛔ <b>[^<]*<\/b>\n.*nosuchdomain/);
  });
});
