import type { DomainDetail } from '../../core/domain-detail.ts';
import type {
  AutostartResult,
  ConsoleResult,
  DomainSummary,
  HostInfo,
  MigrateResult,
  PauseResult,
  RebootResult,
  StartResult,
  StopResult,
  ToolstackKind,
  TopTable,
  UptimeTable,
} from '../../core/xen.ts';

export type {
  AutostartEntry,
  AutostartOutcome,
  AutostartResult,
  ConsoleResult,
  DomainStatus,
  DomainSummary,
  HostInfo,
  ListRow,
  MigrateOutcome,
  MigrateResult,
  PauseOutcome,
  PauseResult,
  RebootOutcome,
  RebootResult,
  StartOutcome,
  StartResult,
  StopOutcome,
  StopResult,
  ToolstackKind,
  TopRow,
  TopTable,
  UptimeTable,
} from '../../core/xen.ts';

export interface ProgressUpdate {
  stage: string;
  message: string;
  percent?: number;
}

/** What a mutation is about to send, given to OperationContext.beforeIssue. */
export interface IssueStep {
  /** The exact command (as built by argv.ts). */
  argv: readonly string[];
  /** The domain as read just before (null = not on this host at all). */
  before: DomainSummary | null;
}

export interface OperationContext {
  signal?: AbortSignal;
  onProgress?: (update: ProgressUpdate) => void;
  /**
   * Awaited right before a mutating command is sent, after every check passed. If it throws, nothing is sent (the
   * agent writes its journal entry here, and start checks the other hosts here).
   */
  beforeIssue?: (step: IssueStep) => Promise<void>;
  /**
   * Throws when another run of this job (BullMQ handed it out again) has already recorded sending its command: a step
   * that waited (a plan's migration, for its target) asks before judging a state that run may have changed.
   */
  refuseIfSentElsewhere?: () => Promise<void>;
}

/** The host a migration goes to, and how to read it back. */
export interface MigrationTarget {
  host: string;
  /** How the source Dom0 reaches the target (xl migrate's ssh destination). */
  address: string;
  /** Lists the target host's domains (through the same pool). */
  verify: () => Promise<DomainSummary[]>;
}

/** One host's Xen toolstack, driven over the RemoteRunner. All domain arguments are validated names. */
/** The domain list and what could not be read while making it (an autostart entry of an unknown shape…). */
export interface Inventory {
  domains: DomainSummary[];
  notes: string[];
}

export interface Toolstack {
  readonly kind: ToolstackKind;
  list(ctx?: OperationContext): Promise<DomainSummary[]>;
  /** list(), with notes on what could not be read (said to the user, never guessed). */
  inventory(ctx?: OperationContext): Promise<Inventory>;
  /** `xl info` parsed, and what it left out though it exited 0 (said to the user). */
  info(ctx?: OperationContext): Promise<{ info: HostInfo; notes: string[] }>;
  /** info() and list() in one round trip (/status asks both of every host). */
  /** `notes`: list lines it could not read (the counts leave them out: said, not guessed). */
  infoAndList(ctx?: OperationContext): Promise<{ info: HostInfo; domains: DomainSummary[]; notes: string[] }>;
  /** One-shot xentop: the last iteration's rows, the iteration before it, and notes on what could not be read. */
  topTable(ctx?: OperationContext): Promise<TopTable>;
  /** Each running domain's uptime in seconds, by name; `unparsed`: the lines it could not read, to be said (never guessed). */
  uptime(ctx?: OperationContext): Promise<{ seconds: Record<string, number>; unparsed: string[] }>;
  /** `xl uptime` as rows (name, domid, seconds), with the lines it could not read. */
  uptimeTable(ctx?: OperationContext): Promise<UptimeTable>;
  /** One domain's page (/show): configuration, devices, vCPUs, uptime, read in one round trip. */
  show(domain: string, ctx?: OperationContext): Promise<DomainDetail>;
  start(domain: string, ctx?: OperationContext): Promise<StartResult>;
  stop(domain: string, options: { force: boolean; timeoutSeconds?: number }, ctx?: OperationContext): Promise<StopResult>;
  consoleSnapshot(domain: string, lines: number, ctx?: OperationContext): Promise<ConsoleResult>;
  migrate(domain: string, target: MigrationTarget, ctx?: OperationContext): Promise<MigrateResult>;
  /** Makes (enable) or removes the domain's /etc/xen/auto symlink; reads it back. */
  autostart(domain: string, enable: boolean, ctx?: OperationContext): Promise<AutostartResult>;
  /** `xl reboot` (graceful) or, with force, `xl destroy` then `xl create` from its config file; verified by a new domid. */
  reboot(domain: string, options: { force: boolean }, ctx?: OperationContext): Promise<RebootResult>;
  /** `xl pause` (pause) or `xl unpause`; verified by the paused flag read back. */
  pause(domain: string, pause: boolean, ctx?: OperationContext): Promise<PauseResult>;

  /*
   * Resumption: the agent died after a mutating command may have been sent. These only read the state (never send
   * the command again) and report what really happened, with `resumed: true`.
   */
  /** Waits (bounded) for the domain to come up. */
  verifyStart(domain: string, ctx?: OperationContext): Promise<StartResult>;
  /** Waits for the domain to be gone, up to the host's shutdown timeout counted from issuedAt (epoch ms). */
  verifyStop(domain: string, options: { force: boolean; issuedAt: number }, ctx?: OperationContext): Promise<StopResult>;
  /** Reads both hosts (waiting while migration leftovers show it still moving). */
  verifyMigrate(domain: string, target: Omit<MigrationTarget, 'address'>, ctx?: OperationContext): Promise<MigrateResult>;
  /** Reads the autostart entry back. */
  verifyAutostart(domain: string, enable: boolean, ctx?: OperationContext): Promise<AutostartResult>;
  /** Waits (bounded) for the domain to be up with another domid than `previousId` (the journal's `before`). */
  verifyReboot(
    domain: string,
    options: { force: boolean; issuedAt: number; previousId: number | null },
    ctx?: OperationContext,
  ): Promise<RebootResult>;
  /** Reads the paused flag back. */
  verifyPause(domain: string, pause: boolean, ctx?: OperationContext): Promise<PauseResult>;
}
