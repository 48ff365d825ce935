import { OwnedKeys, type OwnedResult } from './owned-key.ts';
import type { RedisClient } from './redis-connection.ts';

/**
 * One migration arriving at a host at a time, fleet-wide: the hold a migration (a plan's step or a /migrate) takes on
 * its target from its free-memory check until its read-back. Two migrations on two agents would otherwise read the
 * same free_memory at the same moment — before either copy is built there — and both be sent, together overfilling
 * the target or eating a plan's reserve. A migration holds one target and nothing else but its own domain (taken
 * before, by the bot), and a holder never waits for a domain: no two migrations can wait for each other.
 */

/** Who holds a target: shown to the step that waits for it, and in its refusal. */
export interface IncomingHolder {
  /**
   * This run of the step, unique: two runs of one job (BullMQ handing it out again while its first run goes on) must
   * not take or let go of each other's hold.
   */
  token: string;
  requestId: string;
  person: string;
  /** The chat command (`migrate`, `evacuate`, `rebalance`). */
  command: string;
  domain: string;
  /** The source host. */
  host: string;
  target: string;
  /** Epoch ms when it was taken. */
  since: number;
}

export type IncomingResult = OwnedResult<IncomingHolder>;

/**
 * The holds, one key per target under the hash-tagged prefix, each with a TTL the holder renews: a dead agent's hold
 * lapses on its own (its migration, if sent, is counted by the target's free_memory from then on).
 */
export class IncomingMigrations {
  private readonly keys: OwnedKeys<IncomingHolder>;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    this.keys = new OwnedKeys<IncomingHolder>(redis, 'token');
  }

  key(target: string): string {
    return `${this.prefix}:incoming:${target}`;
  }

  acquire(holder: IncomingHolder, ttlMs: number): Promise<IncomingResult> {
    return this.keys.acquire(this.key(holder.target), holder, ttlMs);
  }

  renew(target: string, token: string, ttlMs: number): Promise<boolean> {
    return this.keys.renew(this.key(target), token, ttlMs);
  }

  release(target: string, token: string): Promise<boolean> {
    return this.keys.release(this.key(target), token);
  }
}

/** "db from xen4 (bob's /evacuate, request tg-42, since 12:00:03 UTC)", or "another migration" when unreadable. */
export function describeIncoming(holder: IncomingHolder | null): string {
  if (!holder) return 'another migration';
  const since = Number.isFinite(holder.since) ? `, since ${new Date(holder.since).toISOString().slice(11, 19)} UTC` : '';
  return `${holder.domain} from ${holder.host} (${holder.person}'s /${holder.command}, request ${holder.requestId}${since})`;
}
