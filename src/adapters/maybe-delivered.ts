/**
 * Delivery failures after which the platform may hold the reply all the same: a new message whose send got a 5xx
 * or lost its connection mid-request (Telegram has no idempotency key), or a reply whose message went out and whose
 * files or pings did not. Sending such a reply again may post it twice, so the relay does not; any other failure
 * (a 429 past the adapter's waits, an edit that kept failing, a request that never reached the platform) posted
 * nothing, and is sent again later.
 */
const maybeDelivered = new WeakSet<object>();

/** Marks the error thrown by a delivery as one after which the reply may be on the platform; returns it. */
export function markMaybeDelivered<T>(error: T): T {
  if (typeof error === 'object' && error !== null) maybeDelivered.add(error);
  return error;
}

export function mayHaveBeenDelivered(error: unknown): boolean {
  return typeof error === 'object' && error !== null && maybeDelivered.has(error);
}

/**
 * The platform answered the delivery with a refusal of the request itself (a 4xx other than 429: a message it will
 * not take, a chat it will not post to). Tried again, it is refused again: the relay logs it and gives up, where a
 * 429, a 5xx or a transport failure is tried again later. Read from the error's shape: discord.js's DiscordAPIError
 * carries the HTTP `status`; telegraf's TelegramError Telegram's answer, whose error_code is the HTTP status.
 */
export function refusedByPlatform(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { status?: unknown; response?: { error_code?: unknown } };
  const status = typeof e.status === 'number' ? e.status : typeof e.response?.error_code === 'number' ? e.response.error_code : null;
  return status !== null && status >= 400 && status < 500 && status !== 429;
}
