import { describe, expect, it } from 'vitest';
import { answerTo, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * The README (and the note the group gets) tells people to open a private chat with the bot and press Start, so that
 * answers meant for them alone can reach them. Start sends a bare "/start": it must greet them with what they can
 * run, not refuse them as a `/start <domain>` missing its domain.
 */
const TOKEN = '123456785:AAstartTOKENstartTOKENstartTOKENst00';
const ALICE = { id: 1001, type: 'private' as const };

const { fake } = useTelegramStack(TOKEN);
const answer = (id: number) => answerTo(fake, id);

describe('the Start button of a private chat with the bot', () => {
  it('answers with the commands the person can run', async () => {
    const id = fake.sendText(ALICE.id, ALICE, '/start');
    // In the message itself: /help's list fits one since its usage column stopped at 30 columns.
    const text = await answer(id);
    expect(text).toMatch(/^ℹ️ <b>Commands you can run<\/b>\n<pre>usage +what it does\n/);
    expect(text).toContain('/start &lt;domain&gt;');
  });

  it('leaves "/start mail" the command that starts a domain', async () => {
    const id = fake.sendText(ALICE.id, ALICE, '/start nosuchdomain');
    expect(await answer(id)).toMatch(/^⛔ <b>[^<]*<\/b>\n.*nosuchdomain/);
  });
});
