/**
 * The seam between drivers and SSH. Drivers build argv arrays; the runner quotes every element for the remote
 * shell (never interpolates) and runs it on the named host. `src/agent/ssh/pool.ts` is the real implementation
 * and the only module that imports node-ssh.
 */
export interface RunOptions {
  /** Client-side timeout for the whole command; defaults to the host's commandTimeoutMs. */
  timeoutMs?: number;
  /** Called with each chunk of output as it arrives (migrate progress). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Aborts the command (SIGTERM to the job, operator cancel): the outcome becomes unknown. */
  signal?: AbortSignal;
}

export interface RunResult {
  /** Exit code. Never null here: a missing exit status throws OutcomeUnknownError instead. */
  code: number;
  stdout: string;
  stderr: string;
}

/** What `RemoteRunner.stream` is given: where output goes, and the signal that ends it. */
export interface StreamOptions {
  /** Each chunk of stdout as it arrives (decoded as UTF-8, never split inside a character). Nothing is kept. */
  onStdout: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /** Aborting closes the channel (the remote command dies with it); the promise then resolves. */
  signal: AbortSignal;
}

export interface StreamResult {
  /** Exit code; null when the connection was lost, the channel closed without an exit status, or it was aborted. */
  code: number | null;
}

export interface RemoteRunner {
  /**
   * Runs argv on host (prefixed with `sudo -n` when the host config says so).
   * Throws TransportError when the command could not be started (connect/auth/host key),
   * OutcomeUnknownError when the connection dropped or the timeout hit while it ran.
   * A non-zero exit is NOT an exception: callers inspect `code`.
   */
  run(host: string, argv: readonly string[], options?: RunOptions): Promise<RunResult>;

  /**
   * Runs several commands in one round trip, one after another on the host, in one command slot; one result
   * each, in order (a non-zero exit is a result, not an exception). Same errors as run(), for the whole batch.
   * Optional: without it drivers run the commands one by one.
   */
  runBatch?(host: string, argvs: readonly (readonly string[])[], options?: Omit<RunOptions, 'onStdout' | 'onStderr'>): Promise<RunResult[]>;

  /**
   * Runs a long-lived command (`xentop -b -d N`): no command timeout, output handed to the callbacks and never
   * accumulated. Resolves when the remote command ends (`code: null` if the connection was lost or the signal
   * aborted it); rejects with TransportError when it cannot be started. Does not count against the host's
   * `maxConcurrent` command slots. Optional: runners without it are polled instead (see the agent's Sampler).
   */
  stream?(host: string, argv: readonly string[], options: StreamOptions): Promise<StreamResult>;
}
