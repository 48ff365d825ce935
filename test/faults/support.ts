import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFailed } from 'vitest';
import { parseDocument } from 'yaml';
import type { SimControlClient } from '../../src/sim/control-client.ts';
import { DEMO_CONFIG, type ProcessHandle, ProcessHarness } from '../helpers/processes.ts';

/** Lines that open a final reply in the terminal (⚠ also starts failure lines inside replies, so it is not one). */
export const FINAL = /^[✔✖ℹ] /;

/** config/demo.yaml with some keys changed (e.g. shorter timeouts), written to a private file. */
export function demoConfigWith(edits: Record<string, unknown>): string {
  const doc = parseDocument(readFileSync(DEMO_CONFIG, 'utf8'));
  for (const [path, value] of Object.entries(edits)) doc.setIn(path.split('.'), value);
  const file = join(mkdtempSync(join(tmpdir(), 'xenops-faults-config-')), 'config.yaml');
  writeFileSync(file, doc.toString());
  return file;
}

/** A run: simulator, agent and terminal bot as processes, on a config derived from the demo's. */
export async function startRun(
  options: { edits?: Record<string, unknown>; agent?: boolean; redisUrl?: string; bot?: { env?: Record<string, string> } } = {},
): Promise<{ h: ProcessHarness; sim: SimControlClient; bot: ProcessHandle; agent: ProcessHandle | null }> {
  // The fault scenarios run mutations directly: approvals (tested on their own) are off here.
  const configPath = demoConfigWith({ 'bot.fleetRefreshMs': 600_000, 'approvals.enabled': false, ...options.edits });
  const h = new ProcessHarness({ configPath, ...(options.redisUrl ? { redisUrl: options.redisUrl } : {}) });
  // The processes' logs go with their run dir when it is stopped: a failure prints their last lines first.
  onTestFailed(() => {
    process.stderr.write(`--- output of the run's processes ---\n${h.lastOutput()}\n`);
  });
  const sim = await h.startSim();
  const agent = options.agent === false ? null : await h.startAgent();
  const bot = await h.startBot(options.bot ?? {});
  return { h, sim: sim.control, bot, agent };
}

export interface Answer {
  /** The final reply's first line, e.g. `✔ mail started on xen1`. */
  title: string;
  /** The reply's lines after the title, up to the next request or the end of the output so far. */
  body: string[];
  /** Every final reply printed for this request (exactly-once is asserted on its length). */
  finals: string[];
  /** Progress lines (`… …`) printed for it. */
  progress: string[];
}

/** Types a line into the terminal bot and waits for its final reply. */
export async function ask(bot: ProcessHandle, line: string, timeoutMs = 60_000): Promise<Answer> {
  const mark = bot.lines.length;
  bot.write(line);
  const echo = await bot.waitForLine(new RegExp(`^> ${escapeRegExp(line.trim())}$`), timeoutMs, { from: mark });
  const final = await bot.waitForLine(FINAL, timeoutMs, { from: echo.index + 1 });
  return answerAt(bot, echo.index, final.index);
}

/** Re-reads what the terminal printed for a request once more output has arrived (late duplicates show here). */
export function answerAt(bot: ProcessHandle, echoIndex: number, finalIndex: number): Answer {
  const after = bot.lines.slice(echoIndex + 1);
  const end = after.findIndex((l) => l.startsWith('> '));
  const mine = end >= 0 ? after.slice(0, end) : after;
  const title = bot.lines[finalIndex] ?? '';
  const rest = bot.lines.slice(finalIndex + 1, echoIndex + 1 + (end >= 0 ? end : after.length));
  return { title, body: rest, finals: mine.filter((l) => FINAL.test(l)), progress: mine.filter((l) => l.startsWith('… ')) };
}

/**
 * Types `line`, holds the host's command matching `match` for `delayMs` (it still runs on the Dom0), and SIGKILLs the
 * agent while it runs. Returns where the request's output starts.
 */
export async function killAgentDuring(
  run: { sim: SimControlClient; bot: ProcessHandle; agent: ProcessHandle | null },
  line: string,
  fault: { host: string; match: string; delayMs: number },
): Promise<{ mark: number; lastSeq: number }> {
  await run.sim.addFault({ host: fault.host, kind: 'delay', ms: fault.delayMs, match: fault.match });
  const { lastSeq } = await run.sim.log();
  const mark = run.bot.lines.length;
  run.bot.write(line);
  await run.sim.waitForLog({ host: fault.host, match: fault.match, since: lastSeq, timeoutMs: 30_000 });
  run.agent?.kill('SIGKILL');
  await run.agent?.exited;
  return { mark, lastSeq };
}

/**
 * With a killed agent's job about to be resumed: starts the next agent, holds its read-back (`list`) on `host`, and
 * SIGKILLs it during that read too — the same job losing its agent twice.
 */
export async function killNextAgentWhileResuming(run: { sim: SimControlClient; h: ProcessHarness }, host: string): Promise<void> {
  const beforeResume = (await run.sim.log()).lastSeq;
  await run.sim.addFault({ host, kind: 'delay', ms: 3000, match: '\\blist\\b' });
  const second = await run.h.startAgent();
  await run.sim.waitForLog({ host, match: '\\blist\\b', since: beforeResume, timeoutMs: 30_000 });
  second.kill('SIGKILL');
  await second.exited;
}

/** How many commands matching `re` a simulated host received (since `since`). */
export async function received(sim: SimControlClient, host: string, re: RegExp, since = 0): Promise<number> {
  return (await sim.log({ host, match: re, since })).entries.length;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The environment that sets a process's wall clock `offsetSeconds` off (libfaketime, Debian's `libfaketime`, which
 * .ci/run installs): as on a machine whose NTP is off. Its monotonic clock is left alone, so its timers run true.
 */
export function skewedClock(offsetSeconds: number): Record<string, string> {
  const lib = readdirSync('/usr/lib')
    .map((dir) => `/usr/lib/${dir}/faketime/libfaketimeMT.so.1`)
    .find((p) => existsSync(p));
  if (!lib) throw new Error('libfaketime is not installed (apt-get install libfaketime): the clock-skew tests need it');
  return {
    LD_PRELOAD: lib,
    FAKETIME: `${offsetSeconds >= 0 ? '+' : ''}${offsetSeconds}`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}
