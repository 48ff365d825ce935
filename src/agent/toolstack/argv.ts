import { configDirProblem, MIGRATE_ADDRESS_PATTERN } from '../../config/schema.ts';
import { UserError } from '../../core/errors.ts';
import { DomainName, TargetDomainName } from '../../core/names.ts';
import { quoteArg } from '../ssh/quote.ts';
import type { ToolstackKind } from './types.ts';

/**
 * Pure argv builders: the exact commands xenops runs on a Dom0. Domain arguments are validated here, so no
 * runner call can happen with a bad name. The same argv is what an approval shows as the command preview.
 */

export function checked(name: string, mutating: boolean): string {
  const result = (mutating ? TargetDomainName : DomainName).safeParse(name);
  if (!result.success) {
    const message = result.error.issues[0]?.message ?? 'invalid';
    throw new UserError(message.includes('Domain-0') ? 'domain.protected' : 'args.invalid', `domain "${name}": ${message}`);
  }
  return result.data;
}

/**
 * `xm list --long` rides in the list's batch and only ever adds UUIDs: a slow xend must cost those, not the list
 * (its `timeout` exit 124 leaves the UUIDs null), so it is bounded on the host well inside the batch's timeout.
 */
export const LIST_LONG_SECONDS = 10;

export const argv = {
  /** xl: -v adds the UUID column (xm's -v is something else, and xm has no UUID column). */
  list: (ts: ToolstackKind) => (ts === 'xl' ? ['xl', 'list', '-v'] : ['xm', 'list']),
  /**
   * Every domain's full record: on xm, xend's SXP with `(uuid …)` — where xm hosts get UUIDs from, as `xm list`
   * has no UUID column (xl prints JSON here, and its UUIDs already come from `xl list -v`).
   */
  listLong: (ts: ToolstackKind) => ['timeout', String(LIST_LONG_SECONDS), ts, 'list', '--long'],
  info: (ts: ToolstackKind) => [ts, 'info'],
  /** Every domain's uptime (xl and xm print the same columns). */
  uptime: (ts: ToolstackKind) => [ts, 'uptime'],
  /** The second iteration is the one with real CPU percentages. */
  top: () => ['xentop', '-b', '-i', '2', '-d', '1'],
  /**
   * A domain's config file as the host's listing found it (DIR/NAME.cfg, or where an autostart link points): the path
   * `create` would be given, under the same rule.
   */
  catConfig: (configPath: string) => ['cat', absoluteConfig(configPath)],
  /** xl has no config search path: always an absolute path. */
  create: (ts: ToolstackKind, configPath: string) => {
    return [ts, 'create', absoluteConfig(configPath)];
  },
  shutdown: (ts: ToolstackKind, domain: string, timeoutSeconds: number) => [
    'timeout',
    String(timeoutSeconds),
    ts,
    'shutdown',
    '-w',
    checked(domain, true),
  ],
  destroy: (ts: ToolstackKind, domain: string) => [ts, 'destroy', checked(domain, true)],
  consoleLogExists: (logDir: string, domain: string) => ['test', '-r', consoleLogPath(logDir, checked(domain, false))],
  /** The log's last bytes, not lines: one line may be megabytes (see CONSOLE_READ_BYTES). */
  consoleTail: (logDir: string, domain: string, bytes: number) => [
    'tail',
    '-c',
    String(bytes),
    consoleLogPath(logDir, checked(domain, false)),
  ],
  /** The log logrotate moved aside (`delaycompress` leaves .1 plain; xenconsoled writes on there until SIGHUP). */
  consoleTailRotated: (logDir: string, domain: string, bytes: number) => [
    'tail',
    '-c',
    String(bytes),
    `${consoleLogPath(logDir, checked(domain, false))}.1`,
  ],
  /** The one domain's row, read with the console: whether the console shown belongs to a guest that still runs. */
  consoleState: (ts: ToolstackKind, domain: string) => [ts, 'list', checked(domain, false)],
  consoleAttach: (ts: ToolstackKind, domain: string, seconds = 3) => ['timeout', String(seconds), ts, 'console', checked(domain, false)],
  migrate: (ts: ToolstackKind, domain: string, targetAddress: string) => {
    if (!MIGRATE_ADDRESS_PATTERN.test(targetAddress))
      throw new UserError('args.invalid', `invalid migration target address ${targetAddress}: it must be [user@]host`);
    // xm hands the address to xend's relocation server, not to ssh: a user@ would only make the migration fail there.
    if (ts === 'xm' && targetAddress.includes('@'))
      throw new UserError(
        'args.invalid',
        `xm migrates through xend's relocation port, not ssh: the target address ${targetAddress} cannot have a user@`,
      );
    return ts === 'xl'
      ? ['xl', 'migrate', checked(domain, true), targetAddress]
      : ['xm', 'migrate', '-l', checked(domain, true), targetAddress];
  },
  listDir: (dir: string) => ['ls', '-1', dir],
  /**
   * The autostart dir's entries with their types and link targets (read with the `ls -1` of the same dir). The
   * trailing slash makes `ls -l` list the directory's contents even when /etc/xen/auto is itself a symlink.
   */
  autostartListing: () => ['ls', '-l', `${AUTOSTART_DIR}/`],
  /**
   * Autostart on: a symlink /etc/xen/auto/NAME.cfg → the domain's config file, as xendomains expects. No `-f`: an
   * entry already there is never replaced (ln fails with "File exists"); no `-T`/`-n` (not in every ln): the state
   * read first (under the domain's lock) has shown nothing is at that path.
   */
  autostartOn: (configPath: string, domain: string) => ['ln', '-s', configFilePath(configPath), autostartPath(domain)],
  /**
   * Autostart off: `unlink` removes exactly one directory entry — no options, no recursion, never a directory — and
   * is only sent after the state showed that entry to be a symlink.
   */
  autostartOff: (domain: string) => ['unlink', autostartPath(domain)],
  /** Read-back: prints a symlink's contents (exit 1, nothing printed, when the path is no symlink). */
  readLink: (domain: string) => ['readlink', autostartPath(domain)],
  /** Read-back: whether anything (following symlinks) is at the autostart path. */
  autostartExists: (domain: string) => ['test', '-e', autostartPath(domain)],
  /** Asks the guest to reboot (asynchronous: returns at once; the domain comes back with a new domid). */
  reboot: (ts: ToolstackKind, domain: string) => [ts, 'reboot', checked(domain, true)],
  pause: (ts: ToolstackKind, domain: string) => [ts, 'pause', checked(domain, true)],
  unpause: (ts: ToolstackKind, domain: string) => [ts, 'unpause', checked(domain, true)],
  /** One domain's stored configuration (/show): libxl's JSON on xl, xend's SXP on xm. */
  listLongOf: (ts: ToolstackKind, domain: string) => [ts, 'list', '-l', checked(domain, false)],
  /** The domain's vifs as the backend has them (Idx, MAC, state); the bridge and IP are only in the configuration. */
  networkList: (ts: ToolstackKind, domain: string) => [ts, 'network-list', checked(domain, false)],
  /** The domain's disks by device number (xvda = 51712) and state; the backing path is only in the configuration. */
  blockList: (ts: ToolstackKind, domain: string) => [ts, 'block-list', checked(domain, false)],
  /** Each vCPU's physical CPU, state and affinity (live pinning). */
  vcpuList: (ts: ToolstackKind, domain: string) => [ts, 'vcpu-list', checked(domain, false)],
  uptimeOf: (ts: ToolstackKind, domain: string) => [ts, 'uptime', checked(domain, false)],
  /**
   * A domain's config file (/show of a domain that is not running): only `DIR/NAME.cfg`, DIR one of the host's config
   * dirs (a plain absolute path) and NAME validated — `cat` is never given any other path.
   */
  readConfig: (configDirs: readonly string[], dir: string, domain: string) => {
    const base = dir.replace(/\/+$/, '');
    const ok = configDirs.some((d) => d.replace(/\/+$/, '') === base) && configDirProblem(dir) === null;
    if (!ok) throw new UserError('args.invalid', `not a config dir of this host: ${dir}`);
    return ['cat', `${base}/${checked(domain, false)}.cfg`];
  },
};

