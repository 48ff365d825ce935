import { posix } from 'node:path';
import { parse } from 'shell-quote';
import type { OnCrash } from './faults.ts';
import {
  formatBlockList,
  formatInfo,
  formatNetworkList,
  formatVcpuList,
  formatXentopIteration,
  formatXlList,
  formatXlListLong,
  formatXmList,
  formatXmListLong,
  inactiveManaged,
} from './format.ts';
import { bootLines, consoleLogPath, parseDomainConfig, type SimDomain, type SimFleet, type SimHostState } from './model.ts';

/** Where a running command writes, and how it waits (scaled by the simulator's time factor). */
export interface CommandIO {
  out(text: string): void;
  err(text: string): void;
  /** Resolves after ms (scaled), or rejects when the command is aborted. */
  sleep(ms: number): Promise<void>;
  signal: AbortSignal;
}

export interface InterpreterOptions {
  shutdownDelayMs: number;
  /** A crashOnArrival fault on this (migrate) command: the guest crashes on its target once it runs there. */
  crashOnArrival?: OnCrash | undefined;
  /**
   * Whether a migration's target answers the command xl's ssh transport runs there (`xl migrate-receive`): while it
   * does not (powered off, network cut), the copy stalls, as xl's stream waits on TCP. Absent: it always answers.
   */
  receiverAnswers?: ((target: SimHostState, command: string) => boolean) | undefined;
  /** Whether a new connection to a migration's target gets through (not while it is taken down). Absent: it does. */
  reachable?: ((target: SimHostState) => boolean) | undefined;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/**
 * Runs one exec request the way a Dom0's shell would, for the commands xenops sends. Shell syntax (operators,
 * substitutions, globs) is refused: the client must only ever send quoted argv words, and this makes tests
 * prove it.
 */
export async function runCommand(
  fleet: SimFleet,
  host: SimHostState,
  command: string,
  io: CommandIO,
  options: InterpreterOptions,
): Promise<number> {
  let words: string[];
  try {
    const tokens = parse(command, (key) => `$${key}`);
    if (tokens.some((t) => typeof t !== 'string') || /\$\(|`/.test(command.replace(/'[^']*'/g, ''))) {
      io.err('sim: unsupported shell syntax\n');
      return 2;
    }
    words = tokens as string[];
  } catch {
    io.err('sim: unsupported shell syntax\n');
    return 2;
  }
  try {
    return await run(fleet, host, words, io, options);
  } catch (error) {
    if (error instanceof Exit) return error.code;
    throw error;
  }
}

/**
 * Whether a command writes to its client as it goes and so dies with it (SIGPIPE/SIGHUP on a real Dom0): console
 * attach, migrate (xl migrate's progress and its ssh transport) and xentop. Everything else, once started, runs to
 * completion whether or not anyone is still listening.
 */
export function streamsToClient(command: string): boolean {
  let words: string[];
  try {
    words = parse(command).filter((t): t is string => typeof t === 'string');
  } catch {
    return false;
  }
  for (;;) {
    const [first, ...rest] = words;
    if (first === 'sudo') {
      words = rest;
      while (words[0]?.startsWith('-')) {
        const flag = words.shift();
        if (flag === '--') break;
      }
    } else if (first === 'timeout') words = rest.slice(1);
    else break;
  }
  const [cmd, sub] = words;
  return cmd === 'xentop' || ((cmd === 'xl' || cmd === 'xm') && (sub === 'console' || sub === 'migrate'));
}

async function run(fleet: SimFleet, host: SimHostState, argv: string[], io: CommandIO, options: InterpreterOptions): Promise<number> {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case undefined:
      return 0;
    case 'true':
      return 0;
    case 'sudo': {
      const rest = args[0] === '-n' ? args.slice(1) : args;
      const inner = rest[0] === '--' ? rest.slice(1) : rest;
      if (host.sudo === 'password') {
        io.err('sudo: a password is required\n');
        return 1;
      }
      return run(fleet, host, inner, io, options);
    }
    case 'timeout':
      return runTimeout(fleet, host, args, io, options);
    case 'xl':
    case 'xm':
      if (cmd !== host.toolstack) return notFound(io, cmd);
      return runToolstack(fleet, host, cmd, args, io, options);
    case 'xentop':
      return runXentop(fleet, host, args, io);
    case 'tail':
      return runTail(fleet, host, args, io);
    case 'cat': {
      for (const path of args) {
        const content = fleet.readFile(host, path);
        if (content === undefined) return fail(io, `cat: ${path}: No such file or directory`, 1);
        io.out(content);
      }
      return 0;
    }
    case 'ls':
      return runLs(fleet, host, args, io);
    case 'test': {
      const [flag, path] = args;
      if (!flag || !path || !['-e', '-f', '-r', '-d', '-L', '-h'].includes(flag)) return 2;
      if (flag === '-L' || flag === '-h') return host.links.has(path) ? 0 : 1;
      if (flag === '-d') return fleet.isDir(host, path) ? 0 : 1;
      const file = fleet.readFile(host, path) !== undefined;
      return file || (flag === '-e' && fleet.isDir(host, path)) ? 0 : 1;
    }
    case 'readlink': {
      // Plain readlink (no -f/-e/-m): a symlink's contents, else exit 1 with nothing printed (GNU coreutils).
      const paths = args.filter((a) => !a.startsWith('-'));
      if (paths.length === 0) return fail(io, 'readlink: missing operand', 1);
      let code = 0;
      for (const path of paths) {
        const target = host.links.get(path);
        if (target === undefined) code = 1;
        else io.out(`${target}\n`);
      }
      return code;
    }
    case 'ln':
      return runLn(fleet, host, args, io);
    case 'unlink': {
      if (args.length === 0) return fail(io, 'unlink: missing operand', 1);
      if (args.length > 1) return fail(io, `unlink: extra operand '${args[1]}'`, 1);
      return removeEntry(fleet, host, args[0] as string, io, 'unlink: cannot unlink');
    }
    case 'rm': {
      const force = args.some((a) => /^-[a-z]*f/.test(a));
      if (args.some((a) => /^-[a-z]*[rR]/.test(a))) return fail(io, 'sim: rm -r is not simulated', 2);
      const paths = args.filter((a) => !a.startsWith('-'));
      if (paths.length === 0) return fail(io, 'rm: missing operand', 1);
      let code = 0;
      for (const path of paths) {
        if (force && !host.links.has(path) && !host.files.has(path) && !fleet.isDir(host, path)) continue;
        if (removeEntry(fleet, host, path, io, 'rm: cannot remove') !== 0) code = 1;
      }
      return code;
    }
    case 'command':
    case 'which': {
      const name = args.filter((a) => a !== '-v').at(0) ?? '';
      const known = [host.toolstack, 'xentop', 'timeout', 'tail', 'cat', 'ls', 'test', 'sudo', 'ln', 'unlink', 'rm', 'readlink'];
      if (!known.includes(name)) return 1;
      io.out(`/usr/sbin/${name}\n`);
      return 0;
    }
    default:
      return notFound(io, cmd);
  }
}

function notFound(io: CommandIO, cmd: string): number {
  io.err(`bash: line 1: ${cmd}: command not found\n`);
  return 127;
}

function fail(io: CommandIO, message: string, code: number): number {
  io.err(`${message}\n`);
  return code;
}

async function runTimeout(
  fleet: SimFleet,
  host: SimHostState,
  args: string[],
  io: CommandIO,
  options: InterpreterOptions,
): Promise<number> {
  const seconds = Number(args[0]);
  if (!Number.isFinite(seconds)) return fail(io, `timeout: invalid time interval '${args[0] ?? ''}'`, 125);
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  io.signal.addEventListener('abort', onAbort, { once: true });
  const inner: CommandIO = {
    out: io.out,
    err: io.err,
    signal: controller.signal,
    sleep: (ms) => (controller.signal.aborted ? Promise.reject(new Exit(124)) : io.sleep(ms)),
  };
  let timedOut = false;
  const timer = io.sleep(seconds * 1000).then(
    () => {
      timedOut = true;
      controller.abort();
    },
    () => {},
  );
  try {
    const code = await Promise.race([
      run(fleet, host, args.slice(1), inner, options),
      new Promise<number>((resolve) => controller.signal.addEventListener('abort', () => resolve(124), { once: true })),
    ]);
    return timedOut ? 124 : code;
  } catch (error) {
    if (error instanceof Exit) return timedOut ? 124 : error.code;
    throw error;
  } finally {
    io.signal.removeEventListener('abort', onAbort);
    controller.abort();
    void timer;
  }
}

function runTail(fleet: SimFleet, host: SimHostState, args: string[], io: CommandIO): number {
  let lines: number | null = null;
  let bytes: number | null = null;
  let path: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-n') lines = Number(args[++i]);
    else if (a === '-c') bytes = Number(args[++i]);
    else path = a;
  }
  if (!path) return fail(io, 'tail: no file given', 1);
  const content = fleet.readFile(host, path);
  if (content === undefined) return fail(io, `tail: cannot open '${path}' for reading: No such file or directory`, 1);
  let text = bytes === null ? content : content.slice(-bytes);
  if (lines !== null) {
    const all = text.split('\n');
    const trailing = all.at(-1) === '' ? all.pop() : undefined;
    // An empty file has no line to end: GNU tail prints nothing.
    text = all.length === 0 ? '' : all.slice(-lines).join('\n') + (trailing === undefined ? '' : '\n');
  }
  io.out(text);
  return 0;
}

function runXentop(fleet: SimFleet, host: SimHostState, args: string[], io: CommandIO): Promise<number> {
  let iterations = Number.POSITIVE_INFINITY;
  let delay = 3;
  let batch = false;
  let full = false;
  let repeat = false;
  // getopt's '?' (an option this xentop does not know) and -h: `usage(argv[0]); exit(0);` — the usage on stdout, exit 0
  // (tools/xentop/xentop.c main, the same since 3.x); getopt_long itself says which option on stderr.
  const usage = (complaint: string | null): Promise<number> => {
    if (complaint) io.err(`xentop: ${complaint}\n`);
    io.out(host.xentopFullName ? XENTOP_USAGE : XENTOP_USAGE.replace(/^-f, .*\n/m, ''));
    return Promise.resolve(0);
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    if (a === '-b' || a === '--batch') batch = true;
    else if (a === '-i') iterations = Number(args[++i]);
    else if (a === '-d') delay = Number(args[++i]);
    else if ((a === '-f' || a === '--full-name') && host.xentopFullName) full = true;
    else if (a === '-r' || a === '--repeat-header') repeat = true;
    else if (a === '-h' || a === '--help') return usage(null);
    else if (['-n', '--networks', '-x', '--vbds', '-v', '--vcpus', '-V', '--version'].includes(a))
      return Promise.resolve(fail(io, `sim: xentop ${a} is not simulated`, 2));
    else if (a.startsWith('--')) return usage(`unrecognized option '${a}'`);
    else return usage(`invalid option -- '${a.charAt(1)}'`);
  }
  if (!batch) return Promise.resolve(fail(io, 'xentop: no terminal (use -b)', 1));
  return (async () => {
    let previous = new Map<number, { cpu: number; at: number }>();
    for (let i = 0; i < iterations; i++) {
      if (i > 0) await io.sleep(delay * 1000);
      const now = fleet.now();
      const percent = new Map<number, number>();
      for (const d of host.domains) {
        const cpu = fleet.cpuSeconds(d);
        const prev = previous.get(d.id);
        // The first iteration has no previous sample: 0.0, as real xentop prints.
        percent.set(d.id, prev && now > prev.at ? ((cpu - prev.cpu) / ((now - prev.at) / 1000)) * 100 : 0);
      }
      previous = new Map(host.domains.map((d) => [d.id, { cpu: fleet.cpuSeconds(d), at: now }]));
      io.out(formatXentopIteration(fleet, host, percent, full, repeat));
    }
    return 0;
  })();
}

/** `xentop -h` as XCP-ng 8.3's xentop 4.17 prints it (shared/xen-samples/xentop-help__xentop-ng-xcpng-8.3.txt). */
const XENTOP_USAGE = [
  'Usage: xentop [OPTION]',
  'Displays ongoing information about xen vm resources ',
  '',
  '-h, --help           display this help and exit',
  '-V, --version        output version information and exit',
  '-d, --delay=SECONDS  seconds between updates (default 3)',
  '-n, --networks       output vif network data',
  '-x, --vbds           output vbd block device data',
  '-r, --repeat-header  repeat table header before each domain',
  '-v, --vcpus          output vcpu data',
  '-b, --batch\t     output in batch mode, no user input accepted',
  '-i, --iterations     number of iterations before exiting',
  '-f, --full-name      output the full domain name (not truncated)',
  '',
  'Report bugs to <xen-devel@lists.xen.org>.',
  '',
].join('\n');

async function runToolstack(
  fleet: SimFleet,
  host: SimHostState,
  tool: 'xl' | 'xm',
  args: string[],
  io: CommandIO,
  options: InterpreterOptions,
): Promise<number> {
  const [sub, ...rest] = args;
  const invalid = (ref: string) =>
    tool === 'xl' ? fail(io, `${ref} is an invalid domain identifier (rc=-6)`, 1) : fail(io, `Error: Domain '${ref}' does not exist.`, 3);
  switch (sub) {
    case 'list': {
      let long = false;
      let verbose = false;
      const refs: string[] = [];
      for (const a of rest) {
        if (a === '--long') long = true;
        else if (a === '--verbose') verbose = true;
        else if (/^-[lvZcn]+$/.test(a)) {
          long ||= a.includes('l');
          verbose ||= a.includes('v');
        } else if (a.startsWith('-')) return fail(io, `option \`${a.replace(/^-+/, '')}' not supported.`, 2);
        else refs.push(a);
      }
      if (refs.length > 1) return fail(io, `Usage: ${tool} list [options] [Domain]`, tool === 'xl' ? 1 : 2);
      const ref = refs[0];
      let domains = host.domains;
      let inactive = tool === 'xm' ? inactiveManaged(host) : [];
      if (ref !== undefined) {
        const d = fleet.findDomain(host, ref);
        inactive = inactive.filter((name) => name === ref);
        if (!d && (long || inactive.length === 0))
          return tool === 'xl' && /^\d+$/.test(ref) ? fail(io, `Error: Domain '${ref}' does not exist.`, 1) : invalid(ref);
        domains = d ? [d] : [];
      }
      if (long) io.out(tool === 'xl' ? formatXlListLong(host, domains) : formatXmListLong(fleet, host, domains));
      else if (tool === 'xl') io.out(formatXlList(fleet, host, { verbose, domains }));
      else io.out(formatXmList(fleet, host, domains, inactive));
      return 0;
    }
    case 'info':
      io.out(formatInfo(fleet, host));
      return 0;
    case 'domid': {
      const d = rest[0] === undefined ? undefined : fleet.findDomain(host, rest[0]);
      if (!d) return fail(io, `Can't get domid of domain name '${rest[0] ?? ''}', maybe this domain does not exist.`, 1);
      io.out(`${d.id}\n`);
      return 0;
    }
    case 'create': {
      const path = rest.find((a) => !a.startsWith('-'));
      if (!path) return fail(io, "'xl create' requires at least 1 argument.", 2);
      const text = path.startsWith('/') ? fleet.readFile(host, path) : undefined;
      if (text === undefined) {
        return tool === 'xl'
          ? fail(io, `Failed to read config file: ${path}: No such file or directory`, 3)
          : fail(io, `Error: Unable to open config file: ${path}`, 1);
      }
      const cfg = parseDomainConfig(text);
      if (!cfg.name) return fail(io, 'Domain name must be specified.', 1);
      if (tool === 'xl') io.err(`Parsing config from ${path}\n`);
      else io.out(`Using config file "${path}".\n`);
      const existing = fleet.findDomain(host, cfg.name);
      if (existing) {
        if (tool === 'xm') return fail(io, `Error: Domain '${cfg.name}' already exists with ID '${existing.id}'`, 1);
        const id = host.nextId++;
        io.err(`libxl: error: libxl_domain.c:215:libxl__domain_rename: Domain ${id}:Domain with name "${cfg.name}" already exists.\n`);
        io.err(`libxl: error: libxl_create.c:1312:initiate_domain_create: Domain ${id}:cannot make domain: -6\n`);
        return 3;
      }
      const d = fleet.addDomain(host, { ...cfg, name: cfg.name, uuid: cfg.uuid, flags: '-b----' });
      fleet.appendConsole(host, cfg.name, bootLines(cfg.name));
      if (tool === 'xm') io.out(`Started domain ${cfg.name} (id=${d.id})\n`);
      return 0;
    }
    case 'shutdown': {
      const wait = rest.includes('-w') || rest.includes('--wait');
      const ref = rest.find((a) => !a.startsWith('-'));
      if (!ref) return fail(io, `'${tool} shutdown' requires at least 1 argument.`, 2);
      const d = fleet.findDomain(host, ref);
      if (!d) return invalid(ref);
      if (tool === 'xl') io.err(`Shutting down domain ${d.id}\n`);
      if (d.flags.charAt(3) === 's') {
        // Shut down already (crashed and kept, or powered off and not cleared): libxl reports the shutdown it sees.
        if (wait && tool === 'xl')
          io.err(`Waiting for 1 domains\nDomain ${d.id} has been shut down, reason code ${d.flags.charAt(4) === 'c' ? 3 : 0}\n`);
        return 0;
      }
      // The request waits in xenstore: a paused guest acts on it only once it runs again (see unpause).
      if (d.pauseCount > 0) d.shutdownRequested = true;
      else powerOff(fleet, host, d, options.shutdownDelayMs);
      if (wait) {
        if (tool === 'xl') io.err('Waiting for 1 domains\n');
        while (host.domains.includes(d)) await io.sleep(20);
        if (tool === 'xl') io.err(`Domain ${d.id} has been shut down, reason code 0\n`);
        else io.out(`Domain ${d.name} terminated\n`);
      }
      return 0;
    }
    case 'destroy': {
      const ref = rest.find((a) => !a.startsWith('-'));
      if (!ref) return fail(io, `'${tool} destroy' requires at least 1 argument.`, 2);
      const d = fleet.findDomain(host, ref);
      if (!d) return invalid(ref);
      if (d.id === 0) return fail(io, 'Not destroying domain 0; use -f to force.', 1);
      fleet.removeDomain(host, d);
      return 0;
    }
    case 'pause':
    case 'unpause': {
      const ref = rest.find((a) => !a.startsWith('-'));
      if (ref === undefined) return fail(io, `'${tool} ${sub}' requires at least 1 argument.`, 2);
      const d = fleet.findDomain(host, ref);
      if (!d) return invalid(ref);
      // A hypercall and a xenstore write: quick, but not instant.
      await io.sleep(50);
      if (sub === 'pause') d.pauseCount++;
      else if (d.pauseCount === 0) {
        // Xen refuses to drop a pause that is not held (EINVAL); xl logs it and still exits 0 (it ignores libxl's rc).
        if (tool === 'xm') return fail(io, "Error: (22, 'Invalid argument')", 1);
        io.err(`libxl: error: libxl_domain.c:631:libxl_domain_unpause: Domain ${d.id}:Unpausing domain: Invalid argument\n`);
        return 0;
      } else d.pauseCount--;
      d.flags = `${d.flags.slice(0, 2)}${d.pauseCount > 0 ? 'p' : '-'}${d.flags.slice(3)}`;
      if (d.pauseCount === 0 && d.shutdownRequested) {
        d.shutdownRequested = false;
        powerOff(fleet, host, d, options.shutdownDelayMs);
      }
      return 0;
    }
    case 'reboot':
      return runReboot(fleet, host, tool, rest, io, options);
    case 'console': {
      const ref = rest.find((a) => !a.startsWith('-'));
      const d = ref === undefined ? undefined : fleet.findDomain(host, ref);
      if (!d || ref === undefined) return invalid(ref ?? '');
      if (d.id === 0) return fail(io, "Can't specify Domain-0", 1);
      // xm's xenconsole (as xl's before Xen 4.6) reads stdin, hits EOF at once without a terminal, and exits 0; the
      // simulator never grants a pty.
      if (tool === 'xm') return 0;
      const log = host.files.get(consoleLogPath(d.name)) ?? '';
      io.out(log.split('\n').slice(-12).join('\r\n'));
      // Stays attached like the real client; `timeout` ends it.
      for (;;) await io.sleep(1000);
    }
    case 'migrate':
      return runMigrate(fleet, host, tool, rest, io, options);
    case 'uptime': {
      // `xl uptime DOM…`: xl resolves every argument first (find_domain exits on an unknown one, before the header).
      const refs = rest.filter((a) => !a.startsWith('-'));
      const chosen = [];
      const managed = tool === 'xm' ? inactiveManaged(host) : [];
      const inactive: string[] = [];
      for (const ref of refs) {
        const d = fleet.findDomain(host, ref);
        if (d) chosen.push(d);
        else if (managed.includes(ref)) inactive.push(ref);
        else return invalid(ref);
      }
      if (tool === 'xl') {
        io.out(`${'Name'.padEnd(33)} ${'ID'.padStart(4)} Uptime\n`);
        for (const d of refs.length > 0 ? chosen : host.domains)
          io.out(`${d.name.padEnd(33)} ${String(d.id).padStart(4)} ${formatUptime((fleet.now() - d.createdAt) / 1000)}\n`);
        return 0;
      }
      // xm (X@4.1 xm/main.py xm_uptime; shared/xen-toolstack.md §1.6): the header `'%-33s %4s %s '` (a trailing
      // space), rows `"%(name)-32s %(domid)5s "` + the uptime. It lists every domain xend has ('all'): one xend manages
      // but that does not run has the domid '' and an uptime of 0.
      io.out(`${'Name'.padEnd(33)} ${'ID'.padStart(4)} Uptime \n`);
      for (const d of refs.length > 0 ? chosen : host.domains)
        io.out(`${d.name.padEnd(32)} ${String(d.id).padStart(5)} ${formatUptime((fleet.now() - d.createdAt) / 1000)}\n`);
      for (const name of refs.length > 0 ? inactive : managed) io.out(`${name.padEnd(32)} ${''.padStart(5)} ${formatUptime(0)}\n`);
      return 0;
    }
    case 'network-list':
    case 'block-list': {
      const ref = rest.find((a) => !a.startsWith('-'));
      if (ref === undefined) return fail(io, `'${tool} ${sub}' requires at least 1 argument.`, 2);
      const d = fleet.findDomain(host, ref);
      if (!d) {
        if (tool === 'xm') return invalid(ref);
        // xl prints the header first; network-list then exits 1 (find_domain), block-list says so and exits 0.
        io.out(sub === 'network-list' ? formatNetworkList('xl', null) : formatBlockList('xl', null));
        io.err(`${ref} is an invalid domain identifier${sub === 'network-list' ? ' (rc=-6)' : ''}\n`);
        return sub === 'network-list' ? 1 : 0;
      }
      io.out(sub === 'network-list' ? formatNetworkList(tool, d) : formatBlockList(tool, d));
      return 0;
    }
    case 'vcpu-list': {
      const refs = rest.filter((a) => !a.startsWith('-'));
      const chosen = [];
      for (const ref of refs) {
        const d = fleet.findDomain(host, ref);
        if (!d) {
          if (tool === 'xm') return invalid(ref);
          io.out(formatVcpuList(fleet, tool, chosen));
          return invalid(ref);
        }
        chosen.push(d);
      }
      io.out(formatVcpuList(fleet, tool, refs.length > 0 ? chosen : host.domains));
      return 0;
    }
    default:
      return fail(io, `command "${sub ?? ''}" not implemented`, 2);
  }
}

