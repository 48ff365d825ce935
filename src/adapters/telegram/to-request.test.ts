import { describe, expect, it } from 'vitest';
import { messageToRequest, type TgMessage, topicOf } from './to-request.ts';

const base: TgMessage = {
  message_id: 9,
  date: 1_700_000_000,
  chat: { id: 42, type: 'private' },
  from: { id: 1001, is_bot: false, first_name: 'A' },
};
const command = (text: string, length = text.split(' ')[0]?.length ?? 0): TgMessage => ({
  ...base,
  text,
  entities: [{ type: 'bot_command', offset: 0, length }],
});

describe('messageToRequest and a bare slash', () => {
  it('ignores a message that is just "/" (or "/@thisbot"), with or without a bot_command entity', () => {
    expect(messageToRequest({ ...base, text: '/' }, 'xenops_bot')).toBeNull();
    expect(messageToRequest(command('/'), 'xenops_bot')).toBeNull();
    expect(messageToRequest(command('/@xenops_bot'), 'xenops_bot')).toBeNull();
    expect(messageToRequest(command('/ list', 1), 'xenops_bot')).toBeNull();
  });

  it('still reads "/list" and "/list@thisbot xen1"', () => {
    expect(messageToRequest(command('/list'), 'xenops_bot')).toMatchObject({ command: 'list', args: { kind: 'text', text: '' } });
    expect(messageToRequest(command('/list@xenops_bot xen1'), 'xenops_bot')).toMatchObject({
      command: 'list',
      args: { kind: 'text', text: 'xen1' },
    });
  });
});

describe('messageToRequest and malformed updates', () => {
  // Found by test/fuzz: the Bot API types were trusted, so a text, entity or id of another JSON type threw
  // (`text.slice is not a function`, `Cannot convert object to primitive value`) instead of being ignored.
  it('ignores a message whose text or entities are not what the Bot API sends, or that has no numeric chat and message id', () => {
    const cases: unknown[] = [
      { ...command('/list'), text: {} },
      { ...command('/list'), text: ['/list'] },
      { ...command('/list'), text: 42 },
      { ...command('/list'), entities: {} },
      { ...command('/list'), entities: [null, 7] },
      { ...command('/list'), entities: [{ type: 'bot_command', offset: 0, length: '5' }] },
      { ...command('/list'), message_id: [{ toString: false }] },
      { ...command('/list'), chat: { id: { toString: false }, type: 'private' } },
      { ...command('/list'), chat: null },
    ];
    for (const message of cases) expect(messageToRequest(message as TgMessage, 'xenops_bot')).toBeNull();
  });

  it('reads a sender, a name or a date of another type as absent (an unknown person, who is then told so)', () => {
    const req = messageToRequest(
      {
        ...command('/whoami'),
        date: 'yesterday',
        from: { id: { toString: false }, is_bot: false, first_name: { toString: false }, username: 5 },
        sender_chat: null,
        chat: { id: 42, type: 'group', title: { toString: false } },
      } as unknown as TgMessage,
      'xenops_bot',
    );
    expect(req).toMatchObject({ actor: { userId: '', displayName: 'unknown' }, channel: { id: '42', kind: 'group' }, command: 'whoami' });
    expect(req?.channel).not.toHaveProperty('name');
    expect(Number.isFinite(req?.receivedAt)).toBe(true);
    expect(req).not.toHaveProperty('sentAt');
  });
});

describe('messageToRequest and when a command was typed', () => {
  it('stamps sentAt from the message date (Telegram keeps updates a day while no bot polls)', () => {
    expect(messageToRequest(command('/stop web'), 'xenops_bot')?.sentAt).toBe(1_700_000_000_000);
  });
});

describe('topicOf', () => {
  it('reads the forum topic of a topic message, and no topic for a reply thread in a plain group', () => {
    expect(topicOf({ message_thread_id: 77, is_topic_message: true })).toBe(77);
    expect(topicOf({ message_thread_id: 77 })).toBeUndefined();
    expect(topicOf({})).toBeUndefined();
  });
});
