import type { TopRow } from './types.ts';
import { headerHasSectors, isXentopHeader, isXentopNoise, parseXentopRow } from './xentop.ts';

/** How many unparsable lines are kept as examples (all are counted). */
const KEPT_SAMPLES = 5;

export interface XentopStreamStats {
  /** Complete iterations handed out so far. */
  iterations: number;
  /** Lines that were neither a header, a domain row nor known noise. */
  unparsed: number;
  /** The first few of them, for the log. */
  unparsedSamples: string[];
  /** Rows that arrived after their iteration was flushed and before the next header: dropped, never guessed at. */
  lateRows: number;
  /** Lines the output ended in the middle of (the connection lost mid-write): dropped, kept among the examples. */
  cutLines: number;
}

/** The lines of one iteration that were no row it could read: counted, the first kept (cut to FIRST_KEPT_CHARS). */
export interface XentopUnread {
  lines: number;
  first: string;
}

/** How much of an iteration's first unread line is kept with it (a reply quotes less; Redis keeps the sample). */
const FIRST_KEPT_CHARS = 200;

/**
 * Splits the output of a long-running `xentop -b -d N [-f]` into iterations, chunk by chunk, with the row parsing
 * of `parseXentop`. Batch xentop prints the header once before each iteration's rows (no `-r`: the sampler never
 * asks for it), so an iteration is complete when the next header arrives. That would hold each iteration back a
 * whole interval: the caller calls `flush()` once the stream has been quiet for a moment (xentop writes an
 * iteration in one go), which hands out the iteration under way. Rows that still arrive for a flushed iteration
 * (the quiet period was too short) are counted in `lateRows` and dropped: the iteration was already handed out.
 *
 * Pure: no timers and no I/O; the caller owns the debounce.
 */
export class XentopStream {
  private partial = '';
  /** Rows of the iteration under way; null before the first header or right after a flush. */
  private current: TopRow[] | null = null;
  private hasSectors: boolean | null = null;
  /** True between a flush and the next header: rows then are late. */
  private flushed = false;
  private readonly counters: XentopStreamStats = { iterations: 0, unparsed: 0, unparsedSamples: [], lateRows: 0, cutLines: 0 };
  /** What could not be read since the last iteration was handed out: it goes with the next one. */
  private pendingUnread: XentopUnread | null = null;
  /** The unread lines of each iteration handed out (see unread()). */
  private readonly unreadOf = new WeakMap<TopRow[], XentopUnread>();

  /**
   * The lines that were no row it could read, of an iteration this stream handed out (those after the previous one
   * was handed out, up to its end): a guest's row may be among them, so a sample taken from the rows must say so.
   */
  unread(rows: TopRow[]): XentopUnread | null {
    return this.unreadOf.get(rows) ?? null;
  }

  /** Feeds a chunk; returns the iterations it completed (usually none or one). */
  push(chunk: string): TopRow[][] {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const done: TopRow[][] = [];
    for (const raw of lines) this.line(raw.replace(/\r$/, '').trimEnd(), done);
    return done;
  }

  /**
   * Hands out the iteration under way, if it has rows (call after a quiet period). A line without its newline yet
   * stays buffered: xentop ends every line, so more is on its way.
   */
  flush(): TopRow[][] {
    const rows = this.current;
    if (!rows || rows.length === 0) return [];
    this.current = null;
    this.flushed = true;
    this.handOut(rows);
    return [rows];
  }

  /**
   * Call when the output has ended. A line still without its newline was cut short (xentop ends every line it
   * writes): a row's figures may be cut mid-number and still read as a row, so it is counted, never parsed.
   */
  end(): void {
    const cut = this.partial.replace(/\r$/, '').trimEnd();
    this.partial = '';
    if (cut.trim() === '') return;
    this.counters.cutLines++;
    this.keep(cut);
  }

  /** Counts of what was seen so far (a copy). */
  get stats(): XentopStreamStats {
    return { ...this.counters, unparsedSamples: [...this.counters.unparsedSamples] };
  }

  private line(line: string, done: TopRow[][]): void {
    if (line.trim() === '') return;
    if (isXentopHeader(line)) {
      if (this.current && this.current.length > 0) {
        done.push(this.current);
        this.handOut(this.current);
      }
      this.current = [];
      this.hasSectors = headerHasSectors(line);
      this.flushed = false;
      return;
    }
    const row = parseXentopRow(line, this.hasSectors);
    if (row) {
      if (this.flushed) {
        this.counters.lateRows++;
        return;
      }
      this.current ??= [];
      this.current.push(row);
      return;
    }
    if (isXentopNoise(line)) return;
    this.counters.unparsed++;
    this.keep(line);
    if (this.pendingUnread) this.pendingUnread.lines++;
    else this.pendingUnread = { lines: 1, first: line.slice(0, FIRST_KEPT_CHARS) };
  }

  private handOut(rows: TopRow[]): void {
    this.counters.iterations++;
    if (this.pendingUnread) this.unreadOf.set(rows, this.pendingUnread);
    this.pendingUnread = null;
  }

  private keep(line: string): void {
    if (this.counters.unparsedSamples.length < KEPT_SAMPLES) this.counters.unparsedSamples.push(line);
  }
}
