import { type Logger, redactSecrets } from '../core/log.ts';
import { markMaybeDelivered, mayHaveBeenDelivered } from './maybe-delivered.ts';

export interface TokenRefusedOptions {
  /** Lower case, as it starts the kept error's message: 'discord', 'telegram'. */
  platform: string;
  /** The platform's own test for a refusal of the bot's token (not of one interaction's or webhook's token). */
  isTokenRefused: (error: unknown) => boolean;
  logger: Logger;
  /** Said once when the token is refused: what the operator should look at on this platform. */
  message: string;
}

/**
 * A refused bot token (a 401) is about the token, not the reply: the platform takes the reply once the bot runs with a
 * valid token. Deliveries through here tell that error apart from a reply the platform refused (see refusedByPlatform:
 * that one is never tried again), keep it marked when the reply may be out already, and say it plainly once until a
 * delivery succeeds again rather than once per waiting reply.
 */
export class TokenRefusedDeliveries {
  private said = false;

  constructor(private readonly options: TokenRefusedOptions) {}

  async deliver<T>(send: () => Promise<T>): Promise<T> {
    try {
      const sent = await send();
      this.said = false;
      return sent;
    } catch (error) {
      throw this.kept(error);
    }
  }

  private kept(error: unknown): unknown {
    const { platform, isTokenRefused, logger, message } = this.options;
    if (!isTokenRefused(error)) return error;
    if (!this.said) {
      this.said = true;
      logger.error({ err: redactSecrets(String(error)) }, message);
    }
    const kept = new Error(`${platform} refused the bot token: ${redactSecrets(String(error))}`);
    return mayHaveBeenDelivered(error) ? markMaybeDelivered(kept) : kept;
  }
}
