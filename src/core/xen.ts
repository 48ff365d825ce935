/**
 * The Xen vocabulary shared by the agent (which produces it), the queue (which carries it) and the commands
 * (which render it). Field names and units of the parser types are part of the `xenops parse` CLI contract.
 */

/** One row of `xl list` / `xm list`. */
export interface ListRow {
  name: string;
  /** null when xm prints a blank ID (inactive xend-managed domain). */
  id: number | null;
  memoryMiB: number;
  vcpus: number;
  /** The six state characters exactly as printed, e.g. `-b----`. */
  state: string;
  cpuSeconds: number;
}

/** One domain row of `xentop -b` (the last iteration). */
export interface TopRow {
  name: string;
  /** Six characters in xentop's own order d s b c p r, as printed. */
  state: string;
  cpuSeconds: number;
  cpuPercent: number;
  memoryKiB: number;
  memoryPercent: number;
  /** null for `no limit`. */
  maxMemoryKiB: number | null;
  /** null for `n/a`. */
  maxMemoryPercent: number | null;
  vcpus: number;
  nets: number;
  netTxKiB: number;
  netRxKiB: number;
  vbds: number;
  /** null where xentop prints `-` (backend stats unreadable). */
  vbdOO: number | null;
  vbdRd: number | null;
  vbdWr: number | null;
  /** null where the column is absent (Xen 3.x) or printed as `-`. */
  vbdRsect: number | null;
  vbdWsect: number | null;
  ssid: number;
}

/** `xl info` / `xm info`: each key to its trimmed value ("" when empty). */
export type HostInfo = Record<string, string>;

/** What a lifecycle command's output says happened. */
export type CommandOutcome =
  | { kind: 'ok'; lines: string[] }
  | { kind: 'invalidDomain'; domain: string; message: string }
  | { kind: 'notFound'; domain: string; message: string }
  | { kind: 'alreadyExists'; domain: string; message: string }
  | { kind: 'configMissing'; path: string; message: string }
  | { kind: 'configInvalid'; path: string; message: string }
  | { kind: 'noPvControl'; message: string }
  | { kind: 'dom0Refused'; message: string }
  | { kind: 'migrationFailed'; stage: MigrationFailureStage; message: string }
  | { kind: 'hostError'; message: string }
  | { kind: 'unknownFailure'; exitCode: number; message: string };

export type MigrationFailureStage = 'suspend' | 'resumedAtSender' | 'target' | 'finalHandshake' | 'noConfig' | 'connect' | 'other';

/** A progress event parsed from one line of `xl migrate` stderr. */
export interface MigrationProgress {
  /** 0-100 where the line carries a percentage. */
  percent: number | null;
  message: string;
}

export type ToolstackKind = 'xl' | 'xm';

/**
 * What an operator wants to know about a domain, derived from the six state flags.
 * `defined` = a config file exists in the host's config dirs but no domain of that name runs.
 */
export type DomainStatus = 'running' | 'blocked' | 'paused' | 'shutdown' | 'crashed' | 'dying' | 'defined';

export interface DomainSummary {
  name: string;
  /** From `xl list -v`, or `xm list --long` on xm hosts; null for defined-only domains or when it could not be read. */
  uuid: string | null;
  /** null for defined-but-stopped domains (and xm's inactive managed ones). */
  id: number | null;
  status: DomainStatus;
  /** The six state characters as the toolstack printed them; '' for defined-only domains. */
  flags: string;
  memoryMiB: number | null;
  vcpus: number | null;
  cpuSeconds: number | null;
  /** Absolute path of the config file found for this name, if any. */
  configPath: string | null;
}

export type StartOutcome = 'started' | 'already-running';
export type StopOutcome = 'shut-down' | 'destroyed' | 'already-stopped';
export type MigrateOutcome = 'migrated' | 'already-on-target';

export interface StartResult {
  outcome: StartOutcome;
  domain: DomainSummary;
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}
export interface StopResult {
  outcome: StopOutcome;
  /** The domain as read back afterwards: `defined` (config exists) or null when it is gone entirely. */
  domain: DomainSummary | null;
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}
export interface ConsoleResult {
  source: 'log' | 'attach';
  lines: string[];
}
export interface MigrateResult {
  outcome: MigrateOutcome;
  target: string;
  /** The domain as read back on the target host. */
  domain: DomainSummary;
  transcript: string[];
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}
