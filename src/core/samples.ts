/**
 * Live samples from each host's long-running `xentop -b -d N` stream (the agent's sampler), as kept in Redis and
 * read by `/top`, the status post, the digest and the charts. Rates are per second between two iterations; null
 * where xentop printed `-` or a counter went backwards (the domain restarted).
 */
export interface DomainSample {
  name: string;
  /** Six characters in xentop's order d s b c p r, as printed. */
  state: string;
  /**
   * null when xentop had no earlier sample of the domain (just started or restarted: it prints 0.0, a baseline, not
   * a reading), or the iteration it was taken against is not known.
   */
  cpuPercent: number | null;
  cpuSeconds: number;
  memoryKiB: number;
  /** null for `no limit`. */
  maxMemoryKiB: number | null;
  vcpus: number;
  netTxKiBps: number | null;
  netRxKiBps: number | null;
  vbdRdPerSec: number | null;
  vbdWrPerSec: number | null;
  /**
   * True when `name` is xentop's 10-character cut (no -f) that no list mapped back to one guest (started since the
   * last list, the list failed, or two guests printed alike): no guest may have that name, and another host's cut
   * alike may be a different guest. Said by the sampler, the one that knows, so readers (the split-brain watch, /top)
   * need not guess from the name. Absent when the name is a full one.
   */
  nameCut?: true;
}

/** One xentop iteration of one host. */
export interface HostSample {
  host: string;
  /** Epoch ms when the agent parsed the iteration. */
  at: number;
  /** The stream's -d. */
  intervalSeconds: number;
  domains: DomainSample[];
  /**
   * Lines of this iteration's output that were no row it could read (counted, the first kept, cut short): a guest's
   * row among them is missing from `domains`, so what answers from the sample says so. Absent when every line was read.
   */
  unread?: { lines: number; first: string };
}

/**
 * One history entry: the samples of a window (config sampling.historyEverySeconds) folded per domain. A domain none
 * of whose samples in the window had a CPU% (it appeared in the window's last one) is left out of that point.
 */
export interface HistoryPoint {
  /** Epoch ms of the window's end. */
  at: number;
  domains: Record<string, HistoryFigures>;
}

export interface HistoryFigures {
  /** Over the window's samples whose CPU% was known. */
  cpuAvg: number;
  cpuMax: number;
  /** The last memory figure of the window. */
  memoryKiB: number;
  /** The last cumulative CPU seconds of the window: a drop between points means the domain restarted. */
  cpuSeconds: number;
  netTxKiBps: number | null;
  netRxKiBps: number | null;
  vbdRdPerSec: number | null;
  vbdWrPerSec: number | null;
}

/** Busiest first; a CPU% not known yet (null) after every known one, never ranked as 0.0. */
export function byCpuPercent(a: { cpuPercent: number | null }, b: { cpuPercent: number | null }): number {
  if (a.cpuPercent === null || b.cpuPercent === null) return (a.cpuPercent === null ? 1 : 0) - (b.cpuPercent === null ? 1 : 0);
  return b.cpuPercent - a.cpuPercent;
}
