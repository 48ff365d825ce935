import { DiscordAPIError, type REST, RESTJSONErrorCodes, Routes } from 'discord.js';
import { redactSecrets } from '../../core/log.ts';
import { withTimeout } from '../../core/with-timeout.ts';

/** A user's role ids in the guilds asked, or why Discord could not say. */
export type MemberRoles = { ok: true; roleIds: string[] } | { ok: false; reason: string };

/**
 * How long a lookup's answer stands for the same user: a role taken away counts in direct messages within this
 * (in a guild, Discord sends the roles with every interaction). It spares Discord a lookup per autocomplete keystroke.
 */
export const MEMBER_ROLES_TTL_MS = 30_000;

/**
 * How long a lookup may take, however @discordjs/rest gets on (unbounded, it waits out every 429 however long and
 * gives each of its 4 tries 15 s). It is made after the interaction's defer, so the 3 s do not bound it: long enough
 * to ride out what the REST client does by itself — a 5xx retried at once, a route's 429 of a few seconds — yet well
 * under its 15 s for one request that hangs, since the user watches "thinking…" meanwhile and is better told to try
 * again; and far within the token's 15 minutes, so the answer still goes through the deferred reply.
 */
export const MEMBER_ROLES_TIMEOUT_MS = 10_000;

/**
 * How long an autocomplete waits for a lookup: it cannot be deferred, and its answer is due within the interaction's
 * 3 s. A lookup it gives up on goes on (up to MEMBER_ROLES_TIMEOUT_MS) and is kept for the next keystroke.
 */
export const AUTOCOMPLETE_ROLES_WAIT_MS = 1_500;

/**
 * The guilds worth asking about a user: those holding a role the config binds (a role id belongs to one guild), as
 * the gateway announced them. Pure.
 */
export function guildsToAsk(guilds: Iterable<{ id: string; roleIds: Iterable<string> }>, bound: ReadonlySet<string>): string[] {
  const asked: string[] = [];
  for (const g of guilds) if ([...g.roleIds].some((r) => bound.has(r))) asked.push(g.id);
  return asked;
}

/**
 * A direct message carries no member, so no roles: the user's roles are looked up in the guilds given (GET
 * /guilds/{guild}/members/{user}, which needs no privileged intent). Not a member there (or the bot no longer in it):
 * no roles from it. Any other failure, or no answer in time, is not taken for "no roles" nor for the last answer: the
 * caller refuses, saying so. Answers are kept MEMBER_ROLES_TTL_MS; lookups at the same time for one user share one.
 * A lookup is given up after MEMBER_ROLES_TIMEOUT_MS, its requests aborted (they would hold the guild's route queue).
 */
export class MemberRoleLookup {
  private readonly known = new Map<string, { at: number; roleIds: string[] }>();
  private readonly running = new Map<string, Promise<MemberRoles>>();

  constructor(
    private readonly rest: REST,
    private readonly options: { ttlMs?: number; timeoutMs?: number; now?: () => number } = {},
  ) {}

  /**
   * `fresh`: Discord is asked now, neither a kept answer nor one already on its way used (an approved request's
   * requester, checked once as it is about to run: a role taken away since their direct message must count).
   * `waitMs`: how long this caller waits (an autocomplete, which cannot be deferred), the lookup going on without it.
   */
  async of(
    userId: string,
    guildIds: readonly string[],
    { fresh = false, waitMs }: { fresh?: boolean; waitMs?: number } = {},
  ): Promise<MemberRoles> {
    const answer = this.shared(userId, guildIds, fresh);
    if (waitMs === undefined) return answer;
    return withTimeout(answer, waitMs, `Discord did not answer within ${waitMs / 1000} s`).catch(
      (error: unknown): MemberRoles => ({ ok: false, reason: error instanceof Error ? error.message : String(error) }),
    );
  }

  private async shared(userId: string, guildIds: readonly string[], fresh: boolean): Promise<MemberRoles> {
    if (guildIds.length === 0) return { ok: true, roleIds: [] };
    const key = `${userId}@${[...guildIds].sort().join(',')}`;
    const now = this.options.now ?? Date.now;
    const kept = this.known.get(key);
    if (!fresh && kept && now() - kept.at < (this.options.ttlMs ?? MEMBER_ROLES_TTL_MS)) return { ok: true, roleIds: kept.roleIds };
    this.known.delete(key);
    const pending = this.running.get(key);
    if (!fresh && pending !== undefined) return pending;
    const lookup = this.lookup(userId, guildIds)
      .then((roleIds): MemberRoles => {
        this.forgetExpired(now());
        this.known.set(key, { at: now(), roleIds });
        return { ok: true, roleIds };
      })
      .catch(
        (error: unknown): MemberRoles => ({ ok: false, reason: redactSecrets(error instanceof Error ? error.message : String(error)) }),
      )
      .finally(() => {
        // A fresh lookup may have taken this one's place meanwhile: that one is left to share.
        if (this.running.get(key) === lookup) this.running.delete(key);
      });
    this.running.set(key, lookup);
    return lookup;
  }

  private async lookup(userId: string, guildIds: readonly string[]): Promise<string[]> {
    const limit = this.options.timeoutMs ?? MEMBER_ROLES_TIMEOUT_MS;
    // The abort frees the route's queue at the limit but cannot end a 429 wait: the timeout below bounds that.
    const signal = AbortSignal.timeout(limit);
    const each = guildIds.map(async (guildId) => {
      try {
        const member = (await this.rest.get(Routes.guildMember(guildId, userId), { signal })) as { roles?: unknown };
        return Array.isArray(member.roles) ? member.roles.map(String) : [];
      } catch (error) {
        if (error instanceof DiscordAPIError && NOT_THERE.has(Number(error.code))) return [];
        throw error;
      }
    });
    const found = await withTimeout(Promise.all(each), limit, `Discord did not answer within ${limit / 1000} s`);
    return [...new Set(found.flat())];
  }

  /** Only answers still standing are kept: the map does not grow with every user who ever wrote. */
  private forgetExpired(at: number): void {
    const ttl = this.options.ttlMs ?? MEMBER_ROLES_TTL_MS;
    for (const [key, v] of this.known) if (at - v.at >= ttl) this.known.delete(key);
  }
}

/** The user is not a member there, or the bot is no longer in that guild: no roles from it. */
const NOT_THERE = new Set<number>([RESTJSONErrorCodes.UnknownMember, RESTJSONErrorCodes.UnknownGuild, RESTJSONErrorCodes.MissingAccess]);
