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

export interface RemoteRunner {
  /**
   * Runs argv on host (prefixed with `sudo -n` when the host config says so).
   * Throws TransportError when the command could not be started (connect/auth/host key),
   * OutcomeUnknownError when the connection dropped or the timeout hit while it ran.
   * A non-zero exit is NOT an exception: callers inspect `code`.
   */
  run(host: string, argv: readonly string[], options?: RunOptions): Promise<RunResult>;
}
