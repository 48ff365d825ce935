import type { ChatRequest } from '../../core/request.ts';

/** The parts of a chat-input interaction this adapter reads (raw API shape, so it is testable without a client). */
export interface RawChatInput {
  id: string;
  guildId: string | null;
  channelId: string;
  userId: string;
  username: string;
  roleIds: readonly string[];
  commandName: string;
  options: readonly { name: string; value?: string | number | boolean }[];
  receivedAt: number;
}

/** A slash command → a request; the interaction id is unique and stable across redelivery. */
export function chatInputToRequest(i: RawChatInput): ChatRequest {
  const options: Record<string, string | number | boolean> = {};
  // The payload is JSON: an option without a string name is not one of ours (and could not even be a key).
  for (const o of i.options) if (o.value !== undefined && typeof o.name === 'string') options[o.name] = o.value;
  return {
    id: `dc${i.id}`,
    platform: 'discord',
    actor: { platform: 'discord', userId: i.userId, roleIds: i.roleIds, displayName: i.username },
    channel: { id: i.channelId, kind: i.guildId ? 'group' : 'direct' },
    command: i.commandName,
    args: { kind: 'options', options },
    receivedAt: i.receivedAt,
    source: 'command',
  };
}

/**
 * What has been typed so far in an autocompleted option: Discord sends a string (a number for numeric options). Any
 * other JSON value reads as nothing typed: `String()` of one like `{"toString":false}` would throw.
 */
export function autocompletePartial(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}
