/**
 * Values the pure parsers return. Field names and units are part of the `xenops parse` CLI contract
 * (issue #2): keep them stable.
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
