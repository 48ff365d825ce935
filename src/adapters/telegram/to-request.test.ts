import { describe, expect, it } from 'vitest';
import { messageToRequest, type TgMessage } from './to-request.ts';

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
