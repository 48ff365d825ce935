import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import { fingerprintsEqual, sshFingerprint } from '../src/agent/ssh/fingerprint.ts';
import type { SimControlClient } from '../src/sim/control-client.ts';
import type { FakeDiscord } from '../test/helpers/fake-discord/server.ts';
import type { BurstResult } from './driver.ts';
import { BENCH_DISCORD_USER } from './fleet.ts';
import { type LoadDriver, sleep, type TerminalClient } from './processes.ts';
import { round, type Summary, summarize } from './report.ts';

/** The measurements: each one drives already started processes and returns numbers (or throws, saying why). */

export interface Timed {
  summary: Summary;
  /** Samples whose final reply was not a success (warning or error): its first two lines. */
  incomplete: string[];
  /** What the simulated hosts received during the first timed sample (when a control client was given). */
  commands: CommandsSeen | null;
}

export interface TerminalTiming {
  warmup: number;
  samples: number;
  timeoutMs?: number;
  /** Stop taking samples once this much time has gone by in them (at least one is always taken). */
  budgetMs?: number;
  /** Count what the hosts receive during the first timed sample. */
  control?: SimControlClient;
}

/**
 * `line` through the terminal bot, one after another: `warmup` untimed, then `samples` timed (fewer when the budget
 * runs out). A final reply that is not a success is timed all the same and reported in `incomplete` (a /status
 * with hosts not answering is still an answer, and how long it took is part of the story).
 */
export async function timeTerminal(term: TerminalClient, line: string, o: TerminalTiming): Promise<Timed> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const incomplete: string[] = [];
  const times: number[] = [];
  let commands: CommandsSeen | null = null;
  for (let i = 0; i < o.warmup; i++) await term.ask(line, timeoutMs);
  const t0 = performance.now();
  for (let i = 0; i < o.samples; i++) {
    if (i > 0 && o.budgetMs !== undefined && performance.now() - t0 > o.budgetMs) break;
    const since = i === 0 && o.control ? await lastSeq(o.control) : null;
    const a = await term.ask(line, timeoutMs);
    times.push(a.ms);
    if (!a.success) incomplete.push(a.text.slice(0, 2).join(' / '));
    if (since !== null && o.control) {
      const until = await lastSeq(o.control);
      const seen = await commandsSince(o.control, since);
      const own = seen.commands.filter((_, k) => (seen.seqs[k] ?? 0) <= until);
      commands = { commands: own, seqs: [], hosts: new Set(own.map((c) => c.host)).size };
    }
  }
  return { summary: summarize(times), incomplete, commands };
}

export async function lastSeq(control: SimControlClient): Promise<number> {
  return (await control.log({ since: Number.MAX_SAFE_INTEGER })).lastSeq;
}

export interface CommandsSeen {
  /** Commands received (xentop streams left out: the sampler's, not the request's), with the round trip each came in. */
  commands: { host: string; command: string; trip: number }[];
  /** Their sequence numbers (fleet-wide, increasing). */
  seqs: number[];
  hosts: number;
}

/** What the simulated hosts received since `since` (the commands one request made), xentop left out. */
export async function commandsSince(control: SimControlClient, since: number): Promise<CommandsSeen> {
  const page = await control.log({ since });
  const entries = page.entries.filter((e) => !/\bxentop\b/.test(e.command));
  const commands = entries.map((e) => ({ host: e.host, command: e.command, trip: e.trip }));
  return { commands, seqs: entries.map((e) => e.seq), hosts: new Set(commands.map((c) => c.host)).size };
}

export interface Interleaved {
  a: number[];
  /** The warm-up's own a samples (what a process just started answers in, before the JIT has caught up). */
  warmA: number[];
  b: number[];
  /** Why b stopped early (a failure of b never stops a). */
  bError: string | null;
}

/**
 * Two measurements taken in turns (a, then b after every `bEvery`-th a), so both see the same machine: on a shared
 * box the load changes during a run, and a difference or ratio of figures taken minutes apart would mix two loads.
 * `beforeLastA` runs (untimed) before the last a.
 */
export async function interleaved(o: {
  warmup: number;
  samples: number;
  a: () => Promise<number>;
  b?: (() => Promise<number>) | null;
  bEvery?: number;
  beforeLastA?: () => Promise<void>;
}): Promise<Interleaved> {
  const every = o.bEvery ?? 1;
  const out: Interleaved = { a: [], warmA: [], b: [], bError: null };
  const b = async (keep: boolean) => {
    if (!o.b || out.bError !== null) return;
    try {
      const ms = await o.b();
      if (keep) out.b.push(ms);
    } catch (error) {
      out.bError = error instanceof Error ? error.message : String(error);
    }
  };
  for (let i = 0; i < o.warmup; i++) {
    out.warmA.push(await o.a());
    if (i % every === 0) await b(false);
  }
  for (let i = 0; i < o.samples; i++) {
    if (i === o.samples - 1) await o.beforeLastA?.();
    out.a.push(await o.a());
    if (i % every === 0) await b(true);
  }
  return out;
}

/**
 * Waits until the simulated hosts have received no command (xentop streams aside) for `quietMs`: the bot refreshes
 * its fleet cache on start, and a request's commands are only its own once that is over.
 */
export async function waitQuiet(control: SimControlClient, quietMs: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const since = await lastSeq(control);
    await sleep(quietMs);
    if ((await commandsSince(control, since)).commands.length === 0 || Date.now() > until) return;
  }
}

export interface SshTarget {
  port: number;
  user: string;
  privateKey: string | Buffer;
  /** The pinned `SHA256:…` fingerprint (the agent's hostKey). */
  hostKey: string;
}

