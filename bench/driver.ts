import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { renderForTerminal } from '../src/adapters/terminal/render.ts';
import { readTerminalLine } from '../src/adapters/terminal/to-request.ts';
import type { BotCore, ChatAdapter, ReplyTarget } from '../src/adapters/types.ts';
import { createBot } from '../src/app/bot.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/core/log.ts';
import { isFinal, type Reply } from '../src/core/reply.ts';

/**
 * The bench-only load driver: `node --import tsx bench/driver.ts CONFIG`. The same bot `xenops bot` runs
 * (createBot: pipeline, dispatch, BullMQ queues, relay, audit), with an in-process adapter instead of the terminal,
 * because the terminal handles one line at a time and a throughput run needs many requests in flight. Each request
 * is a terminal line turned into a request by the terminal's own parser, and each final reply is rendered as the
 * terminal renders it; nothing is kept per request once it is answered (so RSS growth is the bot's, not ours).
 *
 * Protocol: JSON lines. stdout: `{"event":"ready"}` once started, then `{"id":N,"result":…}` or `{"id":N,"error":…}`
 * per command. stdin: `{"id":N,"cmd":"burst","lines":[…],"count":C,"concurrency":K}` runs C requests (cycling
 * through `lines`) with K in flight; `{"cmd":"stop"}` stops the bot and exits. Logs go to XENOPS_LOG_FILE.
 */

class LoadAdapter implements ChatAdapter {
  readonly platform = 'terminal' as const;
  readonly processLocal = true;
  private readonly waiting = new Map<string, (r: Reply) => void>();
  private readonly session = randomBytes(4).toString('hex');
  private counter = 0;
  core: BotCore | null = null;

  constructor(private readonly user: string) {}

  async start(core: BotCore): Promise<void> {
    this.core = core;
  }
  async stop(): Promise<void> {
    for (const [id, resolve] of this.waiting)
      resolve({ kind: 'result', tone: 'error', title: `stopped before ${id} finished`, blocks: [] });
    this.waiting.clear();
  }
  async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    renderForTerminal(reply);
    if (isFinal(reply)) {
      this.waiting.get(target.requestId)?.(reply);
      this.waiting.delete(target.requestId);
    }
    return target;
  }
  async post(channelId: string, reply: Reply): Promise<ReplyTarget> {
    renderForTerminal(reply);
    return { platform: 'terminal', channelId, requestId: `post-${Date.now()}`, state: {} };
  }

  /** One line to its final reply. */
  async ask(line: string, timeoutMs: number): Promise<Reply> {
    const core = this.core;
    if (!core) throw new Error('the adapter has not been started');
    const id = `b${this.session}-${++this.counter}`;
    const read = readTerminalLine(line, this.user, id);
    if (read.kind !== 'request') throw new Error(`not a request: ${line}`);
    const final = new Promise<Reply>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve({ kind: 'result', tone: 'error', title: `no final reply within ${timeoutMs} ms`, blocks: [] });
      }, timeoutMs);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    await core.handle(read.request, { platform: 'terminal', channelId: 'terminal', requestId: id, state: {} });
    return final;
  }
}

interface BurstCommand {
  id: number;
  cmd: 'burst';
  lines: string[];
  count: number;
  concurrency: number;
  timeoutMs?: number;
}

export interface BurstResult {
  count: number;
  elapsedMs: number;
  /** Per-request latency in ms, rounded to 0.01 ms. */
  latencies: number[];
  failures: number;
  firstFailure: string | null;
}

async function burst(adapter: LoadAdapter, c: BurstCommand): Promise<BurstResult> {
  const latencies: number[] = [];
  let next = 0;
  let failures = 0;
  let firstFailure: string | null = null;
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < c.count; i = next++) {
      const line = c.lines[i % c.lines.length] as string;
      const s = performance.now();
      const r = await adapter.ask(line, c.timeoutMs ?? 60_000);
      latencies.push(Math.round((performance.now() - s) * 100) / 100);
      if (r.tone !== 'success') {
        failures++;
        firstFailure ??= `${line}: ${r.title}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, c.concurrency) }, worker));
  return { count: c.count, elapsedMs: performance.now() - t0, latencies, failures, firstFailure };
}

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath) throw new Error('usage: bench/driver.ts CONFIG');
  const config = loadConfig(configPath);
  const logFile = process.env['XENOPS_LOG_FILE'] ?? 'var/bench-driver.log';
  const logger = createLogger(config.logLevel, pino.destination({ dest: logFile, sync: false, mkdir: true }));
  process.on('unhandledRejection', (reason) => logger.error({ err: String(reason) }, 'unhandled rejection (kept running)'));
  const adapter = new LoadAdapter(config.terminal.defaultUser);
  const bot = await createBot({ config, redis: config.redis.url, logger, adapters: [adapter] });
  await bot.start();
  const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
  out({ event: 'ready' });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.race([bot.stop(), new Promise((r) => setTimeout(r, 4_000))]);
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    let command: { id?: number; cmd?: string };
    try {
      command = JSON.parse(line) as { id?: number; cmd?: string };
    } catch {
      continue;
    }
    if (command.cmd === 'stop') break;
    // One command at a time: the bench waits for each answer.
    try {
      if (command.cmd === 'burst') out({ id: command.id, result: await burst(adapter, command as BurstCommand) });
      else out({ id: command.id, error: `unknown command ${command.cmd}` });
    } catch (error) {
      out({ id: command.id, error: error instanceof Error ? error.message : String(error) });
    }
  }
  await stop();
}

await main();
