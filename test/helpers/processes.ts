import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import {
  closeSync,
  type FSWatcher,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { loadConfig } from '../../src/config/load.ts';
import { SimControlClient } from '../../src/sim/control-client.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';

/**
 * The real CLI processes, started as a user would (`node bin/xenops.js sim|agent|bot …`), for fault tests that
 * kill, restart and starve them. One harness = one private run: its own temp dir (the processes' cwd, so the demo
 * config's relative `var/demo-audit.jsonl` is a private audit file), its own Redis prefix, its own simulator.
 * stopAll() kills whatever is still running and deletes the run's Redis keys and files.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'xenops.js');
export const DEMO_CONFIG = join(ROOT, 'config', 'demo.yaml');

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LineMatch {
  line: string;
  /** Index in the stream's `lines`. */
  index: number;
  match: RegExpExecArray;
}

/** Lines of one output stream as they arrive; waiters are woken by the data events (no polling). */
export class LineStream {
  readonly lines: string[] = [];
  private partial = '';
  private ended = false;
  private readonly listeners = new Set<() => void>();

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.lines.push(p.replace(/\r$/, ''));
    this.notify();
  }

  end(): void {
    if (this.partial) this.lines.push(this.partial);
    this.partial = '';
    this.ended = true;
    this.notify();
  }

  /** The first line at or after `from` (default 0) matching re; rejects on timeout or when the stream ends first. */
  waitForLine(re: RegExp, timeoutMs: number, options: { from?: number; describe?: () => string } = {}): Promise<LineMatch> {
    const from = options.from ?? 0;
    let searched = from;
    const find = (): LineMatch | undefined => {
      for (; searched < this.lines.length; searched++) {
        const line = this.lines[searched] as string;
        const match = new RegExp(re.source, re.flags.replace(/[gy]/g, '')).exec(line);
        if (match) return { line, index: searched, match };
      }
      return undefined;
    };
    const found = find();
    if (found) return Promise.resolve(found);
    return new Promise((resolvePromise, reject) => {
      const context = () => (options.describe ? `\n${options.describe()}` : '');
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`no line matching ${re} within ${timeoutMs} ms${context()}`));
      }, timeoutMs);
      const check = () => {
        const hit = find();
        if (hit || this.ended) {
          clearTimeout(timer);
          this.listeners.delete(check);
          if (hit) resolvePromise(hit);
          else reject(new Error(`the stream ended without a line matching ${re}${context()}`));
        }
      };
      this.listeners.add(check);
    });
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** Feeds a LineStream from a file another process appends to (inotify via fs.watch, no polling). */
class FileTail {
  private offset = 0;
  private readonly watcher: FSWatcher;

  constructor(
    private readonly path: string,
    private readonly lines: LineStream,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.watcher = watch(dirname(path), (_event, name) => {
      if (name === basename(path)) this.read();
    });
    this.watcher.on('error', () => {});
    this.read();
  }

  read(): void {
    let fd: number;
    try {
      if (statSync(this.path).size <= this.offset) return;
      fd = openSync(this.path, 'r');
    } catch {
      return;
    }
    try {
      const buffer = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.lines.push(buffer.subarray(0, n).toString('utf8'));
      }
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    this.read();
    this.watcher.close();
    this.lines.end();
  }
}

export type OutputName = 'stdout' | 'stderr' | 'log';

export interface ProcessHandle {
  name: string;
  pid: number;
  child: ChildProcessWithoutNullStreams;
  stdout: LineStream;
  stderr: LineStream;
  /** The process's log file (XENOPS_LOG_FILE: the terminal bot logs there, not to its chat). */
  log: LineStream;
  logFile: string;
  /** stdout's lines so far. */
  readonly lines: string[];
  /** Waits for a stdout line (or one on stderr / in the log file) matching re at or after `from`. */
  waitForLine(re: RegExp, timeoutMs?: number, options?: { from?: number; stream?: OutputName }): Promise<LineMatch>;
  /** Writes one line to stdin (a newline is added). */
  write(line: string): void;
  /** Closes stdin (the terminal bot finishes its last line and exits). */
  endInput(): void;
  kill(signal?: NodeJS.Signals): boolean;
  exited: Promise<ExitInfo>;
  /** Whether it has exited. */
  readonly done: boolean;
}

