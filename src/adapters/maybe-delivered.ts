/**
 * Delivery failures after which the platform may hold the reply all the same: a new message whose send got a 5xx
 * or lost its connection mid-request (Telegram has no idempotency key), or a reply whose message went out and whose
 * files or pings did not. Sending such a reply again may post it twice. Marked where the adapter learns it (deep in
 * a delivery, on the error itself, so the adapter's own checks of that error still hold), and read once, where the
 * delivery leaves the adapter: ClassifiedDeliveries makes it a DeliveryFailure of kind 'maybe-delivered', which is
 * all the relay reads.
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