const CONFIG_FILE = /^([A-Za-z0-9][A-Za-z0-9_.:+-]{0,63})\.cfg$/;

/** NAME of a `NAME.cfg` file name, or null (all-digit names are domids to xl, never names). */
export function cfgName(file: string): string | null {
  const m = CONFIG_FILE.exec(file);
  return m?.[1] && !/^\d+$/.test(m[1]) ? m[1] : null;
}

/**
 * A config path from the host's own listing: an absolute, plain path to a NAME.cfg file (each word is quoted when
 * sent). An autostart link may point anywhere (`/root/notes.txt`): `cat` and `create` are never given such a target.
 */
function absoluteConfig(configPath: string): string {
  // The dir rule holds for the whole path: cfgName then rules out the last segment being anything but NAME.cfg.
  if (configDirProblem(configPath) !== null || cfgName(configPath.slice(configPath.lastIndexOf('/') + 1)) === null)
    throw new UserError(
      'args.invalid',
      `${configPath} is not a NAME.cfg file at a plain absolute path: xenops does not start a guest from it, nor read it`,
    );
  return configPath;
}

/** Where xendomains looks for the domains to create when the host boots (XENDOMAINS_AUTO's default). */
export const AUTOSTART_DIR = '/etc/xen/auto';

/** The one autostart entry xenops ever makes or removes for a domain: /etc/xen/auto/NAME.cfg, NAME validated. */
export function autostartPath(domain: string): string {
  return `${AUTOSTART_DIR}/${checked(domain, true)}.cfg`;
}

/** A config file a link may point to: absolute, normalized, `.cfg`, outside /etc/xen/auto, no shell-special bytes. */
function configFilePath(path: string): string {
  const ok =
    /^\/[A-Za-z0-9_.:+/-]+\.cfg$/.test(path) &&
    !path.split('/').some((part, i) => i > 0 && (part === '' || part === '.' || part === '..')) &&
    !path.startsWith(`${AUTOSTART_DIR}/`);
  if (!ok) throw new UserError('args.invalid', `not a config file path xenops links to: ${path}`);
  return path;
}

export function consoleLogPath(logDir: string, domain: string): string {
  return `${logDir}/guest-${domain}.log`;
}

/** How a command looks to a human reviewing it (approvals, audit): quoted exactly as it is sent. */
export function describeArgv(words: readonly string[]): string {
  return words.map(quoteArg).join(' ');
}
