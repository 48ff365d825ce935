/**
 * The few thrown error classes. Expected outcomes are values (Decision, Result); these are for boundaries.
 * Every class carries a stable `code` so replies and tests key off the identifier, never the message text.
 */

export type UserErrorCode =
  | 'command.unknown'
  | 'args.invalid'
  | 'auth.unknownPerson'
  | 'auth.denied'
  | 'auth.channelDenied'
  | 'auth.anonymousAdmin'
  | 'domain.notFound'
  | 'domain.ambiguous'
  | 'domain.protected'
  /** Running on another host: starting it here would run it twice (or another host could not be checked). */
  | 'domain.elsewhere'
  /** A config file whose `name =` is not the domain's (or cannot be read): starting from it would start another guest. */
  | 'domain.configName'
  /** The domain is in a state the command cannot act on (a crashed guest asked to pause, a paused one to reboot…). */
  | 'domain.state'
  /** Another request holds the domain's lock. */
  | 'locked'
  /** A job not picked up before its deadline: nothing was done, and it will not run later. */
  | 'withdrawn'
  | 'host.unknown'
  | 'host.unreachable'
  | 'action.expired'
  | 'state.changed'
  | 'queue.unavailable'
  | 'internal';

/** Shown to the user as a one-line reason (plus usage where it helps); not logged as a failure. */
export class UserError extends Error {
  override readonly name = 'UserError';
  constructor(
    readonly code: UserErrorCode,
    message: string,
    readonly context: { usage?: string; [key: string]: unknown } = {},
  ) {
    super(message);
  }
}

/** One config problem: where it is (dotted path) and what is wrong. */
export interface ConfigIssue {
  path: string;
  message: string;
}

/** An invalid config file: lists every problem with its path. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(
      `${source}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    );
  }
}

/** Toolstack output that fits no known shape. Holds what was being parsed and the offending line. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly what: string,
    message: string,
    readonly line?: string,
    readonly lineNumber?: number,
  ) {
    super(line === undefined ? `${what}: ${message}` : `${what}: ${message} (line ${lineNumber ?? '?'}: ${JSON.stringify(line)})`);
  }
}

/** A remote command ran and failed: exit code and stderr, host and argv for the audit trail. */
export class RemoteCommandError extends Error {
  override readonly name = 'RemoteCommandError';
  constructor(
    readonly host: string,
    readonly argv: readonly string[],
    readonly exitCode: number,
    readonly stderr: string,
    message?: string,
  ) {
    super(message ?? `${argv.join(' ')} on ${host} exited ${exitCode}: ${firstLine(stderr) || '(no output)'}`);
  }
}

/** Could not reach the host (connect, auth, host key) or a command timed out before it started. Retryable. */
export class TransportError extends Error {
  override readonly name: string = 'TransportError';
  constructor(
    readonly host: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The host key presented does not match the pin (or there is no pin). Never retried. */
export class HostKeyError extends TransportError {
  override readonly name = 'HostKeyError';
  constructor(
    host: string,
    readonly expected: string | null,
    readonly presented: string,
  ) {
    super(
      host,
      expected === null
        ? `refusing to connect to ${host}: no host key fingerprint is pinned (presented ${presented}); add hosts.${host}.hostKey`
        : `refusing to connect to ${host}: host key mismatch (expected ${expected}, presented ${presented})`,
    );
  }
}

/**
 * The connection dropped or the command timed out while it ran: it may or may not have taken effect.
 * Drivers read the state back instead of re-running a mutating command.
 */
export class OutcomeUnknownError extends TransportError {
  override readonly name = 'OutcomeUnknownError';
}

export function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}
