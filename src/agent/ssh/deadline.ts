import { OutcomeUnknownError } from '../../core/errors.ts';

/**
 * One command's deadline: its timeout and its caller's cancel signal as one AbortSignal, which every wait of the
 * command (making room, opening its channel, the answer) races, so that no step of it can outlast the timeout.
 */
export class CommandDeadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCancel = () => this.controller.abort('cancelled');
  /** Aborts when the timeout passes or the caller cancels, whichever comes first. */
  readonly signal = this.controller.signal;
  /** Settles (never rejects) when the signal aborts. */
  readonly reached: Promise<void>;

  constructor(
    readonly timeoutMs: number,
    private readonly caller?: AbortSignal,
  ) {
    this.reached = new Promise((resolve) => this.signal.addEventListener('abort', () => resolve(), { once: true }));
    this.timer = setTimeout(() => this.controller.abort('timeout'), timeoutMs);
    if (caller?.aborted) this.onCancel();
    else caller?.addEventListener('abort', this.onCancel, { once: true });
  }

  /** Why the deadline ended the command, or null while it has not. */
  get ended(): 'timeout' | 'cancelled' | null {
    return this.signal.aborted ? (this.signal.reason as 'timeout' | 'cancelled') : null;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCancel);
  }
}

/**
 * A command the pool stopped waiting for at its timeout, after it was sent: an unknown outcome that says so as a
 * field, so that callers can tell it from a lost connection without reading the message.
 */
export class CommandTimeoutError extends OutcomeUnknownError {
  constructor(
    host: string,
    what: string,
    readonly timeoutMs: number,
  ) {
    super(host, `${what} on ${host} did not finish within ${describeTimeout(timeoutMs)}; its outcome is unknown`);
  }
}

/** A timeout as messages say it: "30 s", or "400 ms" under a second (rather than "0 s"). */
export function describeTimeout(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${Math.round(ms / 1000)} s`;
}
