import { HostKeyError, OutcomeUnknownError, TransportError } from '../../core/errors.ts';
import type { RemoteRunner, RunOptions, RunResult, StreamOptions, StreamResult } from './types.ts';

type BatchOptions = Omit<RunOptions, 'onStdout' | 'onStderr'>;

/** What a run ended as: `ok` (exit 0), `nonzero` (it ran and exited non-zero), or the class of the error it threw. */
export type RunOutcome = 'ok' | 'nonzero' | 'HostKeyError' | 'OutcomeUnknownError' | 'TransportError' | 'Error';

/** Where the metered runner reports; the agent's metrics implement it (src/agent/metrics.ts). */
export interface SshMeter {
  /** One `run` ended after `seconds`. */
  run(host: string, outcome: RunOutcome, seconds: number): void;
  /** A run or stream could not be started: connect, auth or host key (TransportError, HostKeyError). */
  connectFailed(host: string, error: 'HostKeyError' | 'TransportError'): void;
}

/** The error class name of what a runner threw; unknown errors are `Error` (labels stay a small fixed set). */
export function errorClass(error: unknown): Exclude<RunOutcome, 'ok' | 'nonzero'> {
  if (error instanceof HostKeyError) return 'HostKeyError';
  if (error instanceof OutcomeUnknownError) return 'OutcomeUnknownError';
  if (error instanceof TransportError) return 'TransportError';
  return 'Error';
}

/**
 * A RemoteRunner that measures the one it wraps: each run's latency and outcome, failures by error class, and connect
 * failures (a TransportError means the command could not be started). Connects are the pool's own count (AgentMetrics
 * reads it on scrape). Behaviour is unchanged: results and errors pass through.
 */
export class MeteredRunner implements RemoteRunner {
  readonly stream?: (host: string, argv: readonly string[], options: StreamOptions) => Promise<StreamResult>;
  /**
   * Only when the wrapped runner batches: without it the drivers would send a list's commands one round trip each
   * (as they did for a while behind this wrapper: four SSH round trips per /list). A batch is one remote run to the
   * meter, with the outcome of its first command (the read it is for; the others only add to it).
   */
  readonly runBatch?: (host: string, argvs: readonly (readonly string[])[], options?: BatchOptions) => Promise<RunResult[]>;

  constructor(
    private readonly inner: RemoteRunner,
    private readonly meter: SshMeter,
    private readonly now: () => number = () => performance.now(),
  ) {
    const innerStream = inner.stream?.bind(inner);
    // Only when the wrapped runner streams: the sampler polls runners without stream().
    if (innerStream)
      this.stream = async (host, argv, options) => {
        try {
          return await innerStream(host, argv, options);
        } catch (error) {
          this.failedToStart(host, error);
          throw error;
        }
      };
    const innerBatch = inner.runBatch?.bind(inner);
    if (innerBatch)
      this.runBatch = (host, argvs, options) =>
        this.measured(
          host,
          () => innerBatch(host, argvs, options),
          (results) => results[0]?.code,
        );
  }

  run(host: string, argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return this.measured(
      host,
      () => this.inner.run(host, argv, options),
      (result) => result.code,
    );
  }

  /** One remote run timed: outcome by the exit code `codeOf` picks, or by the class of what it threw. */
  private async measured<T>(host: string, f: () => Promise<T>, codeOf: (result: T) => number | undefined): Promise<T> {
    const started = this.now();
    try {
      const result = await f();
      this.meter.run(host, codeOf(result) === 0 ? 'ok' : 'nonzero', (this.now() - started) / 1000);
      return result;
    } catch (error) {
      this.meter.run(host, errorClass(error), (this.now() - started) / 1000);
      this.failedToStart(host, error);
      throw error;
    }
  }

  private failedToStart(host: string, error: unknown): void {
    const kind = errorClass(error);
    if (kind === 'HostKeyError' || kind === 'TransportError') this.meter.connectFailed(host, kind);
  }
}