/**
 * `xl reboot` / `xm reboot`: writes the request and returns at once (xl says `Rebooting domain N` on stderr, xm
 * nothing). A running guest then shuts down with reason reboot (`---sr-`) after the shutdown delay and comes back
 * half a delay later as a new domain: same name, UUID and config, a new domid, its CPU time from zero. A paused
 * guest cannot act on the request: nothing happens (as on a real host).
 */
function runReboot(
  fleet: SimFleet,
  host: SimHostState,
  tool: 'xl' | 'xm',
  args: string[],
  io: CommandIO,
  options: InterpreterOptions,
): number {
  const ref = args.find((a) => !a.startsWith('-'));
  if (!ref) return fail(io, `'${tool} reboot' requires at least 1 argument.`, 2);
  const d = fleet.findDomain(host, ref);
  if (!d)
    return tool === 'xl'
      ? fail(io, `${ref} is an invalid domain identifier (rc=-6)`, 1)
      : fail(io, `Error: Domain '${ref}' does not exist.`, 3);
  if (d.id === 0) return fail(io, tool === 'xl' ? 'reboot failed (rc=-3)' : 'Error: Cannot reboot privileged domain 0', 1);
  if (tool === 'xl') io.err(`Rebooting domain ${d.id}\n`);
  const running = d.flags[2] !== 'p' && d.flags[3] !== 's' && d.flags[5] !== 'd';
  if (!running) return 0;
  fleet.appendConsole(host, d.name, ['[  OK  ] Reached target System Reboot.', 'reboot: Restarting system']);
  const old = d;
  setTimeout(() => {
    if (!host.domains.includes(old)) return;
    old.flags = '---sr-';
    setTimeout(() => {
      if (!host.domains.includes(old)) return;
      fleet.removeDomain(host, old);
      fleet.addDomain(host, {
        name: old.name,
        uuid: old.uuid,
        memoryMiB: old.memoryMiB,
        vcpus: old.vcpus,
        flags: '-b----',
        cpuRate: old.cpuRate,
        maxMemoryMiB: old.maxMemoryMiB,
        cpus: old.cpus,
        disks: old.disks,
        vifs: old.vifs,
      });
      fleet.appendConsole(host, old.name, bootLines(old.name));
    }, options.shutdownDelayMs / 2).unref();
  }, options.shutdownDelayMs).unref();
  return 0;
}