/** A warm ssh2 connection in this process, pinned like the agent's. */
export async function openSsh(target: SshTarget): Promise<ssh2.Client> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => {
      // As the agent's pool does: without it Nagle's algorithm meets delayed ACKs and an exchange can wait ~40 ms.
      client.setNoDelay(true);
      resolve();
    });
    client.once('error', reject);
    client.connect({
      host: '127.0.0.1',
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: 15_000,
      hostVerifier: (key: Buffer) => fingerprintsEqual(sshFingerprint(key), target.hostKey),
    });
  });
  return client;
}

/** One exec on an open connection: time from the request to the channel's close, with exit code and stdout. */
export function execOnce(client: ssh2.Client, command: string): Promise<{ ms: number; code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    client.exec(command, (error, channel) => {
      if (error) return reject(error);
      let stdout = '';
      let code: number | null = null;
      channel.on('data', (d: Buffer) => {
        stdout += d.toString('utf8');
      });
      channel.stderr.on('data', () => {});
      channel.on('exit', (c: number | null) => {
        code = typeof c === 'number' ? c : null;
      });
      channel.on('close', () => resolve({ ms: performance.now() - t0, code, stdout }));
    });
  });
}

export interface FreshSshOptions {
  port: number;
  user: string;
  keyPath: string;
  knownHostsPath: string;
}

/**
 * `ssh … HOST xl list` with the OpenSSH client: a new process and connection each time, BatchMode, a pinned
 * known_hosts file and the test key. Resolves with the time from spawn to exit; rejects unless it printed the list.
 */
export function freshSsh(o: FreshSshOptions): Promise<number> {
  const args = [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${o.knownHostsPath}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'LogLevel=ERROR',
    '-i',
    o.keyPath,
    '-p',
    String(o.port),
    `${o.user}@127.0.0.1`,
    'xl',
    'list',
  ];
  return new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('ssh', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0 || !out.includes('Domain-0')) reject(new Error(`ssh exited ${code}: ${err.trim() || out.trim()}`));
      else resolve(ms);
    });
  });
}

export interface Throughput {
  perSecond: number;
  latency: Summary;
  count: number;
  concurrency: number;
  failures: number;
  firstFailure: string | null;
}

/** `count` requests (cycling through `lines`) with `concurrency` in flight, through the load driver. */
export async function throughput(driver: LoadDriver, lines: string[], count: number, concurrency: number): Promise<Throughput> {
  const r = await driver.request<BurstResult>({ cmd: 'burst', lines, count, concurrency, timeoutMs: 60_000 }, 5 * 60_000);
  return {
    perSecond: (r.count / r.elapsedMs) * 1000,
    latency: summarize(r.latencies),
    count: r.count,
    concurrency,
    failures: r.failures,
    firstFailure: r.firstFailure,
  };
}

export interface DeferTimes {
  defer: Summary;
  /** Interaction to final edit (the /list result), for context. */
  final: Summary;
  concurrency: number;
}

/**
 * `/list HOST` interactions from the fake Discord, `concurrency` users at a time (each sends its next one when the
 * last one's result is in): the time from sending INTERACTION_CREATE over the gateway to the fake receiving the
 * defer callback (type 5), for each interaction after the warm-up.
 */
export async function timeDiscordDefers(
  fake: FakeDiscord,
  hosts: readonly string[],
  warmup: number,
  samples: number,
  concurrency: number,
): Promise<DeferTimes> {
  const defers: number[] = [];
  const finals: number[] = [];
  let next = 0;
  const total = warmup + samples;
  const desc = (body: Record<string, unknown> | null) => JSON.stringify((body?.['embeds'] as unknown[] | undefined) ?? []);
  const user = async () => {
    for (let i = next++; i < total; i = next++) {
      const host = hosts[i % hosts.length] as string;
      const t0 = performance.now();
      const { id, token } = fake.interact(BENCH_DISCORD_USER, {
        id: '1',
        name: 'list',
        type: 1,
        options: [{ name: 'host', type: 3, value: host }],
      });
      const deferred = fake.waitFor((c) => c.method === 'POST' && c.route === `/interactions/${id}/${token}/callback`);
      const finished = fake.waitFor(
        (c) => c.method === 'PATCH' && c.route.includes(`/${token}/messages/@original`) && desc(c.body).includes('Domains on'),
      );
      const d = await withTimeout(deferred, 30_000, `no defer for interaction ${i}`);
      const tDefer = performance.now() - t0;
      if ((d.body?.['type'] as number | undefined) !== 5)
        throw new Error(`interaction ${i} was answered with type ${String(d.body?.['type'])}, not deferred`);
      await withTimeout(finished, 60_000, `no final edit for interaction ${i}`);
      if (i >= warmup) {
        defers.push(tDefer);
        finals.push(performance.now() - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, user));
  return { defer: summarize(defers), final: summarize(finals), concurrency };
}

/** Rejects with "WHAT within MS ms" unless p settles in time. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
    }),
  ]);
}

/** Polls the simulator until every host has an SSH connection (the agent's), or the time is up. */
export async function waitForConnections(control: SimControlClient, hosts: number, timeoutMs: number): Promise<number> {
  const until = Date.now() + timeoutMs;
  let connected = 0;
  for (;;) {
    const state = await control.state();
    connected = Object.values(state.hosts).filter((h) => h.connections > 0).length;
    if (connected >= hosts || Date.now() > until) return connected;
    await sleep(2_000);
  }
}

export function ms(s: Summary): string {
  return `p50 ${round(s.p50)} ms, p99 ${round(s.p99)} ms, n=${s.n}`;
}

export function readKey(path: string): string {
  return readFileSync(path, 'utf8');
}
