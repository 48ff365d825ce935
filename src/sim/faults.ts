/**
 * Faults armed on a simulated host. A command fault applies to the next `times` commands whose full text (as the
 * SSH server received it) matches `match`; a hostKey fault changes the key new connections see until removed.
 */

export type FaultKind = 'delay' | 'hang' | 'drop' | 'fail' | 'hostKey' | 'crashOnArrival';

/**
 * What a guest's `on_crash` makes of it when it crashes (xl.cfg(5)): `preserve` keeps it listed, crashed and paused
 * (`--psc-`); `destroy`, xl's default, clears it away.
 */
export type OnCrash = 'preserve' | 'destroy';

export interface FaultSpec {
  kind: FaultKind;
  /** Tested against the full command string; default: any command. Ignored for hostKey. */
  match?: RegExp | undefined;
  /** delay: wall-clock milliseconds (not scaled by the simulator's timeScale). */
  ms?: number | undefined;
  /** fail: exit code (default 1). */
  code?: number | undefined;
  /** fail: written to stderr verbatim (default "sim: injected failure\n"). */
  stderr?: string | undefined;
  /** drop: run the command to completion first, then cut the connection (it did take effect). */
  afterEffect?: boolean | undefined;
  /**
   * crashOnArrival (a migrate command): the guest moves as it would, and crashes on its target as soon as it runs
   * there — after xl reported the migration successful — ending as its on_crash says (default preserve).
   */
  onCrash?: OnCrash | undefined;
  /** How many matching commands it applies to (default 1; 0 = every one until removed). Ignored for hostKey. */
  times?: number | undefined;
}

export interface ArmedFault {
  id: string;
  host: string;
  kind: FaultKind;
  match: RegExp;
  ms: number;
  code: number;
  stderr: string;
  afterEffect: boolean;
  onCrash: OnCrash;
  times: number;
  /** Applications left; null = unlimited. */
  remaining: number | null;
  hits: number;
  /** hostKey: the fingerprint new connections see while it is armed. */
  fingerprint?: string;
}

/** A fault as the control interface lists it. */
export interface FaultInfo {
  id: string;
  host: string;
  kind: FaultKind;
  /** The regular expression's source. */
  match: string;
  ms?: number;
  code?: number;
  stderr?: string;
  afterEffect?: boolean;
  onCrash?: OnCrash;
  times?: number;
  remaining?: number | null;
  hits?: number;
  fingerprint?: string;
}

export class UnknownSimHostError extends Error {
  constructor(readonly host: string) {
    super(`no simulated host ${host}`);
  }
}

export class UnknownSimDomainError extends Error {
  constructor(
    readonly host: string,
    readonly domain: string,
  ) {
    super(`no domain ${domain} on ${host}`);
  }
}

/** A request the simulator's state does not allow now (e.g. crashing a guest that is not running). */
export class SimConflictError extends Error {}

export const ANY_COMMAND = /.*/;
export const DEFAULT_FAIL_STDERR = 'sim: injected failure\n';

let lastId = 0;

export function armFault(host: string, spec: FaultSpec): ArmedFault {
  const times = spec.kind === 'hostKey' ? 0 : (spec.times ?? 1);
  if (!Number.isInteger(times) || times < 0) throw new RangeError('times must be a whole number ≥ 0 (0 = unlimited)');
  const match = spec.match ?? ANY_COMMAND;
  return {
    id: `f${++lastId}`,
    host,
    kind: spec.kind,
    // A global or sticky regex would remember lastIndex between commands; faults test each command afresh.
    match: match.global || match.sticky ? new RegExp(match.source, match.flags.replace(/[gy]/g, '')) : match,
    ms: spec.ms ?? 1000,
    code: spec.code ?? 1,
    stderr: spec.stderr ?? DEFAULT_FAIL_STDERR,
    afterEffect: spec.afterEffect ?? false,
    onCrash: spec.onCrash ?? 'preserve',
    times,
    remaining: times === 0 ? null : times,
    hits: 0,
  };
}

/** Takes the first armed command fault matching the command (in arming order), counting it down. */
export function takeFault(faults: ArmedFault[], command: string): ArmedFault | undefined {
  const index = faults.findIndex((f) => f.kind !== 'hostKey' && f.match.test(command));
  const fault = faults[index];
  if (!fault) return undefined;
  fault.hits++;
  if (fault.remaining !== null && --fault.remaining <= 0) faults.splice(index, 1);
  return fault;
}

export function describeFault(f: ArmedFault): FaultInfo {
  const base = { id: f.id, host: f.host, kind: f.kind };
  switch (f.kind) {
    case 'hostKey':
      return { ...base, match: '', ...(f.fingerprint ? { fingerprint: f.fingerprint } : {}) };
    case 'delay':
      return { ...base, match: f.match.source, ms: f.ms, times: f.times, remaining: f.remaining, hits: f.hits };
    case 'fail':
      return { ...base, match: f.match.source, code: f.code, stderr: f.stderr, times: f.times, remaining: f.remaining, hits: f.hits };
    case 'drop':
      return { ...base, match: f.match.source, afterEffect: f.afterEffect, times: f.times, remaining: f.remaining, hits: f.hits };
    case 'hang':
      return { ...base, match: f.match.source, times: f.times, remaining: f.remaining, hits: f.hits };
    case 'crashOnArrival':
      return { ...base, match: f.match.source, onCrash: f.onCrash, times: f.times, remaining: f.remaining, hits: f.hits };
    default:
      return f.kind satisfies never;
  }
}
