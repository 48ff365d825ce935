import type { ChatRequest } from '../../core/request.ts';

/** The parts of a Telegram message this adapter reads (Bot API Message). */
export interface TgMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: 'private' | 'group' | 'supergroup' | 'channel'; title?: string };
  from?: { id: number; is_bot: boolean; first_name: string; username?: string };
  sender_chat?: { id: number; type: string; title?: string };
  text?: string;
  entities?: { type: string; offset: number; length: number }[];
}

/**
 * A text message that starts with a bot command → a request, or null (not a command, a bare `/`, or a command
 * addressed to another bot in a group: `/list@otherbot`). The id (chat + message) is stable across redelivery.
 */
export function messageToRequest(message: TgMessage, botUsername: string): ChatRequest | null {
  const text = message.text;
  const entity = message.entities?.find((e) => e.type === 'bot_command' && e.offset === 0);
  if (!text || !entity) return null;
  const [command = '', target] = text.slice(1, entity.length).split('@');
  if (target && target.toLowerCase() !== botUsername.toLowerCase()) return null;
  // A bare "/" (or "/@thisbot") names no command: ignored, like any chat text. Telegram shows its own command
  // menu when "/" is typed, and answering every stray slash in a group would only be noise.
  if (command === '') return null;
  const anonymousAdmin = message.sender_chat !== undefined && message.sender_chat.id === message.chat.id;
  const from = message.from;
  return {
    id: `tg${message.chat.id}_${message.message_id}`,
    platform: 'telegram',
    actor: {
      platform: 'telegram',
      userId: anonymousAdmin ? String(message.chat.id) : String(from?.id ?? ''),
      roleIds: [],
      displayName: anonymousAdmin ? (message.sender_chat?.title ?? 'anonymous admin') : (from?.username ?? from?.first_name ?? 'unknown'),
      ...(anonymousAdmin ? { anonymousAdmin: true } : {}),
    },
    channel: {
      id: String(message.chat.id),
      kind: message.chat.type === 'private' ? 'direct' : 'group',
      ...(message.chat.title ? { name: message.chat.title } : {}),
    },
    command: command.toLowerCase(),
    args: { kind: 'text', text: text.slice(entity.length).trim() },
    receivedAt: message.date * 1000,
    source: 'command',
  };
}
