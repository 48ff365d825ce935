import { describe, expect, it } from 'vitest';
import type { TgCall } from '../../../test/helpers/fake-telegram/server.ts';
import { answerTo, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';

/**
 * The config lets in basic groups by their ids, and the bot missed their upgrades' announcements: it asks Telegram
 * about them (getChat) when a supergroup it does not know writes. An ask that failed for a passing reason (a 502 from
 * Telegram's front, a 429) told nothing: the group is asked about again later (here at once: the test's interval is 0),
 * not left locked out until a restart. A definitive answer (the group is still a group) is not asked again, so a
 * supergroup that never was a listed group costs no Bot API call per message.
 */
const TOKEN = '123456783:AAaskagainTOKENaskagainTOKENaskag00';
const FLAKY = { old: -4300000001, new: -1004300000001 };
const LIMITED = { old: -4300000002, new: -1004300000002 };
const STILL_A_GROUP = -4300000003;
const STRANGER = { id: -1004300000009, type: 'supergroup' as const, title: 'elsewhere' };
const supergroup = (id: number) => ({ id, type: 'supergroup' as const, title: 'ops' });

const tg = useTelegramStack(TOKEN, {
  adapter: { groupAskAgainMs: 0 },
  adjustConfig: (c) => ({
    ...c,
    channels: [FLAKY.old, LIMITED.old, STILL_A_GROUP].map((id) => ({ platform: 'telegram' as const, id: String(id) })),
  }),
});
const { fake } = tg;

const getChatOf = (id: number) => (c: TgCall) => c.method === 'getChat' && String(c.body['chat_id']) === String(id);
const asks = (id: number) => fake.calls.filter(getChatOf(id)).length;
const refused = (chatId: number) => `⛔ <b>Not allowed here</b>\nxenops is not enabled in this telegram channel (${chatId})`;

describe('asking Telegram about the config’s basic groups', () => {
  it('asks again about a group whose first ask met a 502 or a 429, and then lets its supergroup in', async () => {
    fake.migrateChat(FLAKY.old, FLAKY.new);
    fake.migrateChat(LIMITED.old, LIMITED.new);
    fake.failNext(getChatOf(FLAKY.old), { status: 502 });
    fake.failNext(getChatOf(LIMITED.old), { status: 429, description: 'Too Many Requests: retry after 1' });

    // The first ask told nothing of either group: nothing to let the supergroup in by.
    const first = fake.sendText(1001, supergroup(FLAKY.new), '/whoami');
    expect(await answerTo(fake, first)).toBe(refused(FLAKY.new));

    const again = fake.sendText(1001, supergroup(FLAKY.new), '/whoami');
    expect(await answerTo(fake, again)).toMatch(/^ℹ️ <b>You are alice<\/b>/);
    const limited = fake.sendText(1001, supergroup(LIMITED.new), '/whoami');
    expect(await answerTo(fake, limited)).toMatch(/^ℹ️ <b>You are alice<\/b>/);
    expect(asks(FLAKY.old)).toBe(2);
    expect(asks(LIMITED.old)).toBe(2);
  });

  it('never asks again about a group Telegram said is still a group: another supergroup costs no call', async () => {
    expect(asks(STILL_A_GROUP)).toBe(1);
    const before = fake.calls.filter((c) => c.method === 'getChat').length;
    for (let i = 0; i < 3; i++) {
      const id = fake.sendText(1001, STRANGER, '/whoami');
      expect(await answerTo(fake, id)).toBe(refused(STRANGER.id));
    }
    expect(fake.calls.filter((c) => c.method === 'getChat').length).toBe(before);
  });
});