/** `ls [-1] [-l] [-a] PATH…`: names sorted, one a line; `-l` in GNU's long format (C locale). */
function runLs(fleet: SimFleet, host: SimHostState, args: string[], io: CommandIO): number {
  const flags = args.filter((a) => a.startsWith('-') && a !== '-').join('');
  const long = flags.includes('l');
  const paths = args.filter((a) => !a.startsWith('-') || a === '-');
  let code = 0;
  for (const arg of paths) {
    const path = arg.length > 1 ? arg.replace(/\/+$/, '') : arg;
    // `ls -l LINK` shows the link itself; with a trailing slash (or without -l) ls follows it to the directory.
    if (host.links.has(path) && ((long && !arg.endsWith('/')) || !fleet.isDir(host, path))) {
      io.out(long ? `${longLine(fleet, host, path, arg)}\n` : `${arg}\n`);
      continue;
    }
    if (host.files.has(path)) {
      io.out(long ? `${longLine(fleet, host, path, arg)}\n` : `${arg}\n`);
      continue;
    }
    if (!fleet.isDir(host, path)) {
      io.err(`ls: cannot access '${arg}': No such file or directory\n`);
      code = 2;
      continue;
    }
    const dir = fleet.resolve(host, path) ?? path;
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const names = new Set<string>();
    for (const p of [...host.files.keys(), ...host.links.keys(), ...host.dirs]) {
      if (!p.startsWith(prefix) || p === dir) continue;
      names.add(p.slice(prefix.length).split('/')[0] as string);
    }
    const sorted = [...names].sort();
    if (!long) {
      io.out(sorted.map((n) => `${n}\n`).join(''));
      continue;
    }
    const lines = sorted.map((n) => longLine(fleet, host, `${prefix}${n}`, n));
    io.out(`total ${sorted.length * 4}\n${alignSizes(lines)}`);
  }
  return code;
}

