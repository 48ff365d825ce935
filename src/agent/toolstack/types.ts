import type { HostInfo, ListRow, TopRow } from '../parsers/types.ts';

export type ToolstackKind = 'xl' | 'xm';

/**
 * What an operator wants to know about a domain, derived from the six state flags.
 * `defined` = a config file exists in the host's config dirs but no domain of that name runs.
 */
export type DomainStatus = 'running' | 'blocked' | 'paused' | 'shutdown' | 'crashed' | 'dying' | 'defined';

export interface DomainSummary {
  name: string;
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

export interface ProgressUpdate {
  stage: string;
  message: string;
  percent?: number;
}

export interface OperationContext {
  signal?: AbortSignal;
  onProgress?: (update: ProgressUpdate) => void;
}

export type StartOutcome = 'started' | 'already-running';
export type StopOutcome = 'shut-down' | 'destroyed' | 'already-stopped';
export type MigrateOutcome = 'migrated' | 'already-on-target';

export interface StartResult {
  outcome: StartOutcome;
  domain: DomainSummary;
}
export interface StopResult {
  outcome: StopOutcome;
  /** The domain as read back afterwards: `defined` (config exists) or null when it is gone entirely. */
  domain: DomainSummary | null;
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
}

/** One host's Xen toolstack, driven over the RemoteRunner. All domain arguments are validated names. */
export interface Toolstack {
  readonly kind: ToolstackKind;
  list(ctx?: OperationContext): Promise<DomainSummary[]>;
  info(ctx?: OperationContext): Promise<HostInfo>;
  top(ctx?: OperationContext): Promise<TopRow[]>;
  start(domain: string, ctx?: OperationContext): Promise<StartResult>;
  stop(domain: string, options: { force: boolean; timeoutSeconds?: number }, ctx?: OperationContext): Promise<StopResult>;
  consoleSnapshot(domain: string, lines: number, ctx?: OperationContext): Promise<ConsoleResult>;
  /** targetAddress is how the source Dom0 reaches the target; verifyOnTarget reads the target host back. */
  migrate(
    domain: string,
    target: { host: string; address: string; verify: () => Promise<DomainSummary[]> },
    ctx?: OperationContext,
  ): Promise<MigrateResult>;
}

export type { HostInfo, ListRow, TopRow };
