import type { Platform } from '../config/schema.ts';

export type { Platform };

/** Who sent a request, as the platform knows them. Mapped to a person by `identify()`; display names never decide access. */
export interface Actor {
  platform: Platform;
  userId: string;
  /** Platform role ids (Discord member roles); bound to xenops roles in config. */
  roleIds: readonly string[];
  displayName: string;
  /** Telegram: the message came from the group itself (an anonymous admin). */
  anonymousAdmin?: boolean;
}

export interface Channel {
  id: string;
  kind: 'direct' | 'group';
  name?: string;
}

/**
 * Arguments as they came: a line of text (terminal, Telegram: `web --force`, `web force:true`) or
 * structured options (Discord slash command options). One parser turns either into the command's zod input.
 */
export type RawArgs = { kind: 'text'; text: string } | { kind: 'options'; options: Readonly<Record<string, string | number | boolean>> };

/** One chat request, platform-neutral. */
export interface ChatRequest {
  /** Unique per platform event and stable across redelivery (Discord interaction id, Telegram chat+message id). */
  id: string;
  platform: Platform;
  actor: Actor;
  channel: Channel;
  command: string;
  args: RawArgs;
  /** Epoch ms on this bot's own clock (Date.now()), when it took the request in. */
  receivedAt: number;
  /**
   * Epoch ms when the person sent it, as the platform stamped it (Telegram's message date, to the second), where the
   * platform may hand over events long after they were sent (Telegram keeps updates for a day while no bot polls).
   * Absent where events are live only (Discord interactions, the terminal).
   */
  sentAt?: number;
  /**
   * 'action' = a button click that an adapter turned back into a request; 'system' = made by xenops itself
   * (a schedule, an approved request resuming) through `Bot.run`, acting as `asPerson`.
   */
  source: 'command' | 'action' | 'system';
  /** For system requests: the config person the request acts as (identified directly, not by platform id). */
  asPerson?: string;
  /** A schedule's tick (system requests only): no "queued" message; the final one is the post. */
  schedule?: { id: string; mode: 'post' | 'edit' };
}
