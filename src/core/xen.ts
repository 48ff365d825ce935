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
  /** null where xentop printed no figure (`-nan`, `inf`, or negative: Dom0's clock stepped between iterations). */
  cpuPercent: number | null;
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
  /**
   * How the domain starts with its host (xendomains: an entry in /etc/xen/auto), null when it does not; absent when
   * the agent could not read /etc/xen/auto (or is older than this field).
   */
  autostart?: AutostartEntry | null;
}

/** An entry of /etc/xen/auto: xendomains creates a domain from every one of them when the host boots. */
export interface AutostartEntry {
  /** The entry itself, e.g. `/etc/xen/auto/mail.cfg`. */
  path: string;
  /** Where the symlink points, made absolute (resolved against /etc/xen/auto); null when the entry is a regular file. */
  target: string | null;
}

export type StartOutcome = 'started' | 'already-running';
export type StopOutcome = 'shut-down' | 'destroyed' | 'already-stopped';
/**
 * arrived-not-running: the migration completed (the guest left the source) but the guest does not run on the target
 * as read back — it crashed there as soon as it ran (on_crash="preserve" keeps it listed, `--psc-`), or was paused.
 * `domain` is that read-back: where the guest really is, and in what state.
 * running-nowhere: the migration reported success, but the guest runs on neither host (RunningNowhereResult).
 */
export type MigrateOutcome = 'migrated' | 'already-on-target' | 'arrived-not-running' | 'running-nowhere';

export interface StartResult {
  outcome: StartOutcome;
  domain: DomainSummary;
  /**
   * already-running, found so only by the create itself: the guest was started outside xenops after the state check
   * (the toolstack answered that it already exists), so xenops created nothing.
   */
  startedMeanwhile?: boolean;
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}
export interface StopResult {
  outcome: StopOutcome;
  /** The domain as read back afterwards: `defined` (config exists) or null when it is gone entirely. */
  domain: DomainSummary | null;
  /**
   * already-stopped, found so only by the shutdown / destroy itself (no such domain): the guest went down outside
   * xenops after the state check, so xenops stopped nothing.
   */
  stoppedMeanwhile?: boolean;
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}
export interface ConsoleResult {
  source: 'log' | 'attach';
  lines: string[];
  /**
   * The domain's state when the snapshot was taken ('absent': no such domain on the host): xenconsoled's log outlives
   * the guest, so its last lines alone may look like a live console. Unset when it could not be read.
   */
  status?: DomainStatus | 'absent';
  /** Lines longer than CONSOLE_LINE_CHARS, cut (each says so at its end). Unset: none (or an agent before the cap). */
  longLines?: number;
  /**
   * Set (to the bytes read) when fewer lines than asked came back because the read stopped there: the console printed
   * more before, not shown.
   */
  readLimitBytes?: number;
}
export type MigrateResult = MigratedResult | RunningNowhereResult;

/** The guest as read back on the target: there, running or not. */
export interface MigratedResult {
  outcome: Exclude<MigrateOutcome, 'running-nowhere'>;
  target: string;
  /** The domain as read back on the target host. */
  domain: DomainSummary;
  /**
   * The source host still starts the domain at boot (its /etc/xen/auto link stays: xl migrate does not move it), so
   * after that host's next boot the guest would run twice. Read in the same list as the verification.
   */
  sourceAutostart?: boolean;
  transcript: string[];
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}

/**
 * The migration reported success (xl migrate exited 0, "Migration successful."), then the guest read back running on
 * neither host, with no copy under xl's temporary names: most likely it crashed as soon as it ran on the target and
 * the target's xl daemon destroyed it (on_crash="destroy", xl's default) — or something else removed it. No host
 * lists it running, so there is no record of it to give: `domain` is null, and each side says only what its list
 * showed (`defined`: its config file is there, not running).
 */
export interface RunningNowhereResult {
  outcome: 'running-nowhere';
  target: string;
  domain: null;
  /** The guest's name. */
  name: string;
  onSource: 'defined' | 'absent';
  onTarget: 'defined' | 'absent';
  sourceAutostart?: boolean;
  transcript: string[];
}

export type AutostartOutcome = 'enabled' | 'already-enabled' | 'disabled' | 'already-disabled';
export interface AutostartResult {
  outcome: AutostartOutcome;
  domain: string;
  /** The entry in /etc/xen/auto that xenops made, removed or found. */
  path: string;
  /** What the link points to, as read back (`readlink`); null when there is no link (disabled) or it is a regular file. */
  target: string | null;
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}

/**
 * rebooted: the guest rebooted itself (`xl reboot`); recreated: destroyed and created again from its config file
 * (`--force`); not-running: nothing to reboot, nothing was sent.
 */
export type RebootOutcome = 'rebooted' | 'recreated' | 'not-running';
export interface RebootResult {
  outcome: RebootOutcome;
  /** The domid before the reboot (null when it was not running). */
  previousId: number | null;
  /** The domain as read back afterwards (null when it is not on the host). */
  domain: DomainSummary | null;
  /** What showed the reboot happened: a new domid, or (same domid) an uptime shorter than the time since the request. */
  evidence?: 'new-id' | 'uptime';
  /** With evidence `uptime`: the uptime read back, in seconds. */
  uptimeSeconds?: number;
  /** --force: the config file it was created again from. */
  configPath?: string;
  /**
   * --force: after the destroy, xenops' create was refused as already existing: the guest was started again meanwhile
   * outside xenops (perhaps from another config file), not by xenops.
   */
  startedMeanwhile?: boolean;
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}

export type PauseOutcome = 'paused' | 'already-paused' | 'unpaused' | 'not-paused' | 'not-running';
export interface PauseResult {
  outcome: PauseOutcome;
  /** The domain as read back (null when it is not on the host). */
  domain: DomainSummary | null;
  /** Set when the job was resumed after its agent died: the outcome was read back, not watched. */
  resumed?: boolean;
}

/** `xl uptime` / `xm uptime`: each running domain's uptime, and the lines that could not be read (never guessed). */
export interface UptimeTable {
  rows: { name: string; id: number; uptimeSeconds: number }[];
  unparsed: string[];
  /** What the command left out though it exited 0 (no rows; a complaint on stderr): said to the user. */
  notes?: string[];
}

/**
 * One-shot `xentop -b -i 2`: the last iteration's rows, the one before it (null when xentop printed only one) and
 * what could not be read, said to the user (counted, the first line quoted short), never an empty table alone.
 */
export interface TopTable {
  rows: TopRow[];
  previous: TopRow[] | null;
  notes: string[];
  /**
   * Row names left as xentop cut them (10 characters) because no list named exactly one guest they fit: no guest may
   * be called that. Absent when there is none.
   */
  cut?: string[];
}

/**
 * Why a graceful stop or reboot of a paused guest is refused: its vCPUs do not run, so it cannot act on the request
 * (xenstore holds it until the next unpause). Said by the agent, and by the bot before it asks an approver for nothing.
 */
export const PAUSED_CANNOT = {
  stop: 'a paused guest cannot act on a shutdown request (it would power off at its next unpause)',
  reboot: 'a paused guest cannot act on a reboot request',
} as const;
