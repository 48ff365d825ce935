import type { Logger } from '../core/log.ts';
import type { HostSample } from '../core/samples.ts';
import { type GuestCopy, goingOn, type RunningTwice, runningTwice, writesNow } from '../core/split-brain.ts';
import type { FleetEventLog } from '../queue/fleet-events.ts';
import type { SampleStore } from '../queue/samples.ts';

export interface SplitBrainWatchDeps {
  /** Every host of the bot's config: the agents see only their own, so only the bot sees across them. */
  hosts: readonly string[];
  samples: Pick<SampleStore, 'latest'>;
  events: Pick<FleetEventLog, 'append' | 'runningTwiceSaid' | 'sayRunningTwice' | 'sayRunningOnce' | 'moveRunningTwice'>;
  /** The UUID of the guest of that name running on the host, as the bot last heard the host list it; null if unknown. */
  uuidOf(host: string, name: string): string | null;
  /** How often the samples are compared after a change was heard (see nudge): the sampling interval. */
  intervalMs: number;
  /**
   * How often they are compared otherwise (repeats, and anything a lost event did not tell). @defaultValue 60000
   */
  idleIntervalMs?: number;
  /** How often it is said again while it lasts. */
  repeatMs: number;
  logger: Logger;
  now?: () => number;
  /** Runs `run` once in `ms` unless cleared first (tests drive it by hand). @defaultValue setTimeout, unref'd */
  setTimer?: (run: () => void, ms: number) => { clear(): void };
}

/** Checks at the sampling pace after a change was heard: one to see it, one later sample to confirm it, and a spare. */
const FAST_CHECKS = 4;
const IDLE_INTERVAL_MS = 60_000;

/** What a check saw of one guest not yet taken as so: the hosts it ran on, and each involved host's sample time. */
interface Seen {
  hosts: string;
  ats: Map<string, number>;
}

/**
 * A guest running on two hosts at once (started by hand on a second host, a migration whose source copy was
 * resumed): the agents' latest samples of every host are compared each sampling interval, and a guest up on more
 * than one is put on the fleet events as `domain.running-twice` — the alert desk posts it, as it posts the agents'
 * events — said again each `repeatMs` while it lasts, and `domain.running-once` when it ends.
 *
 * A change (it began, ended, its hosts changed) is taken only once a later sample of each host involved shows it
 * too: samples of two hosts are taken apart in time, and a guest migrated by hand shows on both while the source's
 * sample is older than the move. A host with no fresh sample (unreachable, its agent down) leaves what was said as
 * it was. What was said is in Redis, so the bots that each run a desk (one per platform) say each change once.
 */
export class SplitBrainWatch {
  private timer: { clear(): void } | null = null;
  private checking: Promise<void> | null = null;
  private running = false;
  /** Checks still to make at the sampling pace: a change was heard, and a start or an end waits on a later sample. */
  private fast = 0;
  private readonly seen = new Map<string, Seen>();

  constructor(private readonly deps: SplitBrainWatchDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.fast = FAST_CHECKS;
    this.schedule();
  }

  /**
   * A guest started, stopped, appeared, vanished or moved somewhere (a fleet event): the samples are compared at the
   * sampling pace for a while. A comparison reads every host's latest sample — at 1,000 hosts some megabytes of JSON:
   * made every 5 s, the bot's RSS at rest read 147 MiB, 120 without (bench) — and a split brain only begins or ends
   * with such an event.
   */
  nudge(): void {
    if (!this.running) return;
    const idle = this.fast === 0;
    this.fast = FAST_CHECKS;
    if (idle && this.checking === null) this.schedule();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.clear();
    this.timer = null;
    await this.checking;
  }