export interface SimProcess {
  handle: ProcessHandle;
  /** The variables from sim.env (ports, host keys, client key, control URL). */
  env: Record<string, string>;
  control: SimControlClient;
}

/**
 * The ops endpoint's URL from a process's "ops http listening" log line (started with `--http-port`, 0 for any free
 * port): on stderr when the process has no terminal, in its log file (`log`) when it has one.
 */
export async function opsUrlOf(p: Pick<ProcessHandle, 'waitForLine'>, stream: OutputName, timeoutMs = 30_000): Promise<string> {
  const { line } = await p.waitForLine(/"msg":"ops http listening"/, timeoutMs, { stream });
  return (JSON.parse(line) as { url: string }).url;
}

export function lastLines(handle: { stdout: LineStream; stderr: LineStream; log?: LineStream }, n = 15): string {
  const show = (name: string, s: LineStream | undefined) =>
    `  ${name}: ${(s?.lines ?? []).slice(-n).join(`\n  ${' '.repeat(name.length)}  `)}`;
  return [show('stdout', handle.stdout), show('stderr', handle.stderr), show('log', handle.log)].join('\n');
}

/** Drops variables that would change what the processes do (a stray XENOPS_CONFIG, real chat tokens). */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(XENOPS_|DISCORD_|TELEGRAM_)/.test(k)) env[k] = v;
  return env;
}

/** Readiness: the process logs its start line, to stderr or (the terminal bot) to its log file. */
export async function started(handle: ProcessHandle, re: RegExp, timeoutMs: number): Promise<void> {
  try {
    await Promise.any([handle.waitForLine(re, timeoutMs, { stream: 'stderr' }), handle.waitForLine(re, timeoutMs, { stream: 'log' })]);
  } catch (error) {
    throw error instanceof AggregateError ? (error.errors[0] as Error) : error;
  }
}

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1]) out[m[1]] = m[2] ?? '';
  }
  return out;
}

export class ProcessHarness {
  /** Private temp dir: every process's cwd; holds the sim state and the audit file. */
  readonly runDir = mkdtempSync(join(tmpdir(), 'xenops-faults-'));
  /** The Redis prefix of this run, hash-tagged (`{xenops-test-…}`). */
  readonly prefix = uniquePrefix();
  readonly redisUrl: string;
  sim: SimProcess | null = null;
  private readonly processes: ProcessHandle[] = [];

  /** The last lines each process of this run printed (stdout, stderr, log file): what a failed test shows. */
  lastOutput(n = 40): string {
    return this.processes.map((p) => `${p.name}:\n${lastLines(p, n)}`).join('\n');
  }
  private resolved: { configPath: string; env: Record<string, string>; auditFile: string } | null = null;
  private readonly killOnExit = () => {
    for (const p of this.processes) if (!p.done) p.child.kill('SIGKILL');
  };

  /**
   * `bin`: the entry point to run instead of bin/xenops.js (the bench runs the build's dist/src/cli.js, as a
   * production install does); `nodeFlags`: node's flags for each process, by name (sim, agent, bot).
   */
  constructor(
    readonly options: {
      configPath?: string;
      logLevel?: string;
      redisUrl?: string;
      bin?: string;
      nodeFlags?: (name: string) => readonly string[];
    } = {},
  ) {
    this.redisUrl = options.redisUrl ?? REDIS_URL;
    // If the test process dies without stopAll(), its children must not outlive it.
    process.once('exit', this.killOnExit);
  }

  /** The audit JSONL file the bot writes in this run (known once the sim has started). */
  get auditFile(): string {
    return this.settings().auditFile;
  }