/** One `ls -l` line; the size column is padded by alignSizes. Times are the simulator's clock, in UTC. */
function longLine(fleet: SimFleet, host: SimHostState, path: string, name: string): string {
  const date = new Date(fleet.now());
  const month = date.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const when = `${month} ${String(date.getUTCDate()).padStart(2)} ${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`;
  const link = host.links.get(path);
  if (link !== undefined) return `lrwxrwxrwx 1 root root\t${link.length} ${when} ${name} -> ${link}`;
  const file = host.files.get(path);
  if (file !== undefined) return `-rw-r--r-- 1 root root\t${Buffer.byteLength(file)} ${when} ${name}`;
  return `drwxr-xr-x 2 root root\t4096 ${when} ${name}`;
}

/** GNU ls right-aligns the size column to its widest value. */
function alignSizes(lines: string[]): string {
  const parts = lines.map((l) => l.split('\t') as [string, string]);
  const width = Math.max(0, ...parts.map(([, rest]) => rest.indexOf(' ')));
  return parts
    .map(([head, rest]) => {
      const size = rest.slice(0, rest.indexOf(' '));
      return `${head} ${size.padStart(width)}${rest.slice(size.length)}\n`;
    })
    .join('');
}

/** `ln -s TARGET LINK` (GNU's messages): never replaces an entry; into a directory when LINK is one. */
function runLn(fleet: SimFleet, host: SimHostState, args: string[], io: CommandIO): number {
  const flags = args.filter((a) => a.startsWith('-') && a !== '--').join('');
  const operands = args.filter((a) => !a.startsWith('-'));
  if (!flags.includes('s')) return fail(io, 'sim: only symbolic links (ln -s) are simulated', 2);
  if (flags.includes('f')) return fail(io, 'sim: ln -f is not simulated', 2);
  const [target, given] = operands;
  if (target === undefined) return fail(io, 'ln: missing file operand', 1);
  if (given === undefined) return fail(io, `ln: missing destination file operand after '${target}'`, 1);
  if (operands.length > 2) return fail(io, `sim: ln with more than two operands is not simulated`, 2);
  const noTarget = flags.includes('T') || flags.includes('n');
  let link = given.length > 1 ? given.replace(/\/+$/, '') : given;
  // Without -T/-n an existing directory (or a link to one) is where the link goes, as GNU ln does.
  if (!noTarget && fleet.isDir(host, link)) link = `${fleet.resolve(host, link) ?? link}/${posix.basename(target)}`;
  if (host.links.has(link) || host.files.has(link) || host.dirs.has(link))
    return fail(io, `ln: failed to create symbolic link '${link}': File exists`, 1);
  if (!fleet.isDir(host, posix.dirname(link)))
    return fail(io, `ln: failed to create symbolic link '${link}': No such file or directory`, 1);
  host.links.set(link, target);
  return 0;
}

