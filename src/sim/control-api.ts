/**
 * The wire shapes of the simulator's control interface (HTTP + JSON on 127.0.0.1), shared by the server
 * (control.ts) and the typed client (control-client.ts). README "Simulator control" documents the endpoints.
 */
import type { FaultInfo, FaultKind } from './faults.ts';
import type { LoggedCommand } from './log.ts';

export type { FaultInfo, FaultKind } from './faults.ts';
export type { CommandEnd, LoggedCommand } from './log.ts';

export type SimDomainStatus = 'running' | 'blocked' | 'paused' | 'shutdown' | 'crashed' | 'dying';

export interface SimDomainState {
  name: string;
  id: number;
  uuid: string;
  /** xl's six state flags, e.g. `-b----`. */
  flags: string;
  status: SimDomainStatus;
  memoryMiB: number;
  vcpus: number;
  cpuSeconds: number;
}

export interface SimHostStateJson {
  name: string;
  address: '127.0.0.1';
  port: number;
  /** What new connections are shown now (changes while a hostKey fault is armed). */
  hostKeyFingerprint: string;
  toolstack: 'xl' | 'xm';
  sudo: 'ok' | 'password';
  migrateAddress: string;
  /** Taken down (POST /hosts/HOST/down): connections to it are refused until it is brought up. */
  down: boolean;
  totalMemoryMiB: number;
  freeMemoryMiB: number;
  /** Domains that exist now (Domain-0 included), by id. */
  domains: SimDomainState[];
  /** Paths of the domain config files on the host (defined domains, running or not). */
  configs: string[];
  /** Symbolic links, e.g. the autostart entries `/etc/xen/auto/NAME.cfg` → the config file (contents as written). */
  links: { path: string; target: string }[];
  /** Live SSH connections and commands running now / the most at once. */
  connections: number;
  activeCommands: number;
  maxActiveCommands: number;
}

/** GET /state */
export interface SimStateJson {
  hosts: Record<string, SimHostStateJson>;
  /** The newest log entry's seq (0 before any command). */
  lastSeq: number;
}

/** GET /log and GET /log/wait (200; the 408 body is the same plus `error`). */
export interface SimLogPage {
  entries: LoggedCommand[];
  lastSeq: number;
}

/** POST /faults body. */
export interface FaultRequest {
  host: string;
  kind: FaultKind;
  /** A JavaScript regular expression source, tested against the full command; default: any command. */
  match?: string;
  /** delay: milliseconds of wall time. */
  ms?: number;
  /** fail: exit code (default 1). */
  code?: number;
  /** fail: stderr text (default "sim: injected failure\n"). */
  stderr?: string;
  /** drop: run the command first (it took effect), then cut the connection. */
  afterEffect?: boolean;
  /** crashOnArrival: what the guest's on_crash makes of it on its target (default preserve: listed crashed, `--psc-`). */
  onCrash?: 'preserve' | 'destroy';
  /** How many matching commands (default 1; 0 = all until deleted). Ignored for hostKey. */
  times?: number;
}

/** POST /faults answer. */
export interface FaultCreated {
  id: string;
  fault: FaultInfo;
}

/** POST /hosts/HOST/down answer: `dropped` live connections were cut (0 when it was down already). */
export interface HostDown {
  host: string;
  down: true;
  dropped: number;
}

/** POST /hosts/HOST/up answer. */
export interface HostUp {
  host: string;
  down: false;
}

/** POST /hosts/HOST/domains/NAME/crash body (optional). */
export interface CrashRequest {
  /** What the guest's on_crash makes of it (default preserve: listed crashed, `--psc-`; destroy: gone). */
  onCrash?: 'preserve' | 'destroy';
}

/** POST /hosts/HOST/domains/NAME/crash answer. */
export interface DomainCrashed {
  host: string;
  domain: string;
  onCrash: 'preserve' | 'destroy';
  /** What is left of it: listed crashed (preserve) or gone (destroy). */
  status: 'crashed' | 'destroyed';
}

/** Error bodies (4xx). */
export interface ControlError {
  error: string;
}
