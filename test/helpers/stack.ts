import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, vi } from 'vitest';
import { TerminalAdapter } from '../../src/adapters/terminal/index.ts';
import type { ChatAdapter } from '../../src/adapters/types.ts';
import { type DemoStack, type DemoStackOptions, startDemoStack } from '../../src/app/demo-stack.ts';
import type { Config } from '../../src/config/schema.ts';
import { runCommand } from '../../src/sim/interpreter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { quietLogger } from './sim.ts';

export interface TestStack extends DemoStack {
  prefix: string;
  auditFile: string;
}

/**
 * The demo stack for end-to-end tests: config/demo.yaml's people and fleet, a fast simulator, its own Redis prefix
 * and audit file; stop() also deletes the run's Redis keys.
 */
export async function startTestStack(options: {
  makeAdapters: (config: Config) => ChatAdapter[];
  env?: NodeJS.ProcessEnv;
  adjustConfig?: (config: Config) => Config;
  /** Another Redis than REDIS_URL: with `cluster: true`, a Redis Cluster seeded from `url`. */
  redis?: { url: string; cluster?: boolean };
  /** The run's key prefix; default a fresh one. */
  prefix?: string;
  /** How long a simulated guest takes to power off after `shutdown` (before the 0.02 time scale); default 500. */
  shutdownDelayMs?: number;
  /** The agent's sampler timings; default the agent's own. */
  sampler?: DemoStackOptions['sampler'];
}): Promise<TestStack> {
  const prefix = options.prefix ?? uniquePrefix();
  const redis = options.redis;
  const auditFile = join(mkdtempSync(join(tmpdir(), 'xenops-audit-')), 'audit.jsonl');
  const stack = await startDemoStack({
    redisUrl: redis?.url ?? REDIS_URL,
    logger: quietLogger,
    prefix,
    timeScale: 0.02,
    shutdownDelayMs: options.shutdownDelayMs ?? 500,
    ...(options.env ? { env: options.env } : {}),
    ...(options.sampler ? { sampler: options.sampler } : {}),
    adjustConfig: (c) => {
      const base = {
        ...c,
        ...(redis?.cluster ? { redis: { ...c.redis, cluster: true } } : {}),
        audit: { ...c.audit, file: auditFile },
        bot: { ...c.bot, readTimeoutMs: 15_000 },
      };
      return options.adjustConfig ? options.adjustConfig(base) : base;
    },
    makeAdapters: options.makeAdapters,
  });
  return {
    ...stack,
    prefix,
    auditFile,
    async stop() {
      await stack.stop();
      await deleteKeysWithPrefix(stack.config.redis, prefix);
    },
  };
}

/** The demo stack chatting through a terminal adapter on in-memory streams, as a person at the terminal would. */
export interface TerminalStack {
  stack: TestStack;
  terminal: TerminalAdapter;
  /** What the person types (one line per request). */
  input: PassThrough;
  /** Everything the terminal printed so far. */
  output(): string;
  /** Called after each chunk of output; returns a function that stops calling it. */
  onOutput(fn: () => void): () => void;
}

export async function startTerminalStack(
  adjustConfig?: (config: Config) => Config,
  options: { redis?: { url: string; cluster?: boolean }; prefix?: string; shutdownDelayMs?: number } = {},
): Promise<TerminalStack> {
  const input = new PassThrough();
  const out = new PassThrough();
  let printed = '';
  const listeners = new Set<() => void>();
  out.on('data', (c: Buffer) => {
    printed += c.toString();
    for (const l of [...listeners]) l();
  });
  let terminal: TerminalAdapter | null = null;
  const stack = await startTestStack({
    ...(adjustConfig ? { adjustConfig } : {}),
    ...(options.redis ? { redis: options.redis } : {}),
    ...(options.prefix ? { prefix: options.prefix } : {}),
    ...(options.shutdownDelayMs === undefined ? {} : { shutdownDelayMs: options.shutdownDelayMs }),
    makeAdapters: (config) => {
      // Attachments (charts, long output) go to a directory of this run, not the checkout's var/.
      terminal = new TerminalAdapter({ config, input, output: out, attachmentsDir: mkdtempSync(join(tmpdir(), 'xenops-attachments-')) });
      return [terminal];
    },
  });
  if (!terminal) throw new Error('the terminal adapter was not made');
  return {
    stack,
    terminal,
    input,
    output: () => printed,
    onOutput: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/** A person typing at a TerminalStack: one line at a time, waiting on what the terminal prints (no polling). */
export interface Conversation {
  /** Resolves once `done()` gives a value, checked after each chunk printed; rejects after `timeoutMs`. */
  until<T>(done: () => T | null, timeoutMs?: number): Promise<T>;
  /** Types a line; resolves with what the terminal printed for it, up to its final reply. */
  say(line: string): Promise<string>;
  /** Resolves once the terminal printed text matching `re` after `from` (a result that comes after its line). */
  printed(re: RegExp, from?: number): Promise<string>;
}

export function conversation(t: TerminalStack): Conversation {
  const until = <T>(done: () => T | null, timeoutMs = 15_000): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`timed out; the terminal printed:\n${t.output().slice(-2000)}`));
      }, timeoutMs);
      const check = () => {
        const r = done();
        if (r === null) return;
        clearTimeout(timer);
        stop();
        resolve(r);
      };
      const stop = t.onOutput(check);
      check();
    });
  return {
    until,
    say(line) {
      const from = t.output().length;
      t.input.write(`${line}\n`);
      return until(() => {
        const mine = t.output().slice(from);
        const echo = mine.indexOf(`> ${line}\n`);
        const finished = echo >= 0 && /^[✔✖ℹ⚠] /m.test(mine.slice(echo + line.length + 3)) && !/\n… [^\n]*\n[^\n]*\n?$/.test(mine);
        return finished ? mine : null;
      });
    },
    printed: (re, from = 0) => until(() => re.exec(t.output().slice(from))?.[0] ?? null),
  };
}

