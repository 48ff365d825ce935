/**
 * The simulator's fleet-wide command log: every exec request any simulated host received, numbered with one
 * increasing sequence, plus how it ended. Waiters are woken by the append/finish that satisfies them (no polling).
 */

/**
 * How a command ended: it exited and the client got the code; its client went away first (with `code` when the
 * command still ran to completion, e.g. after a delay fault); or the simulator cut the connection (drop fault).
 */
export type CommandEndInput = { how: 'exit'; code: number } | { how: 'client-gone'; code?: number } | { how: 'dropped' };
export type CommandEnd = CommandEndInput & { at: number };

export interface LoggedCommand {
  /** Fleet-wide, starting at 1, strictly increasing. */
  seq: number;
  host: string;
  /** When the command was received (epoch ms). */
  at: number;
  /** The command string exactly as the SSH client sent it. */
  command: string;
  /**
   * The round trip it came in, numbered fleet-wide: the commands of one command-session request share one; an
   * exec channel is a round trip of its own.
   */
  trip: number;
  /** The fault applied to it, if any (its id and kind). */
  fault?: { id: string; kind: string };
  /** Absent while the command is still running (or hanging). */
  end?: CommandEnd;
}

export interface LogQuery {
  host?: string | undefined;
  /** Only entries with seq greater than this. */
  since?: number | undefined;
  /** Only commands this matches. */
  match?: RegExp | undefined;
  /** Only commands that have ended. */
  ended?: boolean | undefined;
}

export class LogWaitTimeout extends Error {
  constructor(
    readonly wanted: number,
    readonly entries: LoggedCommand[],
  ) {
    super(`timed out waiting for ${wanted} matching command(s); ${entries.length} seen`);
  }
}

interface Waiter {
  query: LogQuery;
  count: number;
  resolve(entries: LoggedCommand[]): void;
}

export class CommandLog {
  readonly entries: LoggedCommand[] = [];
  private seq = 0;
  private trips = 0;
  private readonly waiters = new Set<Waiter>();

  constructor(private readonly now: () => number = Date.now) {}

  get lastSeq(): number {
    return this.seq;
  }

  /** A new round trip's number (see LoggedCommand.trip). */
  nextTrip(): number {
    return ++this.trips;
  }

  append(host: string, command: string, trip: number = this.nextTrip()): LoggedCommand {
    const entry: LoggedCommand = { seq: ++this.seq, host, at: this.now(), command, trip };
    this.entries.push(entry);
    this.wake();
    return entry;
  }

  finish(entry: LoggedCommand, end: CommandEndInput): void {
    if (entry.end) return;
    entry.end = { ...end, at: this.now() };
    this.wake();
  }

  query(q: LogQuery = {}): LoggedCommand[] {
    const since = q.since ?? 0;
    // A global or sticky regex would carry lastIndex from one command to the next.
    const match = q.match?.global || q.match?.sticky ? new RegExp(q.match.source, q.match.flags.replace(/[gy]/g, '')) : q.match;
    // seq is the index + 1, so `since` can skip straight to the first candidate.
    return this.entries
      .slice(Math.max(0, since))
      .filter(
        (e) =>
          e.seq > since &&
          (q.host === undefined || e.host === q.host) &&
          (match === undefined || match.test(e.command)) &&
          (!q.ended || e.end !== undefined),
      );
  }

  /**
   * Resolves with the matching entries as soon as there are at least `count` of them (already, or when new ones
   * arrive or end); rejects with LogWaitTimeout after timeoutMs, or with the signal's reason when it aborts.
   */
  waitFor(q: LogQuery & { count?: number; timeoutMs: number; signal?: AbortSignal }): Promise<LoggedCommand[]> {
    const count = Math.max(1, q.count ?? 1);
    const now = this.query(q);
    if (now.length >= count) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        q.signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
      };
      const waiter: Waiter = {
        query: q,
        count,
        resolve: (entries) => {
          done();
          resolve(entries);
        },
      };
      const onAbort = () => {
        done();
        reject(q.signal?.reason ?? new Error('aborted'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new LogWaitTimeout(count, this.query(q)));
      }, q.timeoutMs);
      q.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) {
      const found = this.query(w.query);
      if (found.length >= w.count) w.resolve(found);
    }
  }
}
