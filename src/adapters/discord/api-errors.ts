import { DiscordAPIError, HTTPError } from 'discord.js';

/**
 * What a failed request tells about what happened on Discord's side. @discordjs/rest throws a DiscordAPIError for a
 * 4xx (Discord answered, and did nothing), an HTTPError for a 5xx on its last try, and the transport's own error for
 * a connection that failed or timed out (an AbortError after its retries).
 */

/** Connection failures before a byte of the request left this host: Discord never saw it. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * The request may have been carried out though it failed: a 5xx (Discord's edge answers 502 or 503 for requests the
 * API behind it completed), a timeout, a connection lost once the request was out. Not: a refusal (4xx), a request
 * that never left (connection refused, no token set).
 */
export function mayHaveTakenEffect(error: unknown): boolean {
  if (error instanceof HTTPError) return error.status >= 500;
  if (typeof error !== 'object' || error === null) return false;
  if ((error as { name?: unknown }).name === 'AbortError') return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !NEVER_SENT.has(code);
}

/**
 * Discord refused the bot's own token (401 on a request the bot token authorizes: revoked, reset in the developer
 * portal). Not an interaction's webhook, whose 401 is that interaction's token expiring.
 */
export function isBotTokenRefused(error: unknown): boolean {
  return error instanceof DiscordAPIError && error.status === 401 && !/\/(webhooks|interactions)\//.test(error.url);
}

/**
 * Discord answered the request and refused it (a 4xx; @discordjs/rest waits out 429s itself): the reply as sent will
 * not be taken. Not a 5xx (HTTPError), a transport failure, nor anything not from Discord's API.
 */
export function isReplyRefused(error: unknown): boolean {
  return error instanceof DiscordAPIError && error.status >= 400 && error.status < 500 && error.status !== 429;
}
