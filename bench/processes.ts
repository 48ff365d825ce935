import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { PRODUCTION_NODE_FLAGS, productionEnv, productionNodeFlags } from '../src/cli/node-flags.ts';
import { LineStream, type ProcessHandle, ProcessHarness, type SimProcess } from '../test/helpers/processes.ts';

/**
 * The bench's processes: `xenops sim`, `xenops agent` and `xenops bot` started as a user starts them, through the
 * fault suite's ProcessHarness (test/helpers/processes.ts: own temp dir, own hash-tagged Redis prefix, keys and files
 * deleted at the end), plus the bench-only load driver (bench/driver.ts) for the throughput run.
 */

const ROOT = resolve(import.meta.dirname, '..');

/** What the bench runs: the build (`npm run build`), as a production install does, not the sources through tsx. */
export const BUILT_CLI = join(ROOT, 'dist', 'src', 'cli.js');

/** `npm run build` (tsc -p tsconfig.build.json): the bench measures the current sources' build, never a stale one. */
export async function build(): Promise<void> {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT }).catch(
    (error: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(`npm run build failed (exit ${error.code}):\n${`${error.stdout ?? ''}${error.stderr ?? ''}`.trim()}`);
    },
  );
}

/** Progress goes to stderr: with --json, stdout carries the one JSON object and nothing else. */
export function say(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

export interface StackOptions {
  /** The config's YAML (written to a private temp file). */
  configYaml: string;
  /** Which bot to start: the terminal (`--terminal`), Discord (`--discord` + env), or none. */
  bot?: { adapters: string[]; env?: Record<string, string> } | null;
  agent?: boolean;
  /** Start-up timeouts (1,000 hosts take a while). */
  timeoutMs?: number;
}

/** Stacks not stopped yet: an interrupted bench stops them (processes, Redis keys, temp dirs) before it exits. */
export const activeStacks = new Set<BenchStack>();

/** One sim + agent + bot run on its own prefix. */
export class BenchStack {
  readonly harness: ProcessHarness;
  sim!: SimProcess;
  agent: ProcessHandle | null = null;
  bot: ProcessHandle | null = null;
  private readonly configDir: string;
  readonly configPath: string;

  private constructor(configYaml: string) {
    this.configDir = mkdtempSync(join(tmpdir(), 'xenops-bench-config-'));
    this.configPath = join(this.configDir, 'xenops.yaml');
    writeFileSync(this.configPath, configYaml);
    // As production runs them: the build, with the V8 flags of the Dockerfile and the systemd units.
    this.harness = new ProcessHarness({ configPath: this.configPath, logLevel: 'info', bin: BUILT_CLI, nodeFlags: productionNodeFlags });
  }

  static async start(options: StackOptions): Promise<BenchStack> {
    const stack = new BenchStack(options.configYaml);
    activeStacks.add(stack);
    const timeoutMs = options.timeoutMs ?? 60_000;
    try {
      stack.sim = await stack.harness.startSim({ timeoutMs });
      // With the agent's production environment too (its malloc arenas: src/cli/node-flags.ts).
      if (options.agent ?? true) stack.agent = await stack.harness.startAgent({ timeoutMs, env: { ...productionEnv('agent') } });
      if (options.bot !== null) {
        const bot = options.bot ?? { adapters: ['--terminal'] };
        stack.bot = await stack.harness.startBot({ timeoutMs, adapters: bot.adapters, ...(bot.env ? { env: bot.env } : {}) });
      }
      return stack;
    } catch (error) {
      await stack.stop().catch(() => {});
      throw error;
    }
  }

  /** The run's environment for extra processes (sim.env, REDIS_URL, the prefix, the log level). */
  get env(): Record<string, string> {
    return this.harness.env;
  }

  async startBot(adapters: string[], env?: Record<string, string>, timeoutMs = 60_000): Promise<ProcessHandle> {
    this.bot = await this.harness.startBot({ timeoutMs, adapters, ...(env ? { env } : {}) });
    return this.bot;
  }

  /** Stops a process of this run (SIGTERM, SIGKILL after graceMs). */
  async stopProcess(p: ProcessHandle | null, graceMs = 6_000): Promise<void> {
    if (!p || p.done) return;
    p.kill('SIGTERM');
    const killed = await Promise.race([p.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (killed) {
      p.kill('SIGKILL');
      await p.exited;
    }
  }

  async stop(): Promise<void> {
    activeStacks.delete(this);
    try {
      await this.harness.stopAll({ graceMs: 6_000 });
    } finally {
      rmSync(this.configDir, { recursive: true, force: true });
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A final reply on the terminal starts with its tone mark (progress replies start with "…"). */
const FINAL = /^(✔|ℹ|⚠|✖) (.*)$/;

export interface TerminalAnswer {
  ms: number;
  /** The final reply's first line, mark included. */
  title: string;
  /** The reply's lines as printed so far (at least the first), for saying what an unsuccessful reply said. */
  text: string[];
  success: boolean;
}

/**
 * Chat over `xenops bot --terminal`'s stdin/stdout: a line in, the time until its final reply is printed. The
 * terminal handles one line at a time (each to its final reply before the next is read), as a user sees it.
 */
export class TerminalClient {
  constructor(private readonly bot: ProcessHandle) {}

  async ask(line: string, timeoutMs = 60_000): Promise<TerminalAnswer> {
    const from = this.bot.stdout.lines.length;
    const t0 = performance.now();
    this.bot.write(line);
    const hit = await this.bot.waitForLine(FINAL, timeoutMs, { from });
    const ms = performance.now() - t0;
    const text = this.bot.stdout.lines.slice(hit.index, hit.index + 40);
    const end = text.findIndex((l, i) => i > 0 && l.startsWith('> '));
    return { ms, title: hit.line, text: end > 0 ? text.slice(0, end) : text, success: hit.match[1] === '✔' };
  }

  /**
   * Many lines through the terminal with up to `window` written ahead (the terminal still runs them one by one;
   * writing ahead only keeps the bench's own round trip out of the way). Resolves with each line's answer; a line's
   * time is from when it could start (its predecessor's final reply, or its write) to its own final reply.
   */
  async pipeline(lines: readonly string[], window: number, timeoutMs = 60_000): Promise<{ elapsedMs: number; failures: string[] }> {
    let from = this.bot.stdout.lines.length;
    let written = 0;
    const failures: string[] = [];
    const t0 = performance.now();
    for (; written < Math.min(window, lines.length); written++) this.bot.write(lines[written] as string);
    for (let done = 0; done < lines.length; done++) {
      const hit = await this.bot.waitForLine(FINAL, timeoutMs, { from });
      from = hit.index + 1;
      if (hit.match[1] !== '✔' && failures.length < 5) failures.push(hit.line);
      if (written < lines.length) this.bot.write(lines[written++] as string);
    }
    return { elapsedMs: performance.now() - t0, failures };
  }
}

/** The bench-only load driver (bench/driver.ts): createBot with an in-process adapter, JSON lines over stdio. */
export class LoadDriver {
  private readonly stdout = new LineStream();
  private readonly stderr = new LineStream();
  private seq = 0;
  readonly exited: Promise<number | null>;
  private done = false;

  private constructor(readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8').on('data', (c: string) => this.stdout.push(c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => this.stderr.push(c));
    child.stdin.on('error', () => {});
    this.exited = new Promise((r) =>
      child.once('close', (code) => {
        this.done = true;
        this.stdout.end();
        this.stderr.end();
        r(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(configPath: string, env: Record<string, string>, cwd: string, timeoutMs = 60_000): Promise<LoadDriver> {
    // tsx resolved here: the driver's cwd is the run's temp dir, where a bare `--import tsx` would not resolve.
    const child = spawn(
      process.execPath,
      [...PRODUCTION_NODE_FLAGS, '--import', import.meta.resolve('tsx'), join(ROOT, 'bench', 'driver.ts'), configPath],
      {
        cwd,
        env: { ...process.env, ...env, XENOPS_LOG_FILE: join(cwd, 'var', 'driver.log') },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const driver = new LoadDriver(child);
    process.once('exit', () => child.kill('SIGKILL'));
    try {
      await driver.stdout.waitForLine(/"event":"ready"/, timeoutMs, {
        describe: () => `driver stderr:\n${driver.stderr.lines.slice(-20).join('\n')}`,
      });
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
    return driver;
  }

  /** Sends one command and waits for its JSON answer. */
  async request<T>(command: Record<string, unknown>, timeoutMs: number): Promise<T> {
    const id = ++this.seq;
    const from = this.stdout.lines.length;
    this.child.stdin.write(`${JSON.stringify({ ...command, id })}\n`);
    const hit = await this.stdout.waitForLine(new RegExp(`^\\{"id":${id},`), timeoutMs, {
      from,
      describe: () => `driver stderr:\n${this.stderr.lines.slice(-20).join('\n')}`,
    });
    const answer = JSON.parse(hit.line) as { id: number; error?: string; result?: T };
    if (answer.error) throw new Error(`driver: ${answer.error}`);
    return answer.result as T;
  }

  async stop(graceMs = 6_000): Promise<void> {
    if (this.done) return;
    this.child.kill('SIGTERM');
    const killed = await Promise.race([this.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (killed) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}