/** unlink / rm of one entry: a symlink or a file (never what a link points to), never a directory. */
function removeEntry(fleet: SimFleet, host: SimHostState, given: string, io: CommandIO, prefix: string): number {
  const path = given.length > 1 ? given.replace(/\/+$/, '') : given;
  if (host.links.delete(path)) return 0;
  if (host.files.delete(path)) return 0;
  if (fleet.isDir(host, path)) return fail(io, `${prefix} '${given}': Is a directory`, 1);
  return fail(io, `${prefix} '${given}': No such file or directory`, 1);
}

async function runMigrate(
  fleet: SimFleet,
  host: SimHostState,
  tool: 'xl' | 'xm',
  args: string[],
  io: CommandIO,
  options: InterpreterOptions,
): Promise<number> {
  const positional = args.filter((a) => !a.startsWith('-'));
  const [ref, targetAddress] = positional;
  if (!ref || !targetAddress) return fail(io, `'${tool} migrate' requires at least 2 arguments.`, 2);
  const d = fleet.findDomain(host, ref);
  if (!d)
    return tool === 'xl'
      ? fail(io, `${ref} is an invalid domain identifier (rc=-6)`, 1)
      : fail(io, `Error: Domain '${ref}' does not exist.`, 3);
  if (d.id === 0) return fail(io, tool === 'xl' ? 'Cannot migrate domain 0' : 'Error: Cannot migrate privileged domain 0', 1);
  const target = fleet.findHost(targetAddress);
  if (!target || target === host) {
    if (tool === 'xm') return fail(io, `Error: can't connect: Name or service not known`, 1);
    // migrate_do_preamble: the transport (ssh) died before the receiver's banner; xl reports the short read and the
    // child's exit, and exits 1 without a "Migration failed" line (nothing was suspended or renamed).
    io.err(`ssh: Could not resolve hostname ${targetAddress}: Name or service not known\n`);
    io.err('libxl: error: libxl_utils.c:510:libxl_read_exactly: file/stream truncated reading banner from migration receiver stream\n');
    return fail(
      io,
      'libxl: info: libxl_exec.c:117:libxl_report_child_exitstatus: migration transport process [4242] exited with error status 255',
      1,
    );
  }
  if (options.reachable?.(target) === false) {
    if (tool === 'xm') return fail(io, `Error: can't connect: Connection refused`, 1);
    // As for an unknown name: the transport dies before the receiver's banner, nothing was suspended or renamed.
    io.err(`ssh: connect to host ${targetAddress} port 22: Connection refused\n`);
    io.err('libxl: error: libxl_utils.c:510:libxl_read_exactly: file/stream truncated reading banner from migration receiver stream\n');
    return fail(
      io,
      'libxl: info: libxl_exec.c:117:libxl_report_child_exitstatus: migration transport process [4242] exited with error status 255',
      1,
    );
  }
  const name = d.name;
  const answers = () => options.receiverAnswers?.(target, RECEIVE_COMMAND) ?? true;
  const code = await (tool === 'xl' ? migrateXl(fleet, host, target, d, io, answers) : migrateXm(fleet, host, target, d, io));
  const arrived = code === 0 ? fleet.findDomain(target, name) : undefined;
  // The guest panics as soon as it runs on its target (after the receiver unpaused it and reported success, so xl
  // migrate still says "Migration successful." and exits 0).
  if (arrived && options.crashOnArrival) crashGuest(fleet, target, arrived, options.crashOnArrival);
  return code;
}