  /** Starts `node bin/xenops.js ARGS` with the given environment; cwd is the run dir, logs in var/NAME-N.log. */
  spawn(name: string, args: string[], env: NodeJS.ProcessEnv): ProcessHandle {
    const logFile = join(this.runDir, 'var', `${name}-${this.processes.length + 1}.log`);
    const child = spawn(process.execPath, [...(this.options.nodeFlags?.(name) ?? []), this.options.bin ?? BIN, ...args], {
      cwd: this.runDir,
      env: { ...env, XENOPS_LOG_FILE: logFile },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout = new LineStream();
    const stderr = new LineStream();
    const log = new LineStream();
    const tail = new FileTail(logFile, log);
    child.stdout.setEncoding('utf8').on('data', (c: string) => stdout.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => stderr.push(c));
    child.stdin.on('error', () => {}); // writing to a process that just died is not the test's failure
    child.on('error', (error) => stderr.push(`[harness] ${name}: ${error.message}\n`));
    let done = false;
    const exited = new Promise<ExitInfo>((resolveExit) => {
      child.once('close', (code, signal) => {
        done = true;
        stdout.end();
        stderr.end();
        tail.close();
        resolveExit({ code, signal });
      });
    });
    const handle: ProcessHandle = {
      name,
      pid: child.pid ?? -1,
      child,
      stdout,
      stderr,
      log,
      logFile,
      get lines() {
        return stdout.lines;
      },
      waitForLine: (re, timeoutMs = 30_000, o = {}) =>
        ({ stdout, stderr, log })[o.stream ?? 'stdout'].waitForLine(re, timeoutMs, {
          ...(o.from === undefined ? {} : { from: o.from }),
          describe: () => `${name} (pid ${child.pid}) output so far:\n${lastLines(handle)}`,
        }),
      write: (line) => {
        child.stdin.write(`${line}\n`);
      },
      endInput: () => {
        child.stdin.end();
      },
      kill: (signal = 'SIGTERM') => (done ? false : child.kill(signal)),
      exited,
      get done() {
        return done;
      },
    };
    this.processes.push(handle);
    return handle;
  }

  /**
   * `xenops sim --config config/demo.yaml --state-dir <run>/sim [--control-port N]`; resolves once sim.env is
   * written. The control interface starts on a free port by default, so controlPort is only passed when given.
   * After the simulator has exited another may be started (new ports and host keys: agents and bots started after
   * that get the new variables).
   */
  async startSim(options: { controlPort?: number; timeoutMs?: number } = {}): Promise<SimProcess> {
    if (this.sim && !this.sim.handle.done) throw new Error('the simulator is already running in this harness');
    this.sim = null;
    this.resolved = null;
    const stateDir = join(this.runDir, 'sim');
    const args = ['sim', '--config', this.options.configPath ?? DEMO_CONFIG, '--state-dir', stateDir];
    if (options.controlPort !== undefined) args.push('--control-port', String(options.controlPort));
    const handle = this.spawn('sim', args, baseEnv());
    await handle.waitForLine(/^# written to /, options.timeoutMs ?? 30_000);
    const env = parseEnvFile(readFileSync(join(stateDir, 'sim.env'), 'utf8'));
    const url = env['XENOPS_SIM_CONTROL_URL'];
    if (!url) throw new Error(`sim.env has no XENOPS_SIM_CONTROL_URL:\n${lastLines(handle)}`);
    this.sim = { handle, env, control: new SimControlClient(url) };
    return this.sim;
  }

  /** The environment agent and bot get: sim.env, REDIS_URL, the run's prefix, and info logs (for readiness). */
  get env(): Record<string, string> {
    return this.settings().env;
  }

  /**
   * `xenops agent -c config/demo.yaml`; resolves once it logs "agent started" (`awaitStart: false`: once spawned, as
   * when it waits for Redis); `env` adds to its environment (e.g. a clock set wrong, see `skewedClock`).
   */
  async startAgent(
    options: { hosts?: string[]; timeoutMs?: number; awaitStart?: boolean; env?: Record<string, string> } = {},
  ): Promise<ProcessHandle> {
    const { configPath, env } = this.settings();
    const args = ['agent', '-c', configPath, ...(options.hosts ? ['--hosts', options.hosts.join(',')] : [])];
    const handle = this.spawn('agent', args, { ...baseEnv(), ...env, ...options.env });
    if (options.awaitStart !== false) await started(handle, /"msg":"agent started"/, options.timeoutMs ?? 30_000);
    return handle;
  }

  /**
   * `xenops bot --terminal -c config/demo.yaml` with stdin kept open (or other adapters, e.g. `['--telegram']`, with
   * extra environment such as the fake Bot API's root); resolves once it logs "bot started" (`awaitStart: false`: once
   * spawned).
   */
  async startBot(
    options: { timeoutMs?: number; adapters?: string[]; env?: Record<string, string>; awaitStart?: boolean } = {},
  ): Promise<ProcessHandle> {
    const { configPath, env } = this.settings();
    const adapters = options.adapters ?? ['--terminal'];
    const handle = this.spawn('bot', ['bot', ...adapters, '-c', configPath], { ...baseEnv(), ...env, ...options.env });
    if (options.awaitStart !== false) await started(handle, /"msg":"bot started"/, options.timeoutMs ?? 30_000);
    return handle;
  }

  /** Ends every process (SIGTERM, then SIGKILL after graceMs), deletes the run's Redis keys and temp dir. */
  async stopAll(options: { graceMs?: number } = {}): Promise<void> {
    const graceMs = options.graceMs ?? 5_000;
    // Chat side first, the simulator last, so nothing is left waiting on a vanished host.
    const order = (p: ProcessHandle) => (p.name === 'bot' ? 0 : p.name === 'agent' ? 1 : p.name === 'sim' ? 3 : 2);
    for (const p of [...this.processes].sort((a, b) => order(a) - order(b))) {
      if (p.done) continue;
      p.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const killed = await Promise.race([
        p.exited.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), graceMs);
        }),
      ]);
      clearTimeout(timer);
      if (killed) {
        p.kill('SIGKILL');
        await p.exited;
      }
    }
    process.off('exit', this.killOnExit);
    await deleteKeysWithPrefix(this.redisUrl, this.prefix);
    rmSync(this.runDir, { recursive: true, force: true });
  }

  /**
   * The config path and environment for agent and bot, worked out once the simulator's variables are known.
   * The prefix is passed as XENOPS_REDIS_PREFIX; if config/demo.yaml does not substitute it (yet), the run uses a
   * private copy of the config with only redis.prefix changed, so runs never share queues either way.
   */
  private settings(): { configPath: string; env: Record<string, string>; auditFile: string } {
    if (this.resolved) return this.resolved;
    if (!this.sim) throw new Error('start the simulator first: agent and bot need its ports and host keys');
    const configPath = this.options.configPath ?? DEMO_CONFIG;
    const name = this.prefix.slice(1, -1);
    const common = {
      ...this.sim.env,
      REDIS_URL: this.redisUrl,
      XENOPS_LOG_LEVEL: this.options.logLevel ?? 'info',
      XENOPS_AUDIT_FILE: join(this.runDir, 'var', 'demo-audit.jsonl'),
    };
    const effective = (value: string) => loadConfig(configPath, { ...baseEnv(), ...common, XENOPS_REDIS_PREFIX: value });
    const attempt = (value: string) => {
      try {
        return effective(value).redis.prefix === this.prefix;
      } catch {
        return false;
      }
    };
    // Either `prefix: ${XENOPS_REDIS_PREFIX…}` (a whole hash tag) or `prefix: "{${XENOPS_REDIS_PREFIX…}}"` (its name).
    const value = [this.prefix, name].find(attempt);
    let path = configPath;
    let env: Record<string, string> = { ...common, XENOPS_REDIS_PREFIX: value ?? this.prefix };
    if (value === undefined) {
      const doc = parseDocument(readFileSync(configPath, 'utf8'));
      doc.setIn(['redis', 'prefix'], this.prefix);
      path = join(this.runDir, 'config.yaml');
      writeFileSync(path, doc.toString());
      env = { ...common, XENOPS_REDIS_PREFIX: this.prefix };
    }
    const config = loadConfig(path, { ...baseEnv(), ...env });
    if (config.redis.prefix !== this.prefix) throw new Error(`could not give the run its own Redis prefix (got ${config.redis.prefix})`);
    const auditFile = isAbsolute(config.audit.file) ? config.audit.file : join(this.runDir, config.audit.file);
    if (!auditFile.startsWith(this.runDir)) throw new Error(`the audit file ${auditFile} would not be private to this run`);
    mkdirSync(join(this.runDir, 'var'), { recursive: true });
    this.resolved = { configPath: path, env, auditFile };
    return this.resolved;
  }
}
