import type { Telegraf } from 'telegraf';
import type { Update } from 'telegraf/types';
import { type Logger, redactSecrets } from '../../core/log.ts';
import { boundedCall, pause } from './api-call.ts';
import { isTokenRefused, isTransient, retryAfterOf } from './api-errors.ts';

export interface UpdatePollerOptions {
  telegram: Telegraf['telegram'];
  /** Runs one update (telegraf's handleUpdate); expected not to throw. */
  handleUpdate: (update: Update) => Promise<void>;
  logger: Logger;
}

/** getUpdates long-poll seconds; Telegram answers at once when updates wait. */
const POLL_SECONDS = 50;
/** Failed getUpdates in a row that make an outage (one is a blip: a 502 from Telegram's front under load). */
const FAILURES_FOR_OUTAGE = 2;
/** Longest wait between two failed polls: a recovery shows within this. */
const MAX_BACKOFF_MS = 15_000;

/**
 * Long polling of getUpdates, in place of telegraf's: telegraf's loop retries a failed poll every 5 s for ever without
 * a word, ends for good on a 401 or 409, and its launch() settles only when polling ends, so no one can tell whether
 * updates are arriving. This loop never ends before `end()`: every failure is retried with backoff, counted, and
 * logged once per outage; `healthy()` says whether polls are succeeding. Every getUpdates is bounded in time.
 * The offset is kept across end() and begin(): updates handled before a stop are never handled again.
 */
export class UpdatePoller {
  private offset = 0;
  private run: { abort: AbortController; done: Promise<void> } | null = null;
  private lastOkAt = 0;
  private failures = 0;
  private outageSince: number | null = null;

  constructor(private readonly options: UpdatePollerOptions) {}

  /** Starts polling (the first getUpdates goes out now); a no-op while polling. */
  begin(): void {
    if (this.run) return;
    const abort = new AbortController();
    this.lastOkAt = Date.now();
    this.failures = 0;
    this.outageSince = null;
    this.run = { abort, done: this.loop(abort.signal) };
  }

  /** Stops polling at once (the long poll in flight is abandoned), then confirms the updates handled to Telegram. */
  async end(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = null;
    run.abort.abort();
    await run.done;
    // Confirmed here, not by the next poll: the next to poll may be another bot (bot.ha), which would get them again.
    if (this.offset > 0)
      await this.getUpdates({ offset: this.offset, limit: 1, timeout: 0 }, new AbortController().signal, 5_000).catch(() => {});
  }

  /**
   * Polling, and polls are succeeding: fewer failures in a row than an outage takes, and the last success no longer
   * ago than a long poll takes (a poll hanging on a dead connection shows here before it times out).
   */
  healthy(): boolean {
    if (!this.run) return false;
    return this.failures < FAILURES_FOR_OUTAGE && Date.now() - this.lastOkAt <= (POLL_SECONDS + 15) * 1000;
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { logger } = this.options;
    while (!signal.aborted) {
      let updates: Update[];
      try {
        // After a failure the poll answers at once, so that a recovery shows now, not when the next update comes.
        const timeout = this.failures > 0 ? 0 : POLL_SECONDS;
        // A little longer than the long poll, so that only a dead connection hits it.
        updates = await this.getUpdates({ offset: this.offset, timeout }, signal, (POLL_SECONDS + 20) * 1000);
      } catch (error) {
        if (signal.aborted) return;
        await pause(this.failed(error), signal);
        continue;
      }
      this.succeeded();
      const last = updates.at(-1);
      if (last) this.offset = last.update_id + 1;
      await Promise.all(
        updates.map((u) =>
          this.options
            .handleUpdate(u)
            .catch((e: unknown) => logger.error({ err: redactSecrets(String(e)) }, 'telegram update failed (polling goes on)')),
        ),
      );
    }
  }

  /** One getUpdates, abandoned when `signal` aborts or after `limitMs`. */
  private getUpdates(
    payload: { offset: number; timeout: number; limit?: number },
    signal: AbortSignal,
    limitMs: number,
  ): Promise<Update[]> {
    const { telegram } = this.options;
    return boundedCall('getUpdates', (o) => telegram.callApi('getUpdates', { ...payload, allowed_updates: [] }, o), signal, limitMs);
  }

  private succeeded(): void {
    if (this.outageSince !== null)
      this.options.logger.info({ downForMs: Date.now() - this.outageSince }, 'telegram polling works again: updates are arriving');
    this.failures = 0;
    this.outageSince = null;
    this.lastOkAt = Date.now();
  }

  /** Counts a failed poll, logs the outage once, and returns how long to wait before the next. */
  private failed(error: unknown): number {
    const { logger } = this.options;
    this.failures++;
    const err = redactSecrets(String(error));
    if (this.outageSince === null && !this.healthy()) {
      this.outageSince = this.lastOkAt;
      // Not a blip: a 401 (the token was revoked) or a 409 (another poller with this token) lasts until someone acts.
      const hint = isTransient(error)
        ? 'Telegram cannot be reached'
        : isTokenRefused(error)
          ? 'Telegram refuses the bot token: revoked or replaced? the bot needs a valid one'
          : 'Telegram refuses getUpdates';
      logger.warn({ err, failures: this.failures }, `telegram polling failing (${hint}); no updates arrive until it works again`);
    } else logger.debug({ err, failures: this.failures }, 'getUpdates failed; polling again');
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== null) return retryAfter * 1000;
    return Math.min(1000 * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
  }
}
