import { type Logger, redactSecrets } from '../core/log.ts';
import { mayHaveBeenDelivered } from './maybe-delivered.ts';

/**
 * What a failed delivery means for the reply, said by the adapter, which alone knows its platform and its library's
 * errors. The relay reads nothing else: an error's shape (a `status` field) tells nothing, as any HTTP or Redis
 * client's error may carry one.
 * - 'refused': the platform answered and refused the reply itself (a message it will not take, a chat it will not
 *   post to). Sent again, it is refused again: never sent again.
 * - 'maybe-delivered': the platform may show the reply all the same (see markMaybeDelivered). Sent again, it could
 *   show twice: never sent again.
 * - 'retry': nothing was posted (a 429 past the adapter's waits, a 5xx on every try of an edit, the platform
 *   unreachable, the bot's token refused, a failure of the adapter's own): sent again later.
 */
export type DeliveryFailureKind = 'refused' | 'maybe-delivered' | 'retry';

/** A delivery's failure as its adapter classified it; `cause` is the error met, for the logs. */
export class DeliveryFailure extends Error {
  override readonly name = 'DeliveryFailure';

  constructor(
    readonly kind: DeliveryFailureKind,
    cause: unknown,
    message: string = String(cause),
  ) {
    super(message, { cause });
  }
}

/** An error no adapter classified counts as 'retry': nothing says the platform holds the reply, or would refuse it. */
export function deliveryFailureKind(error: unknown): DeliveryFailureKind {
  return error instanceof DeliveryFailure ? error.kind : 'retry';
}

export interface PlatformFailures {
  /** Lower case, as it starts a refused token's message: 'discord', 'telegram'. */
  platform: string;
  /** The platform's own test for a refusal of the bot's token (not of one interaction's or webhook's token). */
  isTokenRefused: (error: unknown) => boolean;
  /** The platform's own test for its answer refusing the reply itself (a 4xx of its API other than 429 or the token's). */
  refusesReply: (error: unknown) => boolean;
  logger: Logger;
  /** Said once when the token is refused: what the operator should look at on this platform. */
  message: string;
}

/**
 * An adapter's deliveries, each failure thrown as a DeliveryFailure. A refused bot token (a 401) is about the token,
 * not the reply: the platform takes the reply once the bot runs with a valid token, so it is 'retry' (or
 * 'maybe-delivered' when it came after the reply went out), and said plainly once until a delivery succeeds again
 * rather than once per waiting reply.
 */
export class ClassifiedDeliveries {
  private said = false;

  constructor(private readonly failures: PlatformFailures) {}

  async deliver<T>(send: () => Promise<T>): Promise<T> {
    try {
      const sent = await send();
      this.said = false;
      return sent;
    } catch (error) {
      throw this.classified(error);
    }
  }

  private classified(error: unknown): DeliveryFailure {
    if (error instanceof DeliveryFailure) return error;
    const { platform, isTokenRefused, refusesReply, logger, message } = this.failures;
    const notRefused: DeliveryFailureKind = mayHaveBeenDelivered(error) ? 'maybe-delivered' : 'retry';
    if (isTokenRefused(error)) {
      if (!this.said) {
        this.said = true;
        logger.error({ err: redactSecrets(String(error)) }, message);
      }
      return new DeliveryFailure(notRefused, error, `${platform} refused the bot token: ${redactSecrets(String(error))}`);
    }
    return refusesReply(error) ? new DeliveryFailure('refused', error) : new DeliveryFailure(notRefused, error);
  }
}