/** The demo's terminal chat for one test file (see demoChat). */
export interface DemoChat extends Conversation {
  readonly t: TerminalStack;
  readonly stack: TestStack;
  /** How many commands matching `re` a simulated host received. */
  sent(host: string, re: RegExp): number;
  /** Runs `command` as an administrator would on the host's shell, outside xenops; resolves with its exit code. */
  byHand(host: string, command: string): Promise<number>;
}

/**
 * The terminal demo stack for one test file: started before its tests (with a /list, so the bot's fleet view is
 * warm), stopped after them. Call at the top of the file.
 */
export function demoChat(adjustConfig?: (config: Config) => Config): DemoChat {
  let t: TerminalStack | null = null;
  let chat: Conversation | null = null;
  const started = () => {
    if (!t || !chat) throw new Error('demoChat: the stack is not started (call it at the top of the file)');
    return { t, chat };
  };
  beforeAll(async () => {
    t = await startTerminalStack(adjustConfig);
    chat = conversation(t);
    await chat.say('/list');
  }, 60_000);
  afterAll(async () => {
    t?.input.end();
    await t?.stack.stop();
  });
  return {
    get t() {
      return started().t;
    },
    get stack() {
      return started().t.stack;
    },
    until: (done, timeoutMs) => started().chat.until(done, timeoutMs),
    say: (line) => started().chat.say(line),
    printed: (re, from) => started().chat.printed(re, from),
    sent: (host, re) => (started().t.stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length,
    byHand: (host, command) => {
      const fleet = started().t.stack.sim.fleet;
      return runCommand(
        fleet,
        fleet.host(host),
        command,
        { out: () => {}, err: () => {}, sleep: () => Promise.resolve(), signal: new AbortController().signal },
        { shutdownDelayMs: 0 },
      );
    },
  };
}

/**
 * A demoChat whose view of the fleet goes stale behind its back: the periodic refresh an hour away, so only the bot's
 * own commands (and the lookups they make) correct it after a change made by hand (see DemoChat.byHand). Alerts off:
 * the sampler's "moved outside xenops" alerts would come between a command and its answer at the terminal.
 */
export function staleViewChat(adjustConfig?: (config: Config) => Config): DemoChat {
  return demoChat((c) => {
    const stale = { ...c, alerts: { ...c.alerts, enabled: false }, bot: { ...c.bot, fleetRefreshMs: 3_600_000 } };
    return adjustConfig ? adjustConfig(stale) : stale;
  });
}

/**
 * Resolves once the bot has heard every host's list (its start-up refresh): lookups then answer from memory. Fails
 * the test, naming the hosts, if that takes longer than `timeoutMs`.
 */
export async function fleetWarm(stack: TestStack, timeoutMs = 20_000): Promise<void> {
  // vi.waitFor, not expect.poll: this runs in beforeAll too.
  await vi.waitFor(
    () => {
      const cold = stack.bot.fleet.coldHosts();
      if (cold.length > 0) throw new Error(`the bot has not heard from ${cold.join(', ')} yet`);
    },
    { timeout: timeoutMs, interval: 50 },
  );
}

/**
 * `printf '%s\n' LINES | npm run demo`: a test stack whose terminal reads `script` (its input ended at once) and writes
 * to `output`. Resolves, once the terminal says it is done (the demo exits then), with the stack (the caller stops it)
 * and what had been printed by then.
 */
export async function scriptedDemo(
  script: string,
  output: PassThrough = new PassThrough(),
): Promise<{ stack: TestStack; written: string }> {
  const input = new PassThrough();
  let written = '';
  output.on('data', (d: Buffer) => {
    written += d.toString();
  });
  let terminal: TerminalAdapter | null = null;
  const stack = await startTestStack({
    makeAdapters: (config) => {
      terminal = new TerminalAdapter({ config, input, output });
      return [terminal];
    },
  });
  input.end(script);
  await (terminal as unknown as TerminalAdapter).done;
  return { stack, written };
}
