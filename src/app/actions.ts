import { randomBytes } from 'node:crypto';
import type { ActionClick } from '../adapters/types.ts';
import type { ChatRequest } from '../core/request.ts';
import type { RedisClient } from '../queue/redis-connection.ts';

interface StoredAction {
  command: string;
  args: Record<string, string | number | boolean>;
}

/**
 * Buttons: the request a button makes is kept in Redis under an opaque id (platforms carry only the id, ≤ 64 bytes
 * for Telegram); a click becomes a new request of whoever clicked, parsed and authorized again.
 */
export class ActionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async create(command: string, args: Record<string, string | number | boolean>, ttlSeconds = 3600): Promise<string> {
    const id = randomBytes(12).toString('base64url');
    const stored: StoredAction = { command, args };
    await this.redis.set(`${this.prefix}:action:${id}`, JSON.stringify(stored), 'EX', ttlSeconds);
    return id;
  }

  /** The click as a request, or null when the button expired (or the id is not one of ours). */
  async toRequest(click: ActionClick): Promise<ChatRequest | null> {
    const raw = /^[A-Za-z0-9_-]{1,32}$/.test(click.actionId) ? await this.redis.get(`${this.prefix}:action:${click.actionId}`) : null;
    if (!raw) return null;
    const action = JSON.parse(raw) as StoredAction;
    return {
      id: click.id,
      platform: click.platform,
      actor: click.actor,
      channel: click.channel,
      command: action.command,
      args: { kind: 'options', options: action.args },
      receivedAt: click.receivedAt,
      source: 'action',
    };
  }
}
