import {
  type BackendFactory,
  ConnectionClosedError,
  createRedisBackend,
  type IQueueBackend,
  type Job,
  type JobJson,
  type RedisQueueBackend,
  Worker,
} from 'bullmq';
import { moveToActive } from 'bullmq/dist/esm/scripts/moveToActive-11.js';
import { moveToDelayed } from 'bullmq/dist/esm/scripts/moveToDelayed-11.js';
import { moveToFinished } from 'bullmq/dist/esm/scripts/moveToFinished-14.js';
import { version as bullmqVersion } from 'bullmq/dist/esm/version.js';
import { Cluster, Redis } from 'ioredis';
import type { Logger } from '../core/log.ts';
import { watchBlocking } from './blocking-watchdog.ts';
import { withoutStartEvents } from './quiet-events.ts';
import type { RedisClient } from './redis-connection.ts';

/** A BullMQ marker: a job is waiting (score 0) or a delayed job is due at `score` (epoch ms). */
export interface Marker {
  member: string;
  score: number;
}

/** How long one BZPOPMIN blocks before it is sent again (bounds how late close() and a lost connection are noticed). */
const BLOCK_SECONDS = 5;
/** A BZPOPMIN that has not answered this long after its own timeout is abandoned and the connection reset. */
const WATCHDOG_GRACE_MS = 2_000;
const RETRY_MS = 500;

/**
 * Run right after BZPOPMIN popped marker ARGV[1] (member ARGV[2]): pops every other non-empty marker among
 * KEYS at once (a burst of jobs on many host queues is one round trip, not one BZPOPMIN per queue), and says which
 * markers are worth a Worker's look. A base marker ("0": jobs are waiting) with no job waiting is stale: BullMQ's
 * moveToActive leaves one behind every job it hands out (so that other workers look too), and the job it announced
 * is gone. Delivering it would cost a look that finds nothing — a moveToActive per job. A delayed job's marker
 * ("1", due at its score) always counts. Each key's lists are found beside its marker (BullMQ's `prefix:queue:`).
 * A marker that counts for a Worker that cannot take it now and has none kept (ARGV[4] for the popped one, ARGV[5]
 * one character per key for the others: "1") is put back, after the pops: another agent serving the host waits on
 * the same key, and is woken by it only if it is still there.
 * Returns {deliver popped (1/0), then index, score for each other marker that counts}.
 */
const SWEEP = `local function counts(key, member)
  if member ~= '0' then return true end
  local base = string.sub(key, 1, -7)
  return redis.call('LLEN', base .. 'wait') > 0 or redis.call('ZCARD', base .. 'prioritized') > 0
end
local out = {0}
local back = {}
if counts(ARGV[1], ARGV[2]) then
  out[1] = 1
  if ARGV[4] == '1' then back[1] = {ARGV[1], ARGV[3], ARGV[2]} end
end
for i, key in ipairs(KEYS) do
  local popped = redis.call('ZPOPMIN', key)
  if popped[1] and counts(key, popped[1]) then
    out[#out + 1] = i
    out[#out + 1] = popped[2]
    if string.sub(ARGV[5], i, i) == '1' then back[#back + 1] = {key, popped[2], popped[1]} end
  end
end
for _, m in ipairs(back) do redis.call('ZADD', m[1], 'NX', m[2], m[3]) end
return out`;

interface Waiter {
  resolve: (marker: Marker | null) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * The wake-ups of every host queue an agent serves, through ONE blocking connection (`BZPOPMIN m1 … mN`), instead
 * of a blocking connection per BullMQ Worker: the agent's Redis connections no longer grow with the fleet.
 *
 * A BullMQ Worker blocks on its queue's marker only to learn when to look for a job (it then runs its own
 * moveToActive); the marker carries no job. So every served marker is always watched, whether or not its Worker is
 * waiting right now: a marker popped while its Worker is busy is kept and handed over the moment it waits again
 * (it then looks, and finds the job or nothing) — a wake-up is never lost, at worst one costs a look that finds
 * nothing. The first one kept for a Worker is also put back into Redis (see putsBack): another agent serving the
 * host, idle, is woken by it. After each pop the other markers are swept in one script, so 1,000 jobs added at once
 * wake 1,000 Workers in two round trips. A Worker that waits longer than its own timeout gets null, as from BZPOPMIN.
 *
 * On a Cluster every marker key shares the prefix's hash slot, so one BZPOPMIN and one script may name them all.
 */