/**
 * A guest kernel panic (a crashOnArrival fault, or the control interface's crash). The host's xl daemon (xl-NAME)
 * applies on_crash: preserve leaves it listed crashed and paused (`--psc-`, reason 3 = crash), destroy clears it away.
 */
export function crashGuest(fleet: SimFleet, host: SimHostState, d: SimDomain, onCrash: OnCrash): void {
  fleet.appendConsole(host, d.name, ['Kernel panic - not syncing: Fatal exception in interrupt', '---[ end Kernel panic ]---']);
  if (onCrash === 'destroy') fleet.removeDomain(host, d);
  else d.flags = '--psc-';
}

/** The stored config file of a domain, copied to the target with it. */
function copyConfig(host: SimHostState, target: SimHostState, name: string): void {
  const cfg = [...host.files.entries()].find(([p]) => p.endsWith(`/${name}.cfg`));
  if (cfg) target.files.set(cfg[0], cfg[1]);
}

/** What xl migrate's ssh transport runs on the target (X: tools/xl/xl_migrate.c; shared/xen-toolstack.md §4). */
const RECEIVE_COMMAND = 'xl migrate-receive';

/**
 * `xl migrate` (X: tools/xl/xl_migrate.c migrate_domain / migrate_receive; shared/xen-toolstack.md §4): the receiver
 * builds the guest paused as NAME--incoming before the copy, while the source runs on under its own name; the sender
 * suspends it for the last pages (`---ss-`), renames it NAME--migratedaway once the target acknowledged the transfer,
 * and gives the target permission to start: the target renames its copy NAME and unpauses it, the sender destroys its
 * own. The target's rename fails when NAME is taken there (found only then, after the whole copy): it destroys its
 * copy and the sender renames its own back and resumes it.
 */
