import { describe, expect, it } from 'vitest';
import { repliesTo, textOf as text, useTelegramStack } from '../helpers/fake-telegram/stack.ts';

/**
 * Where replies land, and that they land at all, when Telegram behaves as it does in production: a 502 from
 * api.telegram.org, a bot message deleted by someone, forum topics, updates handed over hours late.
 */
const TOKEN = '123456780:AAdeliveryTOKENdeliveryTOKENdeliv00';
const GROUP = { id: -1009876543210, type: 'supergroup' as const, title: 'ops' };

const tg = useTelegramStack(TOKEN);
const { fake } = tg;

/** The bot's messages in the group that show `pattern` now. */
const showing = (pattern: RegExp) => [...fake.messages.values()].filter((m) => m.chatId === GROUP.id && pattern.test(m.text));

describe('Telegram delivery when Telegram misbehaves', () => {
  it('retries the result edit that got a 502 from Telegram, and posts nothing twice', async () => {
    fake.failNext((c) => c.method === 'editMessageText' && /mail started on xen1/.test(text(c)));
    const id = fake.sendText(1001, GROUP, '/start mail');
    const queued = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
    const refused = await fake.waitFor((c) => c.failedWith === 502);
    const applied = await fake.waitFor((c) => c.method === 'editMessageText' && c.messageId === queued.messageId && c.at >= refused.at);
    expect(text(applied)).toContain('mail started on xen1');
    expect(fake.message(GROUP.id, queued.messageId ?? 0)?.text).toContain('mail started on xen1');
    expect(showing(/mail started on xen1/)).toHaveLength(1);
  });

  it('posts the result anew, as a reply to the command, when the message it would edit was deleted', async () => {
    const id = fake.sendText(1001, GROUP, '/autostart mail on');
    const queued = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
    // Someone tidies the chat as soon as the "queued" message appears: every edit of it now answers 400.
    fake.deleteMessage(GROUP.id, queued.messageId ?? 0);
    await fake.waitFor((c) => c.method === 'editMessageText' && Number(c.body['message_id']) === queued.messageId);
    await expect.poll(() => showing(/mail now starts with xen1/).length, { timeout: 10_000 }).toBe(1);
    const [shown] = showing(/mail now starts with xen1/);
    const posted = fake.calls.find((c) => c.method === 'sendMessage' && c.messageId === shown?.messageId);
    expect(posted && repliesTo(posted, id)).toBe(true);
  });

  it('in a forum topic, sends the reply and its document to the topic the command came from', async () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `[${String(i).padStart(5)}] kernel: a console line long enough to matter ${i}`);
    tg.stack.sim.fleet.host('xen1').files.set('/var/log/xen/console/guest-web.log', `${lines.join('\n')}\n`);
    const TOPIC = 77;
    const id = fake.sendText(1001, GROUP, '/console web 2000', { topic: TOPIC });
    const first = await fake.waitFor((c) => c.method === 'sendMessage' && repliesTo(c, id));
    const doc = await fake.waitFor((c) => c.method === 'sendDocument' && c.files['document']?.name === 'web-console.txt');
    // Without message_thread_id Telegram posts in the forum's General topic (a document is no reply to the command).
    expect([first.body['message_thread_id'], Number(doc.body['message_thread_id'])]).toEqual([TOPIC, TOPIC]);
  });

  it('stamps a command with when it was typed: one typed hours ago, while the bot was down, is not run now', async () => {
    // Telegram keeps updates for 24 h: a bot back after an outage gets them all at once. gateway autostarts
    // (config/demo.yaml); "/autostart gateway off" was typed three hours ago.
    const id = fake.sendText(1001, GROUP, '/autostart gateway off', { sentAt: Date.now() - 3 * 3600_000 });
    const answered = await fake.waitFor(
      (c) =>
        (c.method === 'sendMessage' && repliesTo(c, id) && !text(c).startsWith('⏳')) ||
        (c.method === 'editMessageText' &&
          fake.calls.some((s) => s.method === 'sendMessage' && repliesTo(s, id) && s.messageId === Number(c.body['message_id'])) &&
          !text(c).startsWith('⏳')),
    );
    const unlinked = tg.stack.sim.hosts['xen1']?.commandLog.filter((c) => /unlink .*gateway/.test(c)) ?? [];
    expect({ unlinked, answer: text(answered) }).toMatchObject({ unlinked: [], answer: expect.stringMatching(/Too late[\s\S]*3 h ago/) });
  });
});