export class WorkerWakeups {
  private readonly waiters = new Map<string, Waiter>();
  /** Markers popped while their Worker was not waiting; the earliest wins (a due delayed job beats a later one). */
  private readonly kept = new Map<string, Marker>();
  private readonly served = new Set<string>();
  /** The served markers, as BZPOPMIN and the sweep name them (rebuilt when a Worker comes or closes). */
  private keys: string[] = [];
  private running = false;
  private closed = false;
  private loop: Promise<void> | null = null;

  /**
   * @param blocking a connection of the wake-ups' own (it blocks; close() ends it)
   * @param commands a connection to hand back a marker popped for a Worker that has since closed
   */
  constructor(
    private readonly blocking: RedisClient,
    private readonly commands: RedisClient,
    private readonly logger: Logger,
    private readonly timing: { blockSeconds: number; watchdogGraceMs: number } = {
      blockSeconds: BLOCK_SECONDS,
      watchdogGraceMs: WATCHDOG_GRACE_MS,
    },
  ) {
    blocking.defineCommand('xenopsSweepMarkers', { lua: SWEEP });
  }

  /**
   * Waits on markerKey from the next blocking wait on (wakeupBackend calls it with each Worker's own marker key).
   * The queue's lists must sit beside it (`…:marker`, `…:wait`, `…:prioritized`, as BullMQ names them): the sweep
   * finds them there.
   */
  serve(markerKey: string, lists?: { wait: string; prioritized: string }): void {
    const base = markerKey.slice(0, -'marker'.length);
    if (!markerKey.endsWith(':marker') || (lists && (lists.wait !== `${base}wait` || lists.prioritized !== `${base}prioritized`)))
      throw new Error(`worker wake-ups: ${markerKey} is not named as BullMQ names a queue's marker beside its lists`);
    if (this.closed || this.served.has(markerKey)) return;
    this.served.add(markerKey);
    this.keys = [...this.served];
  }

