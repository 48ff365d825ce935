import type { Platform } from '../config/schema.ts';
import type { Choice, CommandSpec } from '../core/command-spec.ts';
import type { Reply } from '../core/reply.ts';
import type { Actor, Channel, ChatRequest } from '../core/request.ts';

export type { Choice, CommandOptionSpec, CommandSpec, Risk } from '../core/command-spec.ts';

/** JSON-safe so pending replies can be kept in Redis and delivered by a restarted bot. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * Where a reply goes, and (after the first delivery) which message to edit. `state` is private to the adapter
 * that made it (message id, Discord interaction token and its expiry…); the core only stores and passes it back.
 */
export interface ReplyTarget {
  platform: Platform;
  channelId: string;
  /** The request this target answers; the terminal adapter uses it to know when a request is done. */
  requestId: string;
  state: { [key: string]: JsonValue };
  /**
   * Set by the adapter once the chat the request came from could not be reached (deleted, the bot removed from it):
   * the target's replies go to the asker privately (a direct message, their private chat with the bot) from then on.
   */
  privately?: boolean;
  /** The key of a delivery an earlier reply said comes now (Reply.due): this target's final reply is that delivery. */
  due?: string;
}

/** A button click turned back into a request: the core looks `actionId` up server-side and re-authorizes the clicker. */
export interface ActionClick {
  /** Platform id of the click event (stable across redelivery). */
  id: string;
  actionId: string;
  platform: Platform;
  actor: Actor;
  channel: Channel;
  receivedAt: number;
}

/** What the bot core offers to adapters. Everything a platform needs, nothing platform-specific. */
export interface BotCore {
  commandSpecs(): readonly CommandSpec[];
  /**
   * Synchronous, no I/O: parse + identify + channel check + permission dry run. Returns the error/denial reply
   * (private) or null when the request may go on. Lets Discord answer denials ephemerally within 3 s.
   */
  precheck(req: ChatRequest): Reply | null;
  /** The whole pipeline. Never throws; every outcome reaches the user through adapter.deliver(target, …). */
  handle(req: ChatRequest, target: ReplyTarget): Promise<void>;
  /** Autocomplete choices (≤ 25) from memory, only what the actor may act on. Never throws. */
  autocomplete(actor: Actor, channel: Channel, command: string, option: string, partial: string): Choice[];
  /** A button click. Never throws. */
  handleAction(click: ActionClick, target: ReplyTarget): Promise<void>;
}

export interface ChatAdapter {
  readonly platform: Platform;
  /**
   * Replies can be delivered only by the process that received the request (the terminal: its own stdout), not
   * by any bot with the same adapter (Discord, Telegram: one shared API).
   */
  readonly processLocal?: boolean;
  /** Connects and starts feeding requests to core. Resolves once the adapter is ready to receive. */
  start(core: BotCore): Promise<void>;
  /** Stops receiving; flushes queued outbound messages. */
  stop(): Promise<void>;
  /**
   * Sends `reply` for the target: the first call posts (or fills the deferred interaction), later calls edit the
   * same message. Returns the target for the next update. Must not throw for platform errors it can absorb;
   * throws only when the message cannot be delivered at all.
   */
  deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget>;
  /** A new message in a channel with no request behind it (scheduled status posts, job outliving a token). */
  post(channelId: string, reply: Reply): Promise<ReplyTarget>;
  /** Pins a delivered message where the platform has pins (an `edit` schedule's message). */
  pin?(target: ReplyTarget): Promise<void>;
  /**
   * The platform roles a user holds now (Discord role ids), looked up: an approved request's requester is checked
   * again with them before it runs. Absent: the platform gives roles with a request only (none of xenops' bind them).
   * `ok: false`: they cannot be known now (the platform did not answer, this bot is not connected to it).
   */
  currentRoles?(userId: string): Promise<{ ok: true; roleIds: string[] } | { ok: false; reason: string }>;
  /**
   * Whether the adapter is connected to its platform now (gateway ready, polling or webhook running, terminal open),
   * for /readyz. Optional: an adapter without it counts as connected once started.
   */
  connected?(): boolean;
}
