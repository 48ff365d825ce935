/**
 * One worker draining a queue that others fill: `kick()` starts `run` unless it is running, and when a run ends it
 * starts again if `more()` says work arrived too late for it. Two ways a hand-rolled `busy ??= run()` goes wrong are
 * closed here: a run that finishes at once (nothing to do) must not leave its settled promise behind as "running",
 * and work queued between a run's last look at the queue and the moment it is marked finished must not wait for the
 * next kick (it could wait for ever). The mark is cleared in the same synchronous step as the last `more()` check:
 * clearing it in a `.finally` callback left a microtask-wide gap in which a kick found the drain "running" and its
 * work was never taken (a request's audit entry, and so its reply, waited for ever).
 */
export class Drain {
  private running: Promise<void> | null = null;

  constructor(
    private readonly run: () => Promise<void>,
    /** Whether a new run would have something to do (checked when a run ends). */
    private readonly more: () => boolean,
  ) {}

  /** Starts a run unless one is under way; resolves when the runs started by this kick and after it are over. */
  kick(): Promise<void> {
    // loop() cannot end before this assignment: it awaits run() at least once.
    this.running ??= this.loop();
    return this.running;
  }

  /** The run under way, if any (for close(): wait for it). */
  get current(): Promise<void> | null {
    return this.running;
  }

  get busy(): boolean {
    return this.running !== null;
  }

  private async loop(): Promise<void> {
    try {
      do await this.run();
      while (this.more());
    } finally {
      this.running = null;
    }
  }
}