async function migrateXl(
  fleet: SimFleet,
  host: SimHostState,
  target: SimHostState,
  d: SimDomain,
  io: CommandIO,
  answers: () => boolean,
): Promise<number> {
  const say = (line: string) => io.err(`${line}\n`);
  const name = d.name;
  const flags = d.flags;
  say('migration target: Ready to receive domain.');
  const incoming = fleet.addDomain(target, {
    name: `${name}--incoming`,
    uuid: d.uuid,
    memoryMiB: d.memoryMiB,
    vcpus: d.vcpus,
    flags: '--p---',
    cpuBase: fleet.cpuSeconds(d),
    cpuRate: d.cpuRate,
    maxMemoryMiB: d.maxMemoryMiB,
    cpus: d.cpus,
    disks: d.disks,
    vifs: d.vifs,
  });
  try {
    say('Saving to migration stream new xl format (info 0x3/0x0/1444)');
    say('Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/1444)');
    say(' Savefile contains xl domain config in JSON format');
    const pages = d.memoryMiB * 256;
    for (let pct = 10; pct <= 100; pct += 10) {
      await io.sleep(40);
      // A target that stops answering mid-copy: xl's stream waits on TCP and xl migrate says nothing meanwhile; the
      // guest runs on at the source (it is suspended only for the last pages, below). Answering again, it goes on.
      while (!answers()) await io.sleep(40);
      say(`xc: progress: Reloading memory pages: ${Math.round((pages * pct) / 100)}/${pages}  ${String(pct).padStart(3)}%`);
    }
  } catch (error) {
    // The stream broke: the receiver's restore fails and libxl destroys the half-built copy; the source never stopped.
    fleet.removeDomain(target, incoming);
    throw error;
  }
  // The last pages go with the guest suspended (libxl_domain_suspend's final round).
  d.flags = '---ss-';
  say('migration target: Transfer complete, requesting permission to start domain.');
  say('migration sender: Target has acknowledged transfer.');
  d.name = `${name}--migratedaway`;
  say('migration sender: Giving target permission to start.');
  say('migration target: Got permission, starting domain.');
  const taken = target.domains.find((x) => x !== incoming && x.name === name);
  if (taken) {
    say(`libxl: error: libxl_domain.c:215:libxl__domain_rename: Domain ${incoming.id}:Domain with name "${name}" already exists.`);
    say('migration target: Failure, destroying our copy.');
    fleet.removeDomain(target, incoming);
    say('migration target: Cleanup OK, granting sender permission to resume.');
    say('migration sender: Target reports startup failure (status code 6).');
    say('migration sender: Trying to resume at our end.');
    d.name = name;
    d.flags = flags;
    say('migration sender: Resumed OK.');
    return fail(io, 'Migration failed due to problems at target.', 1);
  }
  incoming.name = name;
  incoming.pauseCount = 0;
  incoming.flags = flags;
  // The guest's CPU time as the sender suspended it (the paused copy's own clock stood still).
  incoming.cpuBase = fleet.cpuSeconds(d);
  say('migration target: Domain started successsfully.');
  say('migration sender: Target reports successful startup.');
  fleet.removeDomain(host, d);
  copyConfig(host, target, name);
  say('Migration successful.');
  return 0;
}

