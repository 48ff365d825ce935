import { TelegramError } from 'telegraf';

/**
 * What a failed Bot API call tells about what happened on Telegram's side, and so whether trying it again is safe.
 * Telegram has no idempotency key: a call is sent again only when it cannot have taken effect, or when taking effect
 * twice changes nothing (an edit to the same text, a pin).
 */

/** Connection failures before a byte of the request left this host: Telegram never saw it. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH']);

/** node-fetch's FetchError (what telegraf throws for a transport failure); `code` is the system error's. */
function fetchErrorOf(error: unknown): { code: string; message: string } | null {
  if (!(error instanceof Error) || error.name !== 'FetchError') return null;
  const code = (error as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : '', message: error.message };
}

/** The request never reached Telegram (refused, unresolvable, unroutable, connect timeout). */
export function neverReachedTelegram(error: unknown): boolean {
  const fetchError = fetchErrorOf(error);
  return fetchError !== null && (NEVER_SENT.has(fetchError.code) || /\bconnect ETIMEDOUT\b/.test(fetchError.message));
}

/** A failure that says nothing about the request itself: a 5xx from Telegram or its front, or any transport error. */
export function isTransient(error: unknown): boolean {
  return (error instanceof TelegramError && error.code >= 500) || fetchErrorOf(error) !== null;
}

/** Seconds Telegram asks to wait (a 429), or null. */
export function retryAfterOf(error: unknown): number | null {
  if (error instanceof TelegramError && error.code === 429) return error.parameters?.retry_after ?? 1;
  return null;
}

/**
 * Telegram refused the bot's token (401 Unauthorized: revoked with BotFather, replaced, mistyped): every call fails
 * alike until the bot runs with a valid one. It says nothing about the call itself.
 */
export function isTokenRefused(error: unknown): boolean {
  return error instanceof TelegramError && error.code === 401;
}

/** The edited message is gone (deleted by someone) or can no longer be edited: only a new message can carry the reply. */
export function isEditTargetGone(error: unknown): boolean {
  return (
    error instanceof TelegramError &&
    error.code === 400 &&
    /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i.test(error.description)
  );
}

/**
 * Telegram refuses the chat itself: the bot was removed from the group (or blocked), the group deleted, or the bot
 * may no longer post there.
 */
export function isChatGone(error: unknown): boolean {
  return (
    error instanceof TelegramError &&
    (error.code === 403 || (error.code === 400 && /chat not found|not enough rights|CHAT_WRITE_FORBIDDEN/i.test(error.description)))
  );
}

/** The edit asked for what the message already shows (an earlier try that Telegram applied but did not answer). */
export function isNotModified(error: unknown): boolean {
  return error instanceof TelegramError && /message is not modified/.test(error.description);
}

/**
 * Telegram's own answer about the call's object (a 4xx: chat not found, bot kicked…), which asking again would only
 * repeat; not a 429 nor a refused token (401), nor a 5xx, a transport failure or no answer, which say nothing of it.
 */
export function isDefinitiveRefusal(error: unknown): boolean {
  return error instanceof TelegramError && error.code >= 400 && error.code < 500 && error.code !== 429 && error.code !== 401;
}

/** The id of the supergroup a basic group was upgraded to, when Telegram refused a call to the group for it; else null. */
export function migratedTo(error: unknown): string | null {
  const id = error instanceof TelegramError ? error.parameters?.migrate_to_chat_id : undefined;
  return typeof id === 'number' ? String(id) : null;
}

export interface RetryPolicy {
  /** Tries after a 429 (each waits its retry_after). */
  rateLimited: number;
  /** Tries after a transient failure, waiting 1 s, 2 s, 4 s… up to `maxBackoffMs`. */
  transient: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { rateLimited: 10, transient: 5, maxBackoffMs: 16_000 };

/**
 * How long to wait before trying a failed call again (`attempt`: 0 for the first retry), or null to give up.
 * `idempotent` (an edit, a pin): every transient failure is retried. Otherwise (a new message, photo or document) only a
 * failure that proves nothing was posted is: a 5xx or a connection lost mid-request may come after Telegram posted the
 * message, and sending it again would post it twice.
 */
export function retryDelayMs(error: unknown, attempt: number, idempotent: boolean, policy = DEFAULT_RETRY_POLICY): number | null {
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== null) return attempt < policy.rateLimited ? retryAfter * 1000 : null;
  const retryable = idempotent ? isTransient(error) : neverReachedTelegram(error);
  if (!retryable || attempt >= policy.transient) return null;
  return Math.min(1000 * 2 ** attempt, policy.maxBackoffMs);
}
