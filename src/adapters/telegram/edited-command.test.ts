import { describe, expect, it } from 'vitest';
import { answerTo, repliesTo, textOf, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * Telegram lets a message be edited, and sends the edit as an edited_message update. An edited command is not run:
 * its first version may be running or done already (a "/stop web" edited to "/stop mail" would stop both), and a
 * command is what was sent. But the person who fixed a typo in place must not wait for an answer that never comes.
 */
const TOKEN = '123456789:AAeditedTOKENeditedTOKENeditedTOK00';
const GROUP = { id: -1007200000001, type: 'supergroup' as const, title: 'ops' };

const tg = useTelegramStack(TOKEN);
const { fake } = tg;

describe('an edited command', () => {
  it('is not run, and its sender is told to send it again', async () => {
    const id = fake.sendText(1001, GROUP, '/whoami');
    expect(await answerTo(fake, id)).toMatch(/You are alice/);
    fake.sendText(1001, GROUP, '/pause web', { edits: id });
    const note = await fake.waitFor(
      (c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id) && !/You are alice/.test(textOf(c)),
    );
    expect(textOf(note)).toBe(
      '⛔ <b>Edited command not run</b>\nxenops runs a command as it was sent, never an edit of it: send /pause web as a new message',
    );
    expect(tg.stack.sim.hosts['xen1']?.commandLog.filter((c) => c.includes('pause'))).toEqual([]);
  });

  it('is quoted back with the secrets typed in it taken out', async () => {
    const id = fake.sendText(1001, GROUP, '/whoami');
    expect(await answerTo(fake, id)).toMatch(/You are alice/);
    fake.sendText(1001, GROUP, `/freeze web token ${TOKEN} and redis://ops:s3cretpass@db:6379`, { edits: id });
    const note = await fake.waitFor(
      (c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id) && !/You are alice/.test(textOf(c)),
    );
    expect(textOf(note)).toContain('send /freeze web token [redacted] and redis://ops:[redacted]@db:6379 as a new message');
    expect(textOf(note)).not.toContain('s3cretpass');
    expect(textOf(note)).not.toContain(TOKEN.split(':')[1]);
  });

  it('to another bot, or a message that is no command, gets no answer', async () => {
    const id = fake.sendText(1001, GROUP, 'hello');
    fake.sendText(1001, GROUP, '/list@other_bot', { edits: id });
    fake.sendText(1001, GROUP, 'hello again', { edits: id });
    // Updates are handled in order: once this one is answered, the edits before it were handled.
    const later = fake.sendText(1001, GROUP, '/whoami');
    expect(await answerTo(fake, later)).toMatch(/You are alice/);
    expect(fake.calls.filter((c) => c.method === 'sendMessage' && repliesTo(c, id))).toEqual([]);
  });
});