  start(): void {
    if (this.running || this.closed || this.keys.length === 0) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * What a Worker's blocking wait on markerKey returns: a marker popped for it (at once if one was kept), or null
   * after timeoutSeconds; it fails as a closed connection when interrupted (pause, close), when the Worker's marker
   * was released, or once the wake-ups are closed. A wait before start() is answered once the loop runs.
   */
  wait(markerKey: string, timeoutSeconds: number): Promise<Marker | null> {
    const kept = this.kept.get(markerKey);
    if (kept) {
      this.kept.delete(markerKey);
      return Promise.resolve(kept);
    }
    if (this.closed || !this.served.has(markerKey)) return Promise.reject(closed());
    // One wait per Worker at a time (BullMQ guards it); a second one would replace the first, which is interrupted.
    this.interrupt(markerKey);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.settle(markerKey, null), Math.max(0, timeoutSeconds * 1000));
      this.waiters.set(markerKey, { resolve, reject, timer });
    });
  }

  /** The marker kept for the Worker of markerKey, handed over at its next wait (null when none). */
  keptMarker(markerKey: string): Marker | null {
    const kept = this.kept.get(markerKey);
    return kept ? { ...kept } : null;
  }

  /**
   * Ends the Worker's current wait as disconnecting its own blocking connection did (pause, close): with BullMQ's
   * "Connection is closed", on which the Worker does not look for a job but goes round its loop (and sees it is
   * paused or closing).
   */
  interrupt(markerKey: string): void {
    // An error is made only for a wait there is (every wait interrupts the one before it, which is usually none).
    if (this.waiters.has(markerKey)) this.settle(markerKey, closed());
  }

  /**
   * The Worker of markerKey has closed: its wait ends, its marker is no longer waited on, and a marker popped for it
   * is handed back to Redis so that another agent serving the host is woken by it.
   */
  async release(markerKey: string): Promise<void> {
    if (!this.served.delete(markerKey)) return;
    this.keys = [...this.served];
    this.interrupt(markerKey);
    const kept = this.kept.get(markerKey);
    this.kept.delete(markerKey);
    if (kept) await this.giveBack(markerKey, kept);
  }

  private async giveBack(markerKey: string, marker: Marker): Promise<void> {
    await this.commands.zadd(markerKey, 'NX', marker.score, marker.member).catch((error: unknown) => {
      this.logger.debug({ err: String(error) }, 'worker wake-ups: could not hand a marker back');
    });
  }

  private settle(markerKey: string, outcome: Marker | null | Error): boolean {
    const waiter = this.waiters.get(markerKey);
    if (!waiter) return false;
    this.waiters.delete(markerKey);
    clearTimeout(waiter.timer);
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
    return true;
  }

  private deliver(markerKey: string, marker: Marker): void {
    if (!this.served.has(markerKey)) {
      // Popped by a wait sent before its Worker closed.
      void this.giveBack(markerKey, marker);
      return;
    }
    if (this.settle(markerKey, marker)) return;
    const kept = this.kept.get(markerKey);
    if (!kept || marker.score < kept.score) this.kept.set(markerKey, marker);
  }

  private async run(): Promise<void> {
    while (this.running && this.keys.length > 0) {
      try {
        const keys = this.keys;
        const popped = await this.blockingPop(keys);
        if (!this.running) {
          // Kept, so that close() hands it back to Redis.
          if (popped && popped !== 'stuck') this.deliver(popped[0], { member: popped[1], score: Number(popped[2]) });
          return;
        }
        if (popped === 'stuck') {
          this.logger.warn('worker wake-ups: the blocking wait did not answer; reconnecting');
          this.blocking.disconnect(true);
          continue;
        }
        if (!popped) continue;
        // A Worker waiting for this marker gets it at once, before the sweep: its look starts a round trip sooner
        // (/list p50 −0.14 to −0.19 ms, two stacks measured in turns). Since the scripts that hand out jobs take their
        // marker back when no other job waits (quiet() below), a marker popped for an idle Worker has a job behind it
        // but for a race with another look. One popped for a busy Worker (most of them, under load) is kept only if the
        // sweep found a job behind it then: kept unchecked, a stale one would cost a look that finds nothing.
        const marker = { member: popped[1], score: Number(popped[2]) };
        const handed = this.served.has(popped[0]) && this.settle(popped[0], marker);
        // The Worker's look (its moveToActive) goes out first: sent now, the sweep's script would be written ahead of it
        // and run ahead of it in Redis, on the job's critical path.
        if (handed) await new Promise<void>((resolve) => setImmediate(resolve));
        let swept: (number | string)[] | 'stuck';
        const back = (key: string) => (!(handed && key === popped[0]) && this.putsBack(key) ? '1' : '0');
        // Watched as the pop is: a sweep sent on a connection that has gone silent would hold the loop for ever.
        const sweep = (this.blocking as unknown as Sweeper).xenopsSweepMarkers(
          keys.length,
          ...keys,
          popped[0],
          popped[1],
          popped[2],
          back(popped[0]),
          keys.map(back).join(''),
        );
        try {
          swept = (await watchBlocking(this.blocking, sweep, 0, this.timing.watchdogGraceMs, () => this.running)) as
            | (number | string)[]
            | 'stuck';
        } catch (error) {
          // Unchecked, it is delivered all the same: a look that may find nothing beats a job left waiting.
          if (!handed) this.deliver(popped[0], marker);
          throw error;
        }
        if (swept === 'stuck') {
          if (!handed) this.deliver(popped[0], marker);
          // ioredis sends it again after the reconnect: the markers it pops then are delivered, not lost.
          void sweep.then(
            (late) => this.deliverSwept(keys, late as (number | string)[]),
            () => {},
          );
          if (!this.running) return;
          this.logger.warn('worker wake-ups: the marker sweep did not answer; reconnecting');
          this.blocking.disconnect(true);
          continue;
        }
        if (!handed && Number(swept[0]) === 1) this.deliver(popped[0], marker);
        this.deliverSwept(keys, swept);
      } catch (error) {
        if (!this.running) return;
        this.logger.debug({ err: String(error) }, 'worker wake-ups: blocking wait failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /**
   * Whether a marker popped for markerKey's Worker goes back into Redis as well as being kept: when the Worker cannot
   * take it now (it is not waiting) and has none kept. Kept only here, it was lost to another agent serving the host
   * (its BZPOPMIN waits on the same key): with this one's slots all taken, a job waited for them to free up, or for
   * the other's wait to time out, while the other sat idle. Only the first is put back: this agent's own next pop
   * takes it again if no other agent does, and then keeps it (two busy agents pass one marker round once, not for
   * ever); a marker handed to a waiting Worker is never written back.
   */
  private putsBack(markerKey: string): boolean {
    return this.served.has(markerKey) && !this.waiters.has(markerKey) && !this.kept.has(markerKey);
  }

  /** The other markers a sweep popped that count (after its first element, index then score for each). */
  private deliverSwept(keys: readonly string[], swept: readonly (number | string)[]): void {
    for (let i = 1; i + 1 < swept.length; i += 2) {
      const key = keys[Number(swept[i]) - 1];
      if (key) this.deliver(key, { member: '0', score: Number(swept[i + 1]) });
    }
  }

  /**
   * BZPOPMIN over every marker, watched (see watchBlocking): when it is stuck, the loop resets the connection.
   */
  private async blockingPop(keys: readonly string[]): Promise<[string, string, string] | null | 'stuck'> {
    const { blockSeconds, watchdogGraceMs } = this.timing;
    const pop = this.blocking.bzpopmin(...keys, blockSeconds) as Promise<[string, string, string] | null>;
    const first = await watchBlocking(this.blocking, pop, blockSeconds * 1000, watchdogGraceMs, () => this.running);
    // An abandoned pop may still be answered (ioredis re-sends it after the reconnect): what it pops is delivered
    // unchecked rather than lost.
    if (first === 'stuck')
      void pop.then(
        (late) => {
          if (late) this.deliver(late[0], { member: late[1], score: Number(late[2]) });
        },
        () => {},
      );
    return first;
  }

  /** Stops the loop, ends every wait with null and closes the blocking connection (the wake-ups' own). */
  async close(): Promise<void> {
    this.running = false;
    this.closed = true;
    for (const key of [...this.waiters.keys()]) this.interrupt(key);
    this.blocking.disconnect();
    await this.loop?.catch(() => {});
    await Promise.all([...this.kept].map(([key, marker]) => this.giveBack(key, marker)));
    this.kept.clear();
  }
}

function closed(): Error {
  return new ConnectionClosedError();
}

interface Sweeper {
  xenopsSweepMarkers(numberOfKeys: number, ...keysThenArgs: (string | number)[]): Promise<unknown>;
}

/**
 * BullMQ's Redis backend for an agent's Workers with no blocking connection of their own: each Worker's wait for
 * a job goes through the shared WorkerWakeups (its command connection is the shared one it is given).
 */
export function wakeupBackend(wakeups: WorkerWakeups, unannounced: readonly string[] = []): BackendFactory<RedisQueueBackend> {
  return (name, opts) => {
    // Before the backend loads BullMQ's scripts on the Workers' client (it keeps a command defined there already).
    if (opts.connection instanceof Redis || opts.connection instanceof Cluster) quietScripts(opts.connection, unannounced);
    const backend = createRedisBackend(name, opts, { withBlockingConnection: false });
    // BullMQ's own name for the queue's marker: the wake-ups wait on exactly the key its scripts write.
    const marker = backend.keys['marker'] as string;
    wakeups.serve(marker, { wait: backend.keys['wait'] as string, prioritized: backend.keys['prioritized'] as string });
    const close = backend.close.bind(backend);
    const patched: Partial<IQueueBackend> = {
      waitForJob: (blockTimeout: number) => wakeups.wait(marker, blockTimeout),
      disconnectBlocking: async () => wakeups.interrupt(marker),
      reconnectBlocking: async () => {},
      close: async (force?: boolean) => {
        await wakeups.release(marker);
        await close(force);
      },
    };
    return Object.assign(backend, patched);
  };
}

/**
 * A BullMQ Worker for the shared wake-ups (give it `wakeupBackend`'s backend). After it takes a job, BullMQ's Worker
 * looks for another at once to fill a free slot: at concurrency 2, with jobs coming one at a time, that is a
 * moveToActive per job that finds nothing — a third of the agent's script calls and a sixth of its CPU under load,
 * spent while the job it took waits for the CPU. This one waits for a wake-up instead: every job that enters the wait
 * list sets its queue's marker (moveToActive sets it again whenever it hands one out), and the wake-ups deliver every
 * marker set while a job is waiting, so a second job waiting then wakes the free slot one Redis round trip later.
 * What it gives up: a retry due (a delayed job) while the other slot runs is started when that job finishes (its
 * moveToFinished promotes and fetches it) or at the wait's timeout, not at the due time.
 */
export class WokenWorker extends Worker {
  protected override async nextJobFromJobData(jobData?: JobJson, jobId?: string, token?: string): Promise<Job> {
    const job = await super.nextJobFromJobData(jobData, jobId, token);
    // BullMQ's own flag (private in its types): a drained Worker waits for a marker before it looks again.
    if (job) (this as unknown as { drained: boolean }).drained = true;
    return job;
  }
}

/**
 * A BullMQ script that hands out jobs (moveToActive; moveToFinished below), run as it is, and then one step more: when
 * it has handed out a job and no other job waits, the wake-up marker it has just set (BullMQ sets it after every job
 * it hands out, so that other Workers look too) is taken away again, in the same script. Redis only wakes a blocked BZPOPMIN after a script ends, and
 * only for a key that still holds something: the wake-ups are no longer woken after every job for a marker their
 * sweep would drop — a pop, a sweep naming every served queue, and a new pop naming them all, per job (at 1,000
 * hosts, some 3,000 key names sent and looked up in Redis for nothing).
 */
function quiet(script: { content: string }, markerKey: number, unannounced: readonly string[]): string {
  // Both scripts name the queue's wait list KEYS[1] and its prioritized set KEYS[3]; a job handed out comes back as
  // {job fields, id, …} (anything else: none was).
  return `local function bullmqScript()
${withoutStartEvents(script.content, unannounced)}
end
local result = bullmqScript()
if type(result) == 'table' and type(result[1]) == 'table' and redis.call('LLEN', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[3]) == 0 then
  redis.call('ZREM', KEYS[${markerKey}], '0')
end
return result`;
}

/**
 * BullMQ's moveToFinished, likewise (quiet(moveToFinished, 14)): when it has fetched the Worker's next job (it does
 * whenever it may, to spare a round trip) it sets the marker as moveToActive does. Without the wrapper, every job
 * fetched that way woke the wake-ups for nothing, and a Worker waiting at that moment (the other slot) was handed a
 * marker with no job behind it: a look that finds nothing.
 */
const QUIET_SCRIPTS = [
  [moveToActive, 11],
  [moveToFinished, 14],
] as const;

/**
 * Defines the quiet moveToActive and moveToFinished on the client the Workers share, under the names BullMQ gives its
 * own (BullMQ defines its commands only where none is yet), once per client. wakeupBackend does it for a Workers'
 * client given as one.
 */
function quietScripts(client: RedisClient, unannounced: readonly string[]): void {
  for (const [script, markerKey] of QUIET_SCRIPTS) {
    const name = `${script.name}:${bullmqVersion}`;
    if (!(name in client)) client.defineCommand(name, { numberOfKeys: script.keys, lua: quiet(script, markerKey, unannounced) });
  }
  // The third script that hands out jobs: a job put back for a retry after a backoff (a read's transport error) fetches
  // the Worker's next one, whose start a read must not announce there either. Its marker is left as BullMQ sets it.
  const delayed = `${moveToDelayed.name}:${bullmqVersion}`;
  if (unannounced.length > 0 && !(delayed in client))
    client.defineCommand(delayed, { numberOfKeys: moveToDelayed.keys, lua: withoutStartEvents(moveToDelayed.content, unannounced) });
}
