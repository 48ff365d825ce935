/**
 * Live samples from each host's long-running `xentop -b -d N` stream (the agent's sampler), as kept in Redis and
 * read by `/top`, the status post, the digest and the charts. Rates are per second between two iterations; null
 * where xentop printed `-` or a counter went backwards (the domain restarted).
 */
export interface DomainSample {
  name: string;
  /** Six characters in xentop's order d s b c p r, as printed. */
  state: string;
  cpuPercent: number;
  cpuSeconds: number;
  memoryKiB: number;
  /** null for `no limit`. */
  maxMemoryKiB: number | null;
  vcpus: number;
  netTxKiBps: number | null;
  netRxKiBps: number | null;
  vbdRdPerSec: number | null;
  vbdWrPerSec: number | null;
}

/** One xentop iteration of one host. */
export interface HostSample {
  host: string;
  /** Epoch ms when the agent parsed the iteration. */
  at: number;
  /** The stream's -d. */
  intervalSeconds: number;
  domains: DomainSample[];
}

/** One history entry: the samples of a window (config sampling.historyEverySeconds) folded per domain. */
export interface HistoryPoint {
  /** Epoch ms of the window's end. */
  at: number;
  domains: Record<string, HistoryFigures>;
}

export interface HistoryFigures {
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