  private schedule(): void {
    this.timer?.clear();
    const ms = this.fast > 0 ? this.deps.intervalMs : (this.deps.idleIntervalMs ?? IDLE_INTERVAL_MS);
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.fast = Math.max(0, this.fast - 1);
      this.checking = this.check()
        .catch((error: unknown) => this.deps.logger.warn({ err: String(error) }, 'split-brain watch: a check failed; tried again'))
        .finally(() => {
          this.checking = null;
          if (this.running) this.schedule();
        });
    }, ms);
  }

  private setTimer(run: () => void, ms: number): { clear(): void } {
    if (this.deps.setTimer) return this.deps.setTimer(run, ms);
    const t = setTimeout(run, ms);
    t.unref();
    return { clear: () => clearTimeout(t) };
  }

  /** One comparison of the hosts' latest samples. */
  async check(): Promise<void> {
    const { deps } = this;
    const latest = await deps.samples.latest(deps.hosts);
    const copies: GuestCopy[] = [];
    for (const host of deps.hosts) {
      const domains = latest[host]?.domains ?? [];
      // A name the sampler marks cut (xentop without -f, no list mapped it back) may be no guest's: two hosts whose
      // different guests are cut alike are no guest running twice.
      for (const d of domains) if (writesNow(d.state) && !d.nameCut) copies.push({ host, name: d.name, uuid: deps.uuidOf(host, d.name) });
    }
    const now = new Map(runningTwice(copies).map((t) => [t.key, t]));
    const said = await deps.events.runningTwiceSaid();
    // A copy renamed while it lasts: the same split brain under its new names, neither ended nor begun.
    for (const [from, to] of goingOn([...now.values()], said)) {
      const t = now.get(to) as RunningTwice;
      const moved = await deps.events.moveRunningTwice(from, to, uuidsToo(t.names, t.uuids));
      said.delete(from);
      this.seen.delete(from);
      if (moved) said.set(to, moved);
    }
    for (const key of new Set([...now.keys(), ...said.keys()])) {
      const found = now.get(key);
      const before = said.get(key);
      const involved = [...new Set([...(found?.hosts ?? []), ...(before?.hosts ?? [])])];
      // Not known on one of them: neither a start nor an end is said of what cannot be seen.
      if (involved.some((h) => !latest[h])) {
        this.seen.delete(key);
        continue;
      }
      const hosts = found?.hosts.join(',') ?? '';
      if (hosts === (before?.hosts.join(',') ?? '')) {
        this.seen.delete(key);
        if (found && before) await this.say(key, found, before.since, true);
        continue;
      }
      const ats = new Map(involved.map((h) => [h, (latest[h] as HostSample).at]));
      const last = this.seen.get(key);
      if (
        !last ||
        last.hosts !== hosts ||
        involved.some((h) => !(Number(ats.get(h)) > Number(last.ats.get(h) ?? Number.POSITIVE_INFINITY)))
      ) {
        if (!last || last.hosts !== hosts) this.seen.set(key, { hosts, ats });
        continue;
      }
      this.seen.delete(key);
      if (found) await this.say(key, found, before?.since ?? this.now(), false);
      else if (before && (await deps.events.sayRunningOnce(key))) {
        const runningOn = before.hosts.filter((h) => copies.some((c) => c.host === h && before.names.includes(c.name)));
        await deps.events.append({
          kind: 'domain.running-once',
          host: before.hosts[0] ?? '',
          hosts: before.hosts,
          domain: before.names[0] ?? '',
          names: before.names,
          runningOn,
          at: this.now(),
        });
      }
    }
    for (const key of this.seen.keys()) if (!now.has(key) && !said.has(key)) this.seen.delete(key);
  }

  private async say(key: string, { names, hosts, uuids }: RunningTwice, since: number, repeat: boolean): Promise<void> {
    // A repeat is of what this check read as said: another bot may have said its end since (then nothing is said).
    const said = { hosts, since, ...uuidsToo(names, uuids) };
    const r = await this.deps.events.sayRunningTwice(key, said, this.deps.repeatMs, repeat);
    if (r === null || (repeat && r !== 'repeat')) return;
    await this.deps.events.append({
      kind: 'domain.running-twice',
      host: hosts[0] ?? '',
      hosts,
      domain: names[0] ?? '',
      names,
      since,
      repeat: r === 'repeat',
      at: this.now(),
    });
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

/** Its names, and its UUIDs where any is known (Lua's cjson would write an empty list back as {}). */
function uuidsToo(names: string[], uuids: string[]): { names: string[]; uuids?: string[] } {
  return uuids.length > 0 ? { names, uuids } : { names };
}
