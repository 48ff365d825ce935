import type { ChannelPolicy } from '../../config/schema.ts';

/** Basic group ids are negative and above -10^12; supergroups and channels (`-100…`) are at or below it. */
export function isBasicGroupId(id: string): boolean {
  const n = Number(id);
  return /^-\d+$/.test(id) && n > -1e12;
}

/**
 * Basic groups Telegram upgraded to supergroups, as Telegram itself told this bot: the service messages it sends in
 * both chats (`migrate_to_chat_id`, `migrate_from_chat_id`), or a 400 carrying `migrate_to_chat_id` for a call to the
 * old id. A message in a chat cannot carry those fields, so nobody in a chat can make one chat pass for another.
 *
 * The supergroup is the group under a new id. While the config's channels name the group (by its old id) and not the
 * supergroup, the supergroup is presented to the core under the group's id: the config's entry for it (its command
 * filter) applies, and so does everything the core keeps by that id (approval channels, schedules, a pending
 * request's channel). Every call the adapter makes for the old id goes to the new one.
 */
export class MovedChats {
  /** Old id → new id. */
  private readonly to = new Map<string, string>();
  /** New id → old id. */
  private readonly from = new Map<string, string>();
  /** Listed basic groups Telegram answered about for good since forgetAsks (still a group, gone…): not asked again. */
  private readonly settled = new Set<string>();
  /** Listed basic groups whose ask failed for a passing reason (5xx, 429, no answer) → when they may be asked again. */
  private readonly askAgainAt = new Map<string, number>();

  constructor(private readonly channels: () => readonly ChannelPolicy[] | undefined) {}

  /** Records that `oldId` is now `newId`; false when that was known already. */
  record(oldId: string, newId: string): boolean {
    if (oldId === newId || this.to.get(oldId) === newId) return false;
    this.to.set(oldId, newId);
    this.from.set(newId, oldId);
    // A call made for an id that was itself recorded as moved here goes to the newest one.
    for (const [old, now] of this.to) if (now === oldId) this.to.set(old, newId);
    return true;
  }

  /** The id a call for `chatId` goes to. */
  sendTo(chatId: string): string {
    return this.to.get(chatId) ?? chatId;
  }

  /** The id the core knows the chat `chatId` by: its former id while only that one is in the config's channels. */
  knownAs(chatId: string): string {
    if (this.named(chatId)) return chatId;
    const former = this.from.get(chatId);
    return former !== undefined && this.named(former) ? former : chatId;
  }

  /** Whether the config's channels name `chatId` itself (not through `*`). */
  named(chatId: string): boolean {
    return (this.channels() ?? []).some((c) => c.platform === 'telegram' && c.id === chatId);
  }

  /** Basic groups the config's channels name whose upgrade is not known here: those Telegram may be asked about. */
  unresolvedGroups(): string[] {
    return (this.channels() ?? []).filter((c) => c.platform === 'telegram' && isBasicGroupId(c.id) && !this.to.has(c.id)).map((c) => c.id);
  }

  /**
   * The unresolved groups to ask Telegram about at `now`: not answered for good, and not failed too recently. Only
   * these cost a call, so a supergroup that never was a listed group does not cost one per message.
   */
  groupsToAsk(now: number): string[] {
    return this.unresolvedGroups().filter((id) => !this.settled.has(id) && (this.askAgainAt.get(id) ?? 0) <= now);
  }

  /** Telegram answered about `id` for good (an upgrade is recorded apart, with record). */
  askAnswered(id: string): void {
    this.settled.add(id);
    this.askAgainAt.delete(id);
  }

  /** Asking about `id` told nothing (a passing failure): it may be asked again from `retryAt`. */
  askFailed(id: string, retryAt: number): void {
    this.askAgainAt.set(id, retryAt);
  }

  /** Every group may be asked about again (a new start: a group may have been upgraded while the bot was stopped). */
  forgetAsks(): void {
    this.settled.clear();
    this.askAgainAt.clear();
  }
}
