/**
 * Queue naming shared by the bot (producer) and the agent (worker). The prefix is hash-tagged (`{xenops}`) so
 * every key of every queue lands in one Redis Cluster slot (BullMQ's Lua scripts touch several keys at once).
 */
export function hostQueueName(host: string): string {
  return `host-${host}`;
}

/**
 * BullMQ job ids must not contain ':' nor be all digits. The id derives from the platform request id, so a
 * redelivered chat event maps to the same job and BullMQ ignores the duplicate add.
 */
export function jobIdFor(requestId: string, host: string): string {
  return `r-${requestId}-${host}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}
