import { describe, expect, it } from 'vitest';
import { repliesTo, textOf, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * Telegram answers 401 Unauthorized to every call once the bot's token is revoked (BotFather /revoke) or replaced: it
 * says nothing about the reply, which Telegram takes once the bot runs with a valid token. A final reply that met a
 * 401 must be kept and tried again, not dropped as one Telegram refused — the chat would show "queued" for good.
 */
const TOKEN = '123456788:AAtokenrefusedTOKENtokenrefusedTOK00';
const GROUP = { id: -1007100000001, type: 'supergroup' as const, title: 'ops' };

const { fake } = useTelegramStack(TOKEN);

describe('a final reply that meets a 401 (the bot token refused)', () => {
  it('is tried again, and shown once Telegram takes the token again', async () => {
    fake.failNext((c) => c.method === 'editMessageText' && /mail now starts with xen1/.test(textOf(c)), {
      status: 401,
      description: 'Unauthorized',
    });
    const id = fake.sendText(1001, GROUP, '/autostart mail on');
    const queued = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
    await fake.waitFor((c) => c.failedWith === 401);
    await expect.poll(() => fake.message(GROUP.id, queued.messageId ?? 0)?.text, { timeout: 20_000 }).toMatch(/mail now starts with xen1/);
  }, 30_000);
});
