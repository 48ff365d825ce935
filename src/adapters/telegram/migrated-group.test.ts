import { describe, expect, it } from 'vitest';
import type { TgCall } from '../../../test/helpers/fake-telegram/server.ts';
import { textOf as text, useTelegramStack } from '../../../test/helpers/fake-telegram/stack.ts';
import { reply } from '../../core/reply.ts';

/**
 * A basic group upgraded to a supergroup (Telegram does it when a member turns on topics or history for new members)
 * gets a new chat id: Telegram refuses every send to the old one with 400 and migrate_to_chat_id. A reply to a
 * command typed before the upgrade, and a scheduled post configured with the old id, must still arrive.
 */
const TOKEN = '123456782:AAmigrateTOKENmigrateTOKENmigrate00';
const OLD = { id: -4242424242, type: 'group' as const, title: 'ops' };
const NEW = -1004242424242;

const tg = useTelegramStack(TOKEN);
const { fake } = tg;

const inChat = (c: TgCall, chat: number) => Number(c.body['chat_id']) === chat;

describe('a group upgraded to a supergroup', () => {
  it('gets the answer to a command typed just before the upgrade, in the supergroup', async () => {
    const id = fake.sendText(1001, OLD, '/whoami');
    fake.migrateChat(OLD.id, NEW);
    const refused = await fake.waitFor((c) => c.method === 'sendMessage' && inChat(c, OLD.id));
    expect(refused.failedWith).toBe(400);
    const sent = await fake.waitFor((c) => c.method === 'sendMessage' && inChat(c, NEW) && c.messageId !== undefined);
    expect(text(sent)).toBe('ℹ️ <b>You are alice</b>\n<b>platform</b>: telegram\n<b>your id</b>: 1001\n<b>roles</b>: admin');
    expect(sent.body['reply_parameters']).toMatchObject({ message_id: id, allow_sending_without_reply: true });
  });

  it("posts a schedule's message, configured with the old id, in the supergroup", async () => {
    const adapter = tg.adapter;
    const target = await adapter.post(String(OLD.id), reply.result('Fleet board', [reply.text('all good')]));
    const shown = fake.message(NEW, Number(target.state['messageId']));
    expect(shown?.text).toBe('✅ <b>Fleet board</b>\nall good');
    await adapter.pin(target);
    expect(fake.pins.has(`${NEW}:${String(target.state['messageId'])}`)).toBe(true);
  });

  it('gets the result of a job that posted "queued" before the upgrade, as a new message in the supergroup', async () => {
    const adapter = tg.adapter;
    const before = -4343434343;
    const after = -1004343434343;
    const queued = await adapter.post(String(before), reply.progress('/start mail', 'queued'));
    fake.migrateChat(before, after);
    const done = await adapter.deliver(queued, reply.result('mail started on xen1', [reply.text('read back from the host')]));
    const shown = fake.message(after, Number(done.state['messageId']));
    expect(shown?.text).toBe('✅ <b>mail started on xen1</b>\nread back from the host');
  });
});