/** `xm migrate`: xend's relocation, silent; the guest moves when the copy is done (or stays, when the target has it). */
async function migrateXm(fleet: SimFleet, host: SimHostState, target: SimHostState, d: SimDomain, io: CommandIO): Promise<number> {
  if (fleet.findDomain(target, d.name)) return fail(io, 'Migration failed due to problems at target.', 1);
  const originalName = d.name;
  d.name = `${originalName}--migratedaway`;
  try {
    for (let pct = 10; pct <= 100; pct += 10) await io.sleep(40);
  } catch (error) {
    d.name = originalName;
    throw error;
  }
  fleet.removeDomain(host, d);
  fleet.addDomain(target, {
    name: originalName,
    uuid: d.uuid,
    memoryMiB: d.memoryMiB,
    vcpus: d.vcpus,
    flags: d.flags,
    cpuBase: fleet.cpuSeconds(d),
    cpuRate: d.cpuRate,
    maxMemoryMiB: d.maxMemoryMiB,
    cpus: d.cpus,
    disks: d.disks,
    vifs: d.vifs,
  });
  copyConfig(host, target, originalName);
  return 0;
}

/** xl's uptime_to_string: `N day(s), H:MM:SS` or `H:MM:SS`, hours as %2d. */
function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3_600);
  const clock = `${String(h).padStart(2)}:${String(Math.floor((s % 3_600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
  return days > 0 ? `${days} day${days === 1 ? '' : 's'}, ${clock}` : clock;
}

/** The guest shuts itself down as asked: a moment later it is powered off and cleared away. */
function powerOff(fleet: SimFleet, host: SimHostState, d: SimDomain, delayMs: number): void {
  fleet.appendConsole(host, d.name, [
    '[  OK  ] Stopped target Multi-User System.',
    '[  OK  ] Reached target Power-Off.',
    'reboot: Power down',
  ]);
  // The simulator keeps running meanwhile.
  setTimeout(() => {
    d.flags = '---s--';
    fleet.removeDomain(host, d);
  }, delayMs).unref();
}
