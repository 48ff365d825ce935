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
  /** In a forum supergroup: the topic, with is_topic_message true (elsewhere it may name a reply thread). */
  message_thread_id?: number;
  is_topic_message?: boolean;
  /** A forwarded message: who wrote it first (Bot API 7; `forward_date` before), and a channel post the linked group got. */
  forward_origin?: unknown;
  forward_date?: number;
  is_automatic_forward?: boolean;
  /** Service messages of a basic group's upgrade to a supergroup: in the group, and in the supergroup. */
  migrate_to_chat_id?: number;
  migrate_from_chat_id?: number;
}

/**
 * The forum topic a message was sent in, or undefined (not a forum, or its General topic). Every reply to it must name
 * the topic: a message, photo or document sent with the chat id alone lands in General.
 */
export function topicOf(message: Pick<TgMessage, 'message_thread_id' | 'is_topic_message'>): number | undefined {
  return message.is_topic_message === true && typeof message.message_thread_id === 'number' ? message.message_thread_id : undefined;
}

/**
 * A text message that starts with a bot command → a request, or null (not a command, a bare `/`, a command
 * addressed to another bot in a group: `/list@otherbot`, or a forwarded message). The id (chat + message) is stable
 * across redelivery.
 */
export function messageToRequest(message: TgMessage, botUsername: string): ChatRequest | null {
  // Typed as the Bot API documents it, but it arrives as JSON: fields of another type are read as absent (a text or
  // entity that is not one is no command; a message without a numeric chat and message id cannot be answered).
  const text = typeof message.text === 'string' ? message.text : '';
  const entity = Array.isArray(message.entities)
    ? message.entities.find((e) => e?.type === 'bot_command' && e.offset === 0 && typeof e.length === 'number')
    : undefined;
  if (!text || !entity) return null;
  // A forward keeps the original's text and entities: someone else's words, quoted (a "/pause web" forwarded to ask
  // about it), never a command of the one who forwarded it.
  if (message.forward_origin != null || message.forward_date != null || message.is_automatic_forward === true) return null;
  const chat = message.chat;
  if (typeof chat?.id !== 'number' || typeof message.message_id !== 'number') return null;
  const [named = '', target] = text.slice(1, entity.length).split('@');
  if (target && target.toLowerCase() !== botUsername.toLowerCase()) return null;
  // A bare "/" (or "/@thisbot") names no command: ignored, like any chat text. Telegram shows its own command
  // menu when "/" is typed, and answering every stray slash in a group would only be noise.
  if (named === '') return null;
  const rest = text.slice(entity.length).trim();
  // A private chat's Start button sends a bare "/start" (people are told to press it): not `start <domain>`.
  const command = chat.type === 'private' && named.toLowerCase() === 'start' && rest === '' ? 'help' : named;
  const senderChat = typeof message.sender_chat?.id === 'number' ? message.sender_chat : undefined;
  const anonymousAdmin = senderChat?.id === chat.id;
  // Sent on behalf of a chat (a channel its owner posts as): `from` is then Telegram's placeholder user, one for every
  // channel, so the sender is the channel.
  const from = senderChat ? undefined : message.from;
  const name = (...candidates: unknown[]) => candidates.find((c): c is string => typeof c === 'string');
  return {
    id: `tg${chat.id}_${message.message_id}`,
    platform: 'telegram',
    actor: {
      platform: 'telegram',
      userId: senderChat ? String(senderChat.id) : typeof from?.id === 'number' ? String(from.id) : '',
      roleIds: [],
      displayName: anonymousAdmin
        ? (name(senderChat?.title) ?? 'anonymous admin')
        : (name(senderChat?.title, from?.username, from?.first_name) ?? 'unknown'),
      ...(anonymousAdmin ? { anonymousAdmin: true } : {}),
    },
    channel: {
      id: String(chat.id),
      kind: chat.type === 'private' ? 'direct' : 'group',
      ...(typeof chat.title === 'string' && chat.title ? { name: chat.title } : {}),
    },
    command: command.toLowerCase(),
    args: { kind: 'text', text: rest },
    // When this bot took it in, on its own clock (message.date is Telegram's, and whole seconds).
    receivedAt: Date.now(),
    // Telegram hands over what was typed while no bot polled, up to a day later: the core judges its age by this.
    ...(typeof message.date === 'number' && Number.isFinite(message.date) ? { sentAt: message.date * 1000 } : {}),
    source: 'command',
  };
}
