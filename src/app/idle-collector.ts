import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * One compacting full garbage collection when the bot goes quiet after work, so its memory at rest is what it holds,
 * not what a burst left committed. V8 gives a burst's memory back on its own only by luck: its young generation (grown
 * to 2 × 16 MiB under load) shrinks only at a collection after which little was allocated over its last ~5 s (what
 * the burst promoted counts until a full collection), and an idle bot allocates so little (~0.1 MiB/s) that the next
 * collection may be minutes away; its memory reducer, having run once, runs again only once the old generation's
 * committed memory has grown by 10 MB, so a burst's promoted garbage stays committed at rest. Measured (the bench's
 * growth row, 10,000 /list through the terminal at 100 hosts, at rest 45 s after): with V8 alone +10.2, +41.7, -15.5
 * % (121-127 MiB after, with 32 MiB of young generation for 3-11 in use); with this +1.5, +3.6, -2.8 % (young 1 MiB).
 * The full collection (25-35 ms) runs when the event loop has been nearly idle for two 5-s windows, and again only
 * once the heap has grown; two quiet windows after it a young collection (~1 ms) lets V8 shrink the young generation.
 * Uses node's `--expose-gc` (the bot's production flags, src/cli/node-flags.ts) and, where the bot was started without
 * it (the image's own ENTRYPOINT, `npx xenops bot`), sets V8's flag at start instead: see gcFunction.
 */

export interface QuietCollectOptions {
  /** Event-loop utilization (0–1) below which a window counts as quiet. */
  quietBelow: number;
  /** Quiet windows in a row before collecting: the burst's last collections must be outside V8's ~5 s window. */
  quietWindows: number;
  /** How much the committed heap must have grown over its lowest since the last collection to collect again. */
  growthBytes: number;
}

export const QUIET_COLLECT_DEFAULTS: QuietCollectOptions = { quietBelow: 0.05, quietWindows: 2, growthBytes: 4 * 1024 * 1024 };

/** The decision, pure: fed one window at a time (its event-loop utilization, the heap's committed bytes at its end). */
export class QuietCollectPolicy {
  private quiet = 0;
  /** The committed heap's lowest since the last collection (0 at start: the first quiet moment collects once). */
  private floor = 0;
  /** Quiet windows still to wait after a full collection before the young one (0: none due). */
  private youngIn = 0;

  constructor(private readonly options: QuietCollectOptions = QUIET_COLLECT_DEFAULTS) {}

  /** Which collection to run now, if any. */
  window(utilization: number, committedBytes: number): 'full' | 'young' | null {
    const quiet = utilization < this.options.quietBelow;
    this.quiet = quiet ? this.quiet + 1 : 0;
    if (this.youngIn > 0) {
      this.youngIn = quiet ? this.youngIn - 1 : 0;
      if (quiet && this.youngIn === 0) return 'young';
    }
    if (this.floor > 0) this.floor = Math.min(this.floor, committedBytes);
    return this.quiet >= this.options.quietWindows && committedBytes >= this.floor + this.options.growthBytes ? 'full' : null;
  }

  /** After a full collection: the heap's committed bytes then are the new floor, and quiet is counted afresh. */
  collected(committedBytes: number): void {
    this.floor = committedBytes;
    this.quiet = 0;
    this.youngIn = this.options.quietWindows;
  }
}

/**
 * A full collection that also compacts the old generation: a plain one moves objects only off pages less than ~30 %
 * live, so a burst's garbage left its pages committed (old space 22.7 MiB committed for 11.7 in use after one, 12.0
 * after this; 15 and 25–34 ms). V8 reads the flag at each full collection; it is set for this one only.
 */
function compacting(gc: () => void): void {
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

export interface IdleCollector {
  stop(): void;
}

type Gc = (o?: { type: 'minor' }) => void;

/**
 * node's `gc`: the global `--expose-gc` gives, or else the one V8 puts in each context made after its expose-gc flag is
 * set (the main context's globals are fixed at start). Null where neither is to be had.
 */
function gcFunction(): Gc | null {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as Gc) : null;
  } catch {
    return null;
  }
}

/**
 * Checks every `intervalMs` (a timer that does not keep the process alive); null when node gives no way to collect.
 * `onCollect` hears each collection (committed heap before and after, its duration), for the log.
 */
export function startIdleCollector(
  options: {
    intervalMs?: number;
    policy?: QuietCollectOptions;
    onCollect?: (c: { kind: 'full' | 'young'; beforeBytes: number; afterBytes: number; ms: number }) => void;
  } = {},
): IdleCollector | null {
  const gc = gcFunction();
  if (gc === null) return null;
  const policy = new QuietCollectPolicy(options.policy);
  let last = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const utilization = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    const beforeBytes = getHeapStatistics().total_heap_size;
    const kind = policy.window(utilization, beforeBytes);
    if (kind === null) return;
    const t0 = performance.now();
    if (kind === 'young') gc({ type: 'minor' });
    else compacting(gc);
    const afterBytes = getHeapStatistics().total_heap_size;
    if (kind === 'full') policy.collected(afterBytes);
    // The collection's own time is not the next window's work.
    last = performance.eventLoopUtilization();
    options.onCollect?.({ kind, beforeBytes, afterBytes, ms: performance.now() - t0 });
  }, options.intervalMs ?? 5_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
