import { unansweredReason } from '../core/alerts.ts';
import { TransportError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { DomainSample, HostSample } from '../core/samples.ts';
import type { DomainLocks } from '../queue/coordination.ts';
import type { FleetEvent, FleetEventLog } from '../queue/fleet-events.ts';
import type { SampleStore } from '../queue/samples.ts';
import type { TopRow } from './parsers/types.ts';
import { parseXentop } from './parsers/xentop.ts';
import { XentopStream, type XentopUnread } from './parsers/xentop-stream.ts';
import {
  type CounterRow,
  type CpuBaseline,
  countersOf,
  cpuBaseline,
  type DomainIdentity,
  detectChanges,
  identitiesOf,
  pairRenames,
  type RawChange,
  RollupWindow,
  renamedBaseline,
  renamedCounters,
  type TimedRows,
  toHostSample,
} from './sampling.ts';
import { backoffDelay, Semaphore } from './ssh/semaphore.ts';
import type { RemoteRunner } from './ssh/types.ts';
import type { DomainSummary } from './toolstack/types.ts';

export interface SamplerOptions {
  hosts: readonly string[];
  /** xentop's -d, in seconds. */
  intervalSeconds: number;
  /** One history point per this many seconds. */
  historyEverySeconds: number;
  /** History kept per host: historyHours × 3600 / historyEverySeconds points. */
  historyHours: number;
  /** Consecutive failures to (re)start a host's stream before `host.unreachable` is appended. */
  unreachableAfterFailures: number;
  /** Restart backoff: base doubling per consecutive failure up to max. @defaultValue 1000 / 60000 */
  restartBaseMs?: number;
  restartMaxMs?: number;
  /** Output quiet this long = the iteration under way is complete. @defaultValue min(500, interval / 4) */
  quietMs?: number;
  /**
   * How long an appearance or a disappearance waits for the other half of a migration before it is reported as
   * started/appeared or stopped/vanished. @defaultValue 2 × interval + 2 s
   */
  settleMs?: number;
  /** No complete iteration for this long: the stream is restarted. @defaultValue 3 × interval + 10 s */
  staleMs?: number;
  /** How long a "gone from host X" marker makes an appearance elsewhere a migration. @defaultValue 5 min */
  goneTtlMs?: number;
  /** Without xentop -f: how often a 10-character name still unresolved is looked up again. @defaultValue 1 min */
  nameRefreshMs?: number;
}

export interface SamplerDeps {
  runner: RemoteRunner;
  samples: SampleStore;
  events: FleetEventLog;
  /** Read-only use: a change to a locked domain is xenops' own. */
  locks: Pick<DomainLocks, 'holder'>;
  /** One `xl list` / `xm list` of the host (the agent passes its toolstack driver's list()). */
  list(host: string): Promise<DomainSummary[]>;
  logger: Logger;
  /** This process's clock, for its own waits and deadlines. */
  now?: () => number;
  /** The clock of the times it writes (samples, events): the deployment's shared one (src/queue/shared-clock.ts). */
  stamp?: () => number;
}

/** xentop's stream: full names (`-f`, Xen ≥ 4.0). */
export function xentopStreamArgv(intervalSeconds: number, fullNames: boolean): string[] {
  return ['xentop', '-b', '-d', String(intervalSeconds), ...(fullNames ? ['-f'] : [])];
}

/** The polling fallback: two iterations one second apart; the second has real CPU%. */
export function xentopPollArgv(fullNames: boolean): string[] {
  return ['xentop', '-b', '-i', '2', '-d', '1', ...(fullNames ? ['-f'] : [])];
}

/** Iterations waiting to be handled per host beyond which new ones are dropped (Redis is not keeping up). */
const MAX_QUEUED = 3;
/** Iterations a domain missing from xentop is kept while the list that would classify it fails. */
const HOLD_ITERATIONS = 3;
/** close(): how long to wait for streams and pending writes. */
const CLOSE_WAIT_MS = 2000;
/** Events kept per host while Redis refuses them (appended when it takes them again); past this the oldest go. */
const MAX_UNSENT = 1000;
/**
 * Lists the sampler sends at once to learn who each guest is before a host's first comparison: an agent of 1,000
 * hosts starts all their streams together, and their first lists are spread out rather than sent in one burst.
 */
const IDENTITY_LISTS = 32;

type DomainEventKind = 'domain.started' | 'domain.stopped' | 'domain.vanished' | 'domain.appeared';

interface Pending {
  side: 'appeared' | 'disappeared';
  domain: string;
  uuid: string | null;
  keys: string[];
  /** What it is reported as if no migration shows up. */
  fallback: DomainEventKind;
  byXenops: boolean;
  /** When the change was seen (the event's `at`). */
  seenAt: number;
  deadline: number;
}

/** getopt's complaint about an option xentop does not know (Xen 3.x has no -f). */
function refusedFullNames(stderr: string): boolean {
  return /invalid option|unrecognized option|illegal option/i.test(stderr);
}

/** What one stream (or poll loop) run came to. */
interface Attempt {
  /**
   * Nothing came back: the host could not be reached, or its xentop printed nothing before the watchdog gave up on it
   * (counts towards host.unreachable).
   */
  failed: boolean;
  /** At least one complete iteration came through (else the restart backs off further). */
  produced: boolean;
  reason: string;
  /** Failed with its channel open and not a byte of output for this long (a hung host), rather than unreached. */
  silentMs?: number;
}

class HostState {
  /** Consecutive starts that reached nothing (host.unreachable after unreachableAfterFailures). */
  failures = 0;
  /** Consecutive runs without a single iteration: the restart backoff. */
  barren = 0;
  unreachable = false;
  /** False once the host's xentop refused -f: names are then mapped back through `xl list`. */
  fullNames = true;
  /** The last iteration's counters (the next one's rates are taken against them). */
  prev: TimedRows<CounterRow> | null = null;
  /** The last sample taken (what /top and /status answer from while it is fresh). */
  latest: HostSample | null = null;
  baseline: DomainSample[] | null = null;
  /** The history point being folded (since windowStart). */
  window = new RollupWindow();
  windowStart: number | null = null;
  /** When the last sample folded into the window was taken. */
  windowLast = 0;
  /** Names seen on this host, by xentop or by a list: one of them appearing again is a start. */
  readonly known = new Set<string>();
  /** Names a list showed with a config file here (or defined only): one gone while lists fail is a stop. */
  readonly definedHere = new Set<string>();
  readonly uuids = new Map<string, string>();
  /**
   * The running guests' UUID and domain id by name, from every list the agent read of the host (null before one):
   * what tells a guest renamed from one gone and another come, xentop printing neither. A name a list no longer shows
   * stays until the changes are classified: a job's list may come between the rename and the sample that sees it.
   */
  identities: Map<string, DomainIdentity> | null = null;
  /** The sampler's own list for `identities`, while under way (see Sampler.learnIdentities). */
  learning: Promise<void> | null = null;
  pending: Pending[] = [];
  chain: Promise<void> = Promise.resolve();
  queued = 0;
  controller: AbortController | null = null;
  /** Names of 10 characters or more from the last list (no -f): what a 10-character xentop name may stand for. */
  longNames: string[] = [];
  longNamesAt = 0;
  /** The 10-character names the last list could not resolve: a new one is looked up at once, these once a minute. */
  unresolvedAtList = new Set<string>();
  /** The 10-character names the last iteration could not resolve (see iteration: a name resolved again). */
  unresolvedBefore = new Set<string>();
  /** Domains missing from xentop while the list failed: how many iterations each has been kept in the baseline. */
  readonly held = new Map<string, number>();
  /** Crashes said before this agent started (domain name → the crash's identity, crashIdentity): not said again at the baseline. */
  crashesSaid = new Map<string, string>();
  /** Events not appended yet (Redis failed them), oldest first: each is said once, never again by what follows. */
  unsent: FleetEvent[] = [];
  /** The append of `unsent` under way: one at a time, so they go in order and none twice. */
  flushing: Promise<void> | null = null;

  constructor(readonly name: string) {}
}

/**
 * Live sampling for the hosts an agent serves: one long-running `xentop -b -d N -f` per host over the runner's
 * `stream` (one SSH channel beside the job commands, holding none of their slots). Each complete iteration becomes
 * a HostSample in Redis (latest, with a TTL of 3 intervals) and is folded into a history point every
 * historyEverySeconds. The first iteration of each stream is only the baseline for rates (its CPU% is 0.0).
 *
 * Changes between iterations (detectChanges) are classified with one `xl list` and appended to the fleet events:
 * - crashed → domain.crashed;
 * - appeared → domain.migrated when the domain just disappeared from another host (the gone marker), else
 *   domain.started when this host knows it (it has a config file here, or was seen here before), else
 *   domain.appeared. The marker is checked first because a migration target often has the guest's config too.
 * - disappeared → domain.stopped when the list still shows it defined here, else domain.vanished; nothing when the
 *   list still shows it running (xentop missed a row), nor when it just appeared on another host (the target
 *   reports the migration). Either host may see its half first, so both halves wait up to settleMs for the other.
 * - a disappearance and an appearance that are one guest renamed (xl rename: the UUID and domain id the last list
 *   gave the old name are the new one's now, see pairRenames) → one domain.renamed, said at once.
 * byXenops: the domain's lock is held, or a job changed it moments ago (FleetEventLog.markMutation).
 *
 * A stream that ends or fails is restarted with exponential backoff; after unreachableAfterFailures consecutive
 * starts that got nothing back (no connection, or not a byte of output before staleMs: a hung host), `host.unreachable`
 * is appended once, and `host.reachable` when output flows again.
 * A host whose xentop refuses -f (Xen 3.x) is run without it, names of 10 characters being mapped back through
 * `xl list` as the driver's top() does. Runners without `stream` are polled instead: `xentop -b -i 2 -d 1 -f` via
 * run() once per interval (that takes one of the host's command slots for about a second each time).
 */
export class Sampler {
  private readonly states = new Map<string, HostState>();
  private readonly loops: Promise<void>[] = [];
  private readonly closing = new AbortController();
  private readonly identityLists = new Semaphore(IDENTITY_LISTS);
  private tick: NodeJS.Timeout | null = null;
  private started = false;
  private readonly now: () => number;
  private readonly stamp: () => number;
  private readonly o: Required<SamplerOptions>;

  constructor(
    options: SamplerOptions,
    private readonly deps: SamplerDeps,
  ) {
    const interval = options.intervalSeconds * 1000;
    this.o = {
      restartBaseMs: 1000,
      restartMaxMs: 60_000,
      quietMs: Math.min(500, interval / 4),
      settleMs: 2 * interval + 2000,
      staleMs: 3 * interval + 10_000,
      goneTtlMs: 5 * 60_000,
      nameRefreshMs: 60_000,
      ...options,
    };
    this.now = deps.now ?? Date.now;
    this.stamp = deps.stamp ?? this.now;
    for (const h of options.hosts) this.states.set(h, new HostState(h));
  }

  /**
   * The running guests of a list the agent read of `host` (a job's, a read-back's, this sampler's own): who each one
   * is, kept to tell a guest renamed (see HostState.identities). The sampler lists a host for it once at most, when
   * none was heard before its first comparison (learnIdentities): the bot's fleet refresh lists every host each minute.
   */
  heardList(host: string, running: readonly DomainSummary[]): void {
    const state = this.states.get(host);
    if (!state) return;
    const heard = identitiesOf(running);
    if (state.identities === null) state.identities = heard;
    else for (const [name, identity] of heard) state.identities.set(name, identity);
    // xentop without -f: a list read anyway maps its cut names afresh. A stale mapping resolved `webserver-` to a name
    // no longer running (webserver-a renamed webserver-b): never unresolved, so never looked up again.
    if (!state.fullNames) {
      state.longNames = running.filter((d) => d.status !== 'defined' && d.name.length >= 10).map((d) => d.name);
      state.longNamesAt = this.now();
    }
  }

  /** The host's latest sample while fresh (at most 3 intervals old), else null: the caller then asks the host. */
  latest(host: string): HostSample | null {
    const sample = this.states.get(host)?.latest ?? null;
    if (!sample || this.stamp() - sample.at > 3 * this.o.intervalSeconds * 1000) return null;
    return sample;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    for (const state of this.states.values()) this.loops.push(this.loop(state));
    // Pending changes are settled even while a host's stream is down.
    this.tick = setInterval(() => {
      for (const state of this.states.values()) {
        if (state.pending.length > 0) this.enqueue(state, () => this.settle(state, false));
        // Events Redis refused are tried again even while the host says nothing new.
        if (state.unsent.length > 0) void this.flush(state);
      }
    }, this.o.intervalSeconds * 1000);
    this.tick.unref();
  }

  /** Stops every stream and reports changes still settling; bounded (about two seconds at most). */
  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    if (this.tick) clearInterval(this.tick);
    for (const state of this.states.values()) state.controller?.abort();
    // Never rejects: the agent awaits it only after closing its workers, and a rejection meanwhile was one nobody
    // handled (Redis gone with a change still settling: its last reads and writes fail).
    const failed = (host: string) => (error: unknown) =>
      this.log(host).warn({ err: errorText(error) }, 'sampler: what was still settling at close could not be reported');
    const done = Promise.all([
      ...this.loops.map((loop, i) => loop.catch(failed([...this.states.keys()][i] ?? '?'))),
      ...[...this.states.values()].map((s) =>
        s.chain
          .then(() => (s.pending.length > 0 ? this.settle(s, true) : undefined))
          .then(() => (s.unsent.length > 0 ? this.flush(s) : undefined))
          .catch(failed(s.name)),
      ),
    ]);
    await within(done, CLOSE_WAIT_MS);
  }

  private get closed(): boolean {
    return this.closing.signal.aborted;
  }

  private log(host: string): Logger {
    return this.deps.logger.child({ host, component: 'sampler' });
  }

  private async loop(state: HostState): Promise<void> {
    const log = this.log(state.name);
    // Said unreachable before this agent started: its return is said, and its being down is not said again.
    state.unreachable = await this.deps.events.wasUnreachable(state.name).catch((error: unknown) => {
      log.warn({ err: errorText(error) }, 'could not read whether the host was said to be unreachable');
      return false;
    });
    state.crashesSaid = await this.deps.events.crashesSaid(state.name).catch((error: unknown) => {
      log.warn({ err: errorText(error) }, 'could not read the crashes said before');
      return new Map<string, string>();
    });
    while (!this.closed) {
      let attempt: Attempt;
      try {
        attempt = this.deps.runner.stream ? await this.streamOnce(state) : await this.pollOnce(state);
      } catch (error) {
        attempt = { failed: true, produced: false, reason: errorText(error) };
      }
      if (this.closed) break;
      state.barren = attempt.produced ? 0 : state.barren + 1;
      if (attempt.failed) {
        state.failures++;
        log.warn({ failures: state.failures, reason: attempt.reason }, 'xentop stream could not be (re)started');
        if (state.failures >= this.o.unreachableAfterFailures && !state.unreachable) {
          state.unreachable = true;
          const silent = attempt.silentMs === undefined ? {} : { silentMs: attempt.silentMs };
          await this.emit(state, { kind: 'host.unreachable', host: state.name, reason: attempt.reason, at: this.stamp(), ...silent });
          await this.remember(state, true);
        }
      } else if (attempt.produced) {
        log.info({ reason: attempt.reason }, 'xentop stream ended; restarting');
      } else {
        log.warn({ reason: attempt.reason, attempts: state.barren }, 'xentop gave no samples; retrying');
      }
      const delay = backoffDelay(Math.max(1, state.barren), this.o.restartBaseMs, this.o.restartMaxMs);
      await sleep(delay, this.closing.signal);
    }
  }

  /** Output flows: the host is reachable (again). */
  private async reached(state: HostState): Promise<void> {
    state.failures = 0;
    if (!state.unreachable) return;
    state.unreachable = false;
    await this.emit(state, { kind: 'host.reachable', host: state.name, at: this.stamp() });
    await this.remember(state, false);
  }

  /** Keeps what was last said of the host's reachability in Redis (see FleetEventLog.wasUnreachable). */
  private async remember(state: HostState, unreachable: boolean): Promise<void> {
    await this.deps.events
      .setUnreachable(state.name, unreachable)
      .catch((error: unknown) => this.log(state.name).warn({ err: errorText(error) }, 'could not record the host reachability'));
  }

  private async streamOnce(state: HostState): Promise<Attempt> {
    const stream = this.deps.runner.stream;
    if (!stream) throw new Error('no stream');
    const controller = new AbortController();
    state.controller = controller;
    const splitter = new XentopStream();
    let gotOutput = false;
    let first = true;
    let produced = false;
    let lastIterationAt = this.now();
    let stale = false;
    let stderr = '';
    let quiet: NodeJS.Timeout | undefined;
    const deliver = (iterations: TopRow[][]) => {
      for (const rows of iterations) {
        lastIterationAt = this.now();
        produced = true;
        const isFirst = first;
        first = false;
        const at = this.stamp();
        const unread = splitter.unread(rows);
        this.enqueue(state, () => this.iteration(state, rows, at, isFirst, undefined, unread), true);
      }
    };
    const watchdog = setInterval(
      () => {
        if (this.now() - lastIterationAt > this.o.staleMs) {
          stale = true;
          controller.abort();
        }
      },
      Math.min(1000, this.o.staleMs),
    );
    watchdog.unref();
    try {
      const argv = xentopStreamArgv(this.o.intervalSeconds, state.fullNames);
      const result = await stream.call(this.deps.runner, state.name, argv, {
        signal: controller.signal,
        onStdout: (chunk) => {
          if (!gotOutput) {
            gotOutput = true;
            this.enqueue(state, () => this.reached(state));
          }
          deliver(splitter.push(chunk));
          clearTimeout(quiet);
          quiet = setTimeout(() => deliver(splitter.flush()), this.o.quietMs);
        },
        onStderr: (chunk) => {
          stderr = (stderr + chunk).slice(-1000);
        },
      });
      splitter.end();
      const stats = splitter.stats;
      if (stats.unparsed > 0 || stats.lateRows > 0 || stats.cutLines > 0)
        this.log(state.name).warn(
          { unparsed: stats.unparsed, samples: stats.unparsedSamples, lateRows: stats.lateRows, cutLines: stats.cutLines },
          'xentop lines the sampler could not read',
        );
      if (stale) {
        // Not a byte since it started, its channel open: the host is hung (Dom0, xenstored, a stuck NFS mount) and
        // that start reached nothing, as one refused does. One that printed and then went quiet does not count by
        // itself: the next start decides, silent too if the host hung.
        if (!gotOutput) return { failed: true, produced, reason: unansweredReason(this.o.staleMs), silentMs: this.o.staleMs };
        return { failed: false, produced, reason: `no xentop output for ${Math.round(this.o.staleMs / 1000)} s` };
      }
      if (result.code === null) {
        if (this.closed) return { failed: false, produced, reason: 'closing' };
        return { failed: !gotOutput, produced, reason: `the connection to ${state.name} was lost` };
      }
      // xentop answers an option it does not know with its usage on stdout and exit 0 (getopt's '?' case): no
      // iteration came, not no output.
      if (!produced && state.fullNames && refusedFullNames(stderr)) {
        state.fullNames = false;
        this.log(state.name).warn({ stderr: stderr.trim() }, 'xentop has no -f here; names of 10 characters are mapped through xl list');
      }
      // The host answered: a command failure is not unreachability.
      if (!gotOutput) this.enqueue(state, () => this.reached(state));
      return {
        failed: false,
        produced,
        reason: `xentop exited with code ${result.code}${stderr.trim() ? `: ${stderr.trim().slice(0, 200)}` : ''}`,
      };
    } catch (error) {
      if (error instanceof TransportError) return { failed: true, produced, reason: error.message };
      throw error;
    } finally {
      clearInterval(watchdog);
      clearTimeout(quiet);
      if (state.controller === controller) state.controller = null;
    }
  }

  /** Without runner.stream: one `xentop -b -i 2 -d 1` per interval; returns when a poll fails. */
  private async pollOnce(state: HostState): Promise<Attempt> {
    const controller = new AbortController();
    state.controller = controller;
    let produced = false;
    try {
      for (;;) {
        if (this.closed) return { failed: false, produced, reason: 'closing' };
        const started = this.now();
        let stdout: string;
        try {
          const r = await this.deps.runner.run(state.name, xentopPollArgv(state.fullNames), { signal: controller.signal });
          // An unknown option is answered with the usage and exit 0 (see streamOnce): refused all the same.
          const refused = state.fullNames && refusedFullNames(r.stderr);
          if (r.code !== 0 || refused) {
            if (refused) state.fullNames = false;
            this.enqueue(state, () => this.reached(state));
            return { failed: false, produced, reason: `xentop exited with code ${r.code}: ${r.stderr.trim().slice(0, 200)}` };
          }
          stdout = r.stdout;
        } catch (error) {
          if (this.closed) return { failed: false, produced, reason: 'closing' };
          return { failed: !produced, produced, reason: errorText(error) };
        }
        this.enqueue(state, () => this.reached(state));
        const { rows, previous, unparsed } = parseXentop(stdout);
        const at = this.stamp();
        // Either iteration's: a line the first could not read may be a row the second also printed that way.
        const unread = unparsed[0] ? { lines: unparsed.length, first: unparsed[0].line.slice(0, 200) } : null;
        // The poll's rows come from its second iteration, whose CPU% xentop took against its first (not the poll before).
        if (rows.length > 0) {
          produced = true;
          this.enqueue(state, () => this.iteration(state, rows, at, false, cpuBaseline(previous), unread), true);
        }
        await sleep(Math.max(0, this.o.intervalSeconds * 1000 - (this.now() - started)), this.closing.signal);
      }
    } finally {
      if (state.controller === controller) state.controller = null;
    }
  }

  /** Runs host work one piece at a time, in order; drops iterations (only) when too many wait. */
  private enqueue(state: HostState, work: () => Promise<void>, droppable = false): void {
    if (droppable && state.queued >= MAX_QUEUED) {
      this.log(state.name).warn('sampler falling behind (Redis slow?): an iteration was dropped');
      return;
    }
    state.queued++;
    state.chain = state.chain
      .then(work)
      .catch((error: unknown) => this.log(state.name).warn({ err: errorText(error) }, 'sampler: could not handle an iteration'))
      .finally(() => {
        state.queued--;
      });
  }

  /**
   * `cpuBefore`: xentop's iteration before this one, when it is not the last one handled (see toHostSample).
   * `unread`: its lines that were no row it could read — kept with the sample, so /top and /status say a guest may be
   * missing rather than rank without it (the log at the stream's end alone was seen by nobody asking).
   */
  private async iteration(
    state: HostState,
    rawRows: TopRow[],
    at: number,
    first: boolean,
    cpuBefore?: CpuBaseline | null,
    unread?: XentopUnread | null,
  ): Promise<void> {
    const { rows, unresolved } = state.fullNames ? { rows: rawRows, unresolved: [] } : await this.fullNames(state, rawRows);
    const cur: TimedRows = { at, rows };
    // Who each guest is must be known before a change is classified: a guest renamed right after the start would
    // otherwise read as one vanished (a false alert) and another appeared. The list goes out at the stream's first
    // iteration and is waited for only by a change (below): one that hangs (xenstored, a hung NFS config dir) held
    // every sample of a quiet host, and the agent's close, for the SSH command timeout.
    if (state.identities === null && state.baseline === null) state.learning ??= this.learnIdentities(state);
    if (first) {
      // CPU% of a stream's first iteration is always 0.0: it only serves as the baseline for rates.
      state.prev = countersOf(cur);
      return;
    }
    let sample = toHostSample(state.name, state.prev, cur, this.o.intervalSeconds, cpuBefore);

    // A truncated name that could not be resolved (a guest started since the last list, or two guests xentop prints
    // alike) is no domain to compare: the baseline's domains it may stand for are carried over, and nothing is said
    // under a name that is not a domain's.
    const seen = sample.domains.filter((d) => !unresolved.includes(d.name));
    const carried = (state.baseline ?? []).filter(
      (d) => unresolved.some((u) => d.name.startsWith(u)) && !seen.some((x) => x.name === d.name),
    );
    // A name resolved again after it was not (the other guest printed alike went) was running all along: it joins
    // the baseline quietly rather than "appearing".
    const cleared = seen.filter(
      (d) => state.unresolvedBefore.has(d.name.slice(0, 10)) && !(state.baseline ?? []).some((b) => b.name === d.name),
    );
    state.unresolvedBefore = new Set(unresolved);
    const changes = detectChanges(state.baseline && [...state.baseline, ...cleared], [...seen, ...carried]);
    const baseline = [...seen, ...carried];
    // Classified before the sample is kept: a guest renamed (xl rename) has its figures go on under its new name.
    let failure: unknown = null;
    try {
      if (changes.length > 0) {
        // The start's list, if still under way (null: none, or done).
        await state.learning;
        const { kept, renames } = await this.classify(state, changes, state.baseline ?? []);
        baseline.push(...kept);
        if (renames.size > 0 && state.prev) {
          sample = toHostSample(
            state.name,
            renamedCounters(state.prev, renames),
            cur,
            this.o.intervalSeconds,
            cpuBefore && renamedBaseline(cpuBefore, renames),
          );
          for (const [to, from] of renames) state.window.rename(from, to);
        }
      }
    } catch (error) {
      // The sample is kept all the same; the iteration's failure is said after.
      failure = error;
    }
    if (unread) sample.unread = unread;
    for (const d of sample.domains) if (unresolved.includes(d.name)) d.nameCut = true;
    state.prev = countersOf(cur);
    state.latest = sample;
    const { samples } = this.deps;
    await samples.putLatest(sample, 3 * this.o.intervalSeconds * 1000);

    const maxLen = Math.max(1, Math.round((this.o.historyHours * 3600) / this.o.historyEverySeconds));
    // Nothing reads a point older than historyHours: a host no longer sampled (out of the config) has its list expire.
    const keepMs = this.o.historyHours * 3_600_000;
    // Nothing sampled for longer than a step (the stream was down): the window holds what was measured before, and
    // is a point of that time — folded into this sample's, a guest stopped meanwhile would be charted as running after.
    if (state.window.size > 0 && at - state.windowLast > Math.max(this.o.historyEverySeconds, 2 * this.o.intervalSeconds) * 1000) {
      const point = state.window.point(state.windowLast);
      state.window = new RollupWindow();
      state.windowStart = null;
      await samples.pushHistory(state.name, point, maxLen, keepMs);
    }
    state.window.add(sample);
    state.windowLast = at;
    state.windowStart ??= at;
    if (at - state.windowStart >= this.o.historyEverySeconds * 1000) {
      const point = state.window.point(at);
      state.window = new RollupWindow();
      state.windowStart = at;
      await samples.pushHistory(state.name, point, maxLen, keepMs);
    }
    if (failure !== null) throw failure;
    state.baseline = baseline;
    for (const d of seen) {
      state.known.add(d.name);
      state.held.delete(d.name);
    }
    await this.settle(state, false);
  }

  /**
   * One list of the host for who each guest is, when no list of it was heard since the agent started (the only list
   * classify() reads is one taken after the change: it knows a renamed guest by its new name only). A failed list
   * leaves them unknown, as they were; the next change's list teaches them.
   */
  private async learnIdentities(state: HostState): Promise<void> {
    let release: (() => void) | null = null;
    try {
      release = await this.identityLists.acquire(this.closing.signal);
      // One heard while this waited its turn (a job's, the bot's fleet refresh's) will do.
      if (state.identities !== null) return;
      const listed = await this.deps.list(state.name);
      // The agent's list tells the sampler by itself (the driver's onListed); a list that does not is told here.
      if (state.identities === null) this.heardList(state.name, listed);
    } catch (error) {
      if (!this.closed)
        this.log(state.name).warn(
          { err: errorText(error) },
          'could not list domains to learn who each guest is; a guest renamed before the next list reads as two',
        );
    } finally {
      release?.();
      state.learning = null;
    }
  }

  /**
   * Classifies the changes of one iteration with one list of the host. Returns the domains that must stay in the
   * baseline (reported missing by xentop while the list shows them running), and the guests renamed (new name → old).
   */
  private async classify(
    state: HostState,
    changes: RawChange[],
    before: DomainSample[],
  ): Promise<{ kept: DomainSample[]; renames: Map<string, string> }> {
    const host = state.name;
    let list: DomainSummary[] | null = null;
    try {
      list = await this.deps.list(host);
    } catch (error) {
      this.log(host).warn({ err: errorText(error) }, 'could not list domains to classify changes; classifying without');
    }
    if (list !== null) state.held.clear();
    const entries = new Map((list ?? []).map((d) => [d.name, d]));
    // Paired against the list before this one: this one shows the guest under its new name only.
    const renames = list === null ? new Map<string, string>() : pairRenames(changes, entries, state.identities);
    const oldNames = new Set(renames.values());
    const kept: DomainSample[] = [];
    const now = this.now();
    const seenAt = this.stamp();
    for (const change of changes) {
      const name = change.domain;
      const entry = entries.get(name);
      if (entry?.uuid) state.uuids.set(name, entry.uuid);
      const uuid = entry?.uuid ?? state.uuids.get(name) ?? null;
      const keys = uuid ? [uuid, name] : [name];
      // Renamed: said once, as the guest under its new name; its old name went nowhere.
      if (oldNames.has(name) && change.kind === 'disappeared') {
        state.held.delete(name);
        continue;
      }
      const oldName = renames.get(name);
      if (oldName !== undefined && change.kind === 'appeared' && uuid) {
        const byXenops = (await this.byXenops(oldName)) || (await this.byXenops(name));
        await this.emit(state, { kind: 'domain.renamed', host, oldName, domain: name, uuid, byXenops, at: seenAt });
        continue;
      }
      // Crashed before it was renamed: the same crash, said already.
      if (oldName !== undefined && change.kind === 'crashed' && before.some((d) => d.name === oldName && d.state[3] === 'c')) continue;
      const byXenops = await this.byXenops(name);
      if (change.kind === 'crashed') {
        const crash = crashIdentity(entry);
        // Found crashed at the start, the same crash an earlier agent said: not news.
        if (state.baseline === null && crash !== null && sameCrash(state.crashesSaid.get(name), crash)) continue;
        await this.emit(state, { kind: 'domain.crashed', host, domain: name, uuid, byXenops, at: seenAt });
        if (crash !== null)
          await this.deps.events
            .sayCrashed(host, name, crash)
            .catch((error: unknown) => this.log(host).warn({ err: errorText(error) }, 'could not record the crash said'));
        continue;
      }
      if (change.kind === 'disappeared') {
        // Still running (xentop missed it), or not known: the list failed — the iteration may have been cut short by
        // the network the list went over too. Kept in the baseline, for a few iterations while the list keeps failing
        // (xend dead on an xm host: xentop works, xm list does not); then it is reported, classified without.
        const held = list === null ? (state.held.get(name) ?? 0) + 1 : 0;
        if ((entry && entry.status !== 'defined') || (list === null && held <= HOLD_ITERATIONS)) {
          const missing = before.find((d) => d.name === name);
          if (missing) kept.push(missing);
          if (list === null) state.held.set(name, held);
          this.log(host)[list === null ? 'warn' : 'debug'](
            { domain: name, listed: list !== null },
            'a domain missing from xentop; not reported yet',
          );
          continue;
        }
        state.held.delete(name);
        await this.deps.events.markGone(keys, host, this.o.goneTtlMs);
        const stopped = entry ? entry.status === 'defined' : list === null && state.definedHere.has(name);
        state.pending.push({
          side: 'disappeared',
          domain: name,
          uuid,
          keys,
          fallback: stopped ? 'domain.stopped' : 'domain.vanished',
          byXenops,
          seenAt,
          deadline: now + this.o.settleMs,
        });
        continue;
      }
      // appeared
      const seenHere = state.known.has(name) || state.definedHere.has(name) || entry?.configPath != null;
      await this.deps.events.markArrived(keys, host, 2 * this.o.settleMs);
      state.pending.push({
        side: 'appeared',
        domain: name,
        uuid,
        keys,
        fallback: seenHere ? 'domain.started' : 'domain.appeared',
        byXenops,
        seenAt,
        deadline: now + this.o.settleMs,
      });
    }
    for (const d of list ?? []) {
      state.known.add(d.name);
      if (d.status === 'defined' || d.configPath !== null) state.definedHere.add(d.name);
    }
    // Classified: the names this list no longer shows are let go.
    if (list !== null) state.identities = identitiesOf(list);
    return { kept, renames };
  }

  /** Reports pending changes whose other half showed up or whose wait is over (all of them when final). */
  private async settle(state: HostState, final: boolean): Promise<void> {
    const host = state.name;
    const now = this.now();
    const still: Pending[] = [];
    for (const p of state.pending) {
      const byXenops = p.byXenops || (await this.byXenops(p.domain));
      if (p.side === 'appeared') {
        const from = await this.deps.events.goneFrom(p.keys);
        if (from && from !== host) {
          await this.emit(state, { kind: 'domain.migrated', host, from, domain: p.domain, uuid: p.uuid, byXenops, at: p.seenAt });
          continue;
        }
      } else {
        const to = await this.deps.events.arrivedAt(p.keys);
        // It appeared on another host: that host reports the migration.
        if (to && to !== host) continue;
      }
      if (final || now >= p.deadline) {
        await this.emit(state, { kind: p.fallback, host, domain: p.domain, uuid: p.uuid, byXenops, at: p.seenAt });
        continue;
      }
      still.push(p);
    }
    state.pending = still;
  }

  private async byXenops(domain: string): Promise<boolean> {
    try {
      if ((await this.deps.locks.holder(domain)) !== null) return true;
      return await this.deps.events.mutatedRecently(domain);
    } catch {
      return false;
    }
  }

  /**
   * Appends the event after those Redis refused before. One refused is kept and tried again (at the next event or
   * tick): the sampler says most things once — a host down, a crash — so an event dropped would never be said.
   */
  private async emit(state: HostState, event: FleetEvent): Promise<void> {
    state.unsent.push(event);
    if (state.unsent.length > MAX_UNSENT) {
      const dropped = state.unsent.splice(0, state.unsent.length - MAX_UNSENT);
      this.log(state.name).error({ dropped: dropped.length }, 'fleet events dropped: Redis has refused them for too long');
    }
    await this.flush(state);
  }

  private flush(state: HostState): Promise<void> {
    state.flushing ??= this.appendUnsent(state).finally(() => {
      state.flushing = null;
    });
    return state.flushing;
  }

  private async appendUnsent(state: HostState): Promise<void> {
    for (let event = state.unsent[0]; event !== undefined; event = state.unsent[0]) {
      try {
        await this.deps.events.append(event);
      } catch (error) {
        this.log(state.name).warn(
          { err: errorText(error), event, waiting: state.unsent.length },
          'could not append a fleet event; tried again later',
        );
        return;
      }
      // (The oldest may have been dropped meanwhile, MAX_UNSENT past.)
      if (state.unsent[0] === event) state.unsent.shift();
      this.log(state.name).info({ event }, 'fleet event');
    }
  }

  /**
   * Hosts without xentop -f: 10-character names back to full ones through a list — of the running domains of 10
   * characters or more, so `webserver1` beside `webserver10` (both printed `webserver1`) resolves to neither. A name
   * not resolved by the last list is looked up at once (a guest just started), one still unresolved at most once a
   * minute. Unresolved names are returned as they are, and said.
   */
  private async fullNames(state: HostState, rows: TopRow[]): Promise<{ rows: TopRow[]; unresolved: string[] }> {
    const lookup = (name: string) => {
      if (name.length !== 10) return name;
      const matches = state.longNames.filter((n) => n.startsWith(name));
      return matches.length === 1 && matches[0] ? matches[0] : null;
    };
    // Two rows printed alike cannot both be the one guest the (maybe stale) list knows: neither is resolved.
    const resolve = (name: string) => (name.length === 10 && rows.filter((r) => r.name === name).length > 1 ? null : lookup(name));
    const unknown = () => [...new Set(rows.filter((r) => resolve(r.name) === null).map((r) => r.name))];
    const before = unknown();
    const fresh = before.some((n) => !state.unresolvedAtList.has(n));
    if (before.length > 0 && (fresh || this.now() - state.longNamesAt > this.o.nameRefreshMs)) {
      state.longNamesAt = this.now();
      let listed = true;
      try {
        state.longNames = (await this.deps.list(state.name))
          .filter((d) => d.status !== 'defined' && d.name.length >= 10)
          .map((d) => d.name);
      } catch (error) {
        this.log(state.name).warn({ err: errorText(error) }, 'could not list domains to map truncated xentop names');
        listed = false;
      }
      // Only what a list that worked could not resolve waits for the next lookup; after a failed one, a new name is
      // looked up again at the next iteration.
      if (listed) state.unresolvedAtList = new Set(unknown());
      if (state.unresolvedAtList.size > 0)
        this.log(state.name).warn(
          { names: [...state.unresolvedAtList] },
          'xentop names (cut to 10 characters) that match no single running domain',
        );
    }
    return { rows: rows.map((r) => ({ ...r, name: resolve(r.name) ?? r.name })), unresolved: unknown() };
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * What tells one crash from another: the domain id and its CPU time, which stands still while it is crashed. A
 * restarted guest gets a new id — but ids start again after a host reboots, where its CPU time starts again too.
 */
function crashIdentity(entry: DomainSummary | undefined): string | null {
  if (!entry || entry.id === null) return null;
  return entry.cpuSeconds === null ? String(entry.id) : `${entry.id}@${entry.cpuSeconds.toFixed(1)}`;
}

/** An entry written by an agent from before the CPU time was kept holds the id alone. */
function sameCrash(said: string | undefined, crash: string): boolean {
  return said !== undefined && (said === crash || (!said.includes('@') && crash.startsWith(`${said}@`)));
}
