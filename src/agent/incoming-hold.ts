import { UserError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { describeIncoming, type IncomingHolder, type IncomingMigrations } from '../queue/incoming-migrations.ts';

/** How a migration (a plan's step or a /migrate) takes its target (src/queue/incoming-migrations.ts) and lets it go. */
export interface IncomingGate {
  /**
   * Waits until no other migration is arriving at `holder.target`, then holds it (renewed) until the returned
   * release. Throws the signal's reason when aborted while waiting, and refuses (nothing sent) past the longest wait.
   */
  hold(
    holder: Omit<IncomingHolder, 'since'>,
    options?: { signal?: AbortSignal | undefined; onWait?: (holder: IncomingHolder | null) => void },
  ): Promise<(leave?: boolean) => Promise<void>>;
}

export interface IncomingGatePolicy {
  /** TTL of a hold in Redis; renewed every renewMs while the step runs. */
  ttlMs: number;
  renewMs: number;
  /** How often a waiting step looks again. @defaultValue 250 */
  pollMs?: number;
  /**
   * The longest a step waits: one migration's own limit (the driver's 30-minute `xl migrate` timeout) and its
   * read-back. A hold kept longer than that is not a migration under way. @defaultValue 31 min
   */
  maxWaitMs?: number;
}

export function incomingGate(
  migrations: IncomingMigrations,
  policy: IncomingGatePolicy,
  now: () => number = Date.now,
  logger?: Logger,
): IncomingGate {
  const pollMs = policy.pollMs ?? 250;
  const maxWaitMs = policy.maxWaitMs ?? 31 * 60_000;
  return {
    async hold(base, options = {}) {
      const holder: IncomingHolder = { ...base, since: now() };
      const until = Date.now() + maxWaitMs;
      let told: string | null = null;
      let taken: IncomingHolder;
      for (;;) {
        if (options.signal?.aborted) throw options.signal.reason;
        const record = { ...holder, since: now() };
        const got = await migrations.acquire(record, policy.ttlMs);
        if (got.ok) {
          taken = record;
          break;
        }
        if (Date.now() >= until)
          throw new UserError(
            'locked',
            `${holder.target} is still receiving ${describeIncoming(got.holder)}, after ${waited(maxWaitMs)} of waiting: ${holder.domain} was not migrated there, since its free memory can only be judged once that one has arrived — nothing was sent`,
          );
        // Said once per migration waited for, not at every look.
        const who = got.holder?.token ?? '';
        if (who !== told) {
          told = who;
          options.onWait?.(got.holder);
        }
        await pause(pollMs, options.signal);
      }
      let stopped = false;
      let left = false;
      const timer = setInterval(() => {
        void (async () => {
          try {
            if (stopped) return;
            if (await migrations.renew(holder.target, holder.token, policy.ttlMs)) return;
            // The step ended while the renewal was out: its release found nothing to let go, and taking the hold back
            // now would keep the target from the next step for a finished migration.
            if (stopped) return;
            // Gone (a Redis blip longer than its TTL, or a flush): taken back, or another migration could be sent to
            // this target mid-migration, reading a free memory that does not count this copy yet.
            const again = await migrations.acquire(taken, policy.ttlMs);
            if (!again.ok) {
              // Another step took it meanwhile: not fought over (it is sending by now), but no longer one at a time.
              logger?.error(
                { target: holder.target, domain: holder.domain, holder: again.holder },
                'lost the hold on the migration target to another migration',
              );
              return;
            }
            // Released while this was out: let go again rather than hold the target for a finished step.
            if (stopped && !left) await migrations.release(holder.target, holder.token);
          } catch (error) {
            logger?.warn({ target: holder.target, err: String(error) }, 'could not renew the hold on the migration target');
          }
        })();
      }, policy.renewMs);
      timer.unref();
      // `leave`: the migration's outcome is unknown (unanswered, or cut off by a stop), so its copy may still be building
      // on the target — not renewed any more, the hold lapses after its TTL rather than letting the next step read a
      // free memory that does not count it yet.
      return async (leave = false) => {
        stopped = true;
        left = leave;
        clearInterval(timer);
        if (leave) return;
        // Left in place, it lapses after its TTL: the next step then only waits that long.
        await migrations.release(holder.target, holder.token).catch((error: unknown) => {
          logger?.warn(
            { target: holder.target, err: String(error) },
            'could not release the hold on the migration target (it expires on its own)',
          );
        });
      };
    },
  };
}

/** "31 min", "45 s". */
function waited(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
