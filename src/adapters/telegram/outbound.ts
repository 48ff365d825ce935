/**
 * One outbound queue per chat. Calls run one at a time per chat, at least `minIntervalMs` apart; a failed call is
 * tried again when `retryDelayMs` says so (a 429 after its `retry_after`: nothing is dropped), holding the chat's
 * queue meanwhile so the order stays; while an edit of a message waits its turn, a newer edit of the same message
 * replaces it (progress is coalesced, the last state wins).
 */
export interface OutboundOptions {
  minIntervalMs: number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * How long to wait before trying a failed call again (`attempt` 0 for the first retry), or null to give up and
   * reject. `edit`: the call changes a message already sent (see Task.edit), so running it twice is harmless.
   */
  retryDelayMs: (error: unknown, attempt: number, edit: boolean) => number | null;
  /** Sends allowed per rolling minute for a chat (Telegram: about 20 in a group), or null for no cap. */
  perMinute?: (chatId: string) => number | null;
}

interface Task {
  run: () => Promise<unknown>;
  /** Edits of one message share a key; a newer one supersedes a waiting one. */
  coalesceKey?: string;
  /**
   * A change to a message already sent (an edit, a pin): paced, but not counted against the per-minute cap; and
   * idempotent, so retried after failures that may have taken effect.
   */
  edit?: boolean;
  waiters: { resolve: (v: unknown) => void; reject: (e: unknown) => void }[];
}

export class ChatOutbound {
  private readonly queues = new Map<string, Task[]>();
  private readonly running = new Set<string>();
  private readonly lastSent = new Map<string, number>();
  private readonly recent = new Map<string, number[]>();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: OutboundOptions) {
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * `coalesceKey`: see Task. `edit`: the per-minute cap counts new messages only — Telegram's group limit is on
   * messages; counting a job's progress edits made a group's final replies wait behind its cap.
   */
  send<T>(chatId: string, run: () => Promise<T>, options: { coalesceKey?: string; edit?: boolean } = {}): Promise<T> {
    const { coalesceKey, edit } = options;
    return new Promise<T>((resolve, reject) => {
      const queue = this.queues.get(chatId) ?? [];
      this.queues.set(chatId, queue);
      const waiter = { resolve: resolve as (v: unknown) => void, reject };
      const waiting = coalesceKey === undefined ? undefined : queue.find((t) => t.coalesceKey === coalesceKey);
      if (waiting) {
        waiting.run = run;
        waiting.waiters.push(waiter);
      } else {
        queue.push({ run, ...(coalesceKey === undefined ? {} : { coalesceKey }), ...(edit ? { edit } : {}), waiters: [waiter] });
      }
      void this.drain(chatId);
    });
  }

  /** Resolves when every queue is empty (stop() waits for it: queued replies are not dropped). */
  async idle(): Promise<void> {
    while ([...this.queues.values()].some((q) => q.length > 0) || this.running.size > 0) await new Promise((r) => setTimeout(r, 10));
  }

  private async drain(chatId: string): Promise<void> {
    if (this.running.has(chatId)) return;
    this.running.add(chatId);
    try {
      const queue = this.queues.get(chatId) ?? [];
      for (let task = queue[0]; task; task = queue[0]) {
        const wait = Math.max(
          (this.lastSent.get(chatId) ?? 0) + this.options.minIntervalMs - Date.now(),
          task.edit ? 0 : this.minuteWait(chatId),
        );
        if (wait > 0) await this.sleep(wait);
        queue.shift();
        try {
          const value = await this.attempt(task);
          for (const w of task.waiters) w.resolve(value);
        } catch (error) {
          for (const w of task.waiters) w.reject(error);
        }
        this.lastSent.set(chatId, Date.now());
        // Only where a cap applies (a private chat's list would only grow).
        if (!task.edit && this.options.perMinute?.(chatId) != null)
          this.recent.set(chatId, [...(this.recent.get(chatId) ?? []), Date.now()]);
      }
    } finally {
      this.running.delete(chatId);
    }
  }

  /** How long until the rolling-minute cap lets one more send through. */
  private minuteWait(chatId: string): number {
    const cap = this.options.perMinute?.(chatId) ?? null;
    if (cap === null) return 0;
    const now = Date.now();
    const times = (this.recent.get(chatId) ?? []).filter((t) => now - t < 60_000);
    this.recent.set(chatId, times);
    return times.length < cap ? 0 : (times[times.length - cap] ?? now) + 60_000 - now;
  }

  private async attempt(task: Task): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await task.run();
      } catch (error) {
        const delay = this.options.retryDelayMs(error, attempt, task.edit === true);
        if (delay === null) throw error;
        await this.sleep(delay);
      }
    }
  }
}
