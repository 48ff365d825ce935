import { DiscordAPIError, RESTJSONErrorCodes } from 'discord.js';

/**
 * What became of an interaction's defer (its initial response, due within 3 s):
 * - `taken`: Discord shows "thinking…" (or holds the click) and the token is good for 15 minutes;
 * - `refused`: Discord answered no — the user is shown that the application did not respond;
 * - `unknown`: no answer came (a 5xx on every try, a timeout, a network failure): it may have been taken or not.
 */
export type DeferOutcome = { kind: 'taken' } | { kind: 'refused' | 'unknown'; error: unknown };

/**
 * Sends a defer and says what Discord made of it. @discordjs/rest retries a 5xx or a timeout at once, so a defer
 * Discord processed but whose answer was lost (a 502 from Discord's edge, the client's own timeout) comes back as
 * 40060 "already acknowledged" on the retry: taken, as is the defer of an event the gateway delivered again.
 * 10062 "Unknown interaction" on a retry means the first try never arrived and the 3 s are over.
 */
export async function sendDefer(defer: () => Promise<unknown>): Promise<DeferOutcome> {
  try {
    await defer();
    return { kind: 'taken' };
  } catch (error) {
    if (error instanceof DiscordAPIError)
      return error.code === RESTJSONErrorCodes.InteractionHasAlreadyBeenAcknowledged ? { kind: 'taken' } : { kind: 'refused', error };
    return { kind: 'unknown', error };
  }
}
