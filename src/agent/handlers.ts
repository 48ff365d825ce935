import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { digestFigures } from '../core/digest.ts';
import { OutcomeUnknownError, RemoteCommandError, UserError } from '../core/errors.ts';
import { sameGuest } from '../core/fleet-view.ts';
import { DOM0_NAME } from '../core/names.ts';
import { byCpuPercent, type DomainSample, type HistoryPoint, type HostSample } from '../core/samples.ts';
import type { JournalEntry } from '../queue/coordination.ts';
import { describeIncoming } from '../queue/incoming-migrations.ts';
import type { HostStatus, JobData, JobOp, JobResult } from '../queue/jobs.ts';
import type { IncomingGate } from './incoming-hold.ts';
import { memoryFromInfo } from './parsers/info.ts';
import { xentopUnreadNote } from './parsers/xentop.ts';
import { type CpuBaseline, cpuBaseline, cpuPercentOf } from './sampling.ts';
import type { DomainSummary, OperationContext, Toolstack, TopRow } from './toolstack/types.ts';

/** What a handler gets besides its job's data. */
export interface HandlerContext {
  config: Config;
  /** The driver of any configured host (one per host, `toolstack: auto` detected once), all over the same pool. */
  toolstack(host: string): Promise<Toolstack>;
  /** Progress, cancellation and the beforeIssue hook (the agent's journal write) for the driver. */
  op: OperationContext;
  /**
   * Set when the job was resumed after its agent died with the mutating command possibly sent: the handler reads
   * the state back (the driver's verify*) and never sends the command again. Its `issuedAt` is on this machine's clock
   * (processJob converts it from the journal's, which is the shared one), as the driver waits and compares locally.
   */
  resume?: JournalEntry;
  /** The live sampler's figures (absent when sampling is off): /top and /status answer from them at once. */
  samples?: SampleSource;
  /** Epoch ms on the deployment's shared clock (src/queue/shared-clock.ts), for times the bot compares. */
  now?: () => number;
  /** The hosts the bots' config has (FleetHosts), for the checks across the fleet; null when none is known. */
  fleetHosts?: () => Promise<readonly string[] | null>;
  /**
   * One migration arriving at a target at a time (src/queue/incoming-migrations.ts), from its free-memory check to
   * its read-back; absent, two migrations may judge the same free memory at once.
   */
  incoming?: IncomingGate;
}

export interface SampleSource {
  /** The latest iteration of the host's xentop stream, or null when none is fresh (stream down, sampling off). */
  latest(host: string): HostSample | null;
  /** The host's history since the given epoch ms, oldest first. */
  history(host: string, sinceMs: number): Promise<HistoryPoint[]>;
}

export type JobOf<Op extends JobOp> = Extract<JobData, { op: Op }>;
export type Handler<Op extends JobOp> = (data: JobOf<Op>, ctx: HandlerContext) => Promise<JobResult<Op>>;

/**
 * One entry per job op: adding an op means its JobData shape (src/queue/jobs.ts), its registry entry
 * (src/queue/ops.ts) and a handler here. Mutating handlers must honour `ctx.resume` and pass `ctx.op` (with its
 * beforeIssue hook) to the driver call that sends the command; the journal, locks and deadline are the caller's.
 */
export const HANDLERS: { [Op in JobOp]: Handler<Op> } = {
  'domain.list': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    const { domains, notes } = await ts.inventory(ctx.op);
    return { host: data.host, toolstack: ts.kind, domains, ...(notes.length > 0 ? { notes } : {}) };
  },
  'host.info': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    const { info, notes } = await ts.info(ctx.op);
    return { host: data.host, toolstack: ts.kind, info, ...(notes.length > 0 ? { notes } : {}) };
  },
  'host.top': async (data, ctx) => {
    const live = ctx.samples?.latest(data.host);
    if (live)
      return {
        host: data.host,
        live: true,
        sampledAt: live.at,
        domains: live.domains,
        ...(live.unread ? { notes: [xentopUnreadNote(live.unread.lines, live.unread.first)] } : {}),
      };
    const ts = await ctx.toolstack(data.host);
    const { rows, previous, notes, cut } = await ts.topTable(ctx.op);
    const before = cpuBaseline(previous);
    return {
      host: data.host,
      live: false,
      sampledAt: (ctx.now ?? Date.now)(),
      domains: rows.map((r) => (cut?.includes(r.name) ? { ...toSample(r, before), nameCut: true as const } : toSample(r, before))),
      ...(notes.length > 0 ? { notes } : {}),
    };
  },
  'host.digest': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    // The sampler keeps `historyHours`: asked for more, the figures cover that much, and the answer says so.
    const hours = Math.min(data.hours, ctx.config.sampling.historyHours);
    const from = (ctx.now ?? Date.now)() - hours * 3_600_000;
    const [points, uptimes] = await Promise.all([ctx.samples?.history(data.host, from) ?? Promise.resolve([]), ts.uptime(ctx.op)]);
    const { seconds, unparsed } = uptimes;
    // The uptimes tell a restart the history cannot (an idle guest's whole CPU seconds never go backwards).
    const figures = new Map(digestFigures(points, { now: (ctx.now ?? Date.now)(), seconds }).map((f) => [f.name, f]));
    const names = [...new Set([...figures.keys(), ...Object.keys(seconds)])];
    const domains = names.map((name) => ({
      name,
      peakCpuPercent: figures.get(name)?.peakCpuPercent ?? null,
      avgCpuPercent: figures.get(name)?.avgCpuPercent ?? null,
      // Own keys only: a guest named `constructor` would otherwise read Object's.
      uptimeSeconds: Object.hasOwn(seconds, name) ? (seconds[name] ?? null) : null,
      restarts: figures.get(name)?.restarts ?? 0,
    }));
    // From the oldest window's start: a history begun later (sampling started since) covers less than `hours`.
    const oldest = points[0];
    const since = oldest ? Math.max(from, oldest.at - ctx.config.sampling.historyEverySeconds * 1000) : from;
    return {
      host: data.host,
      hours,
      since,
      points: points.length,
      domains,
      ...(unparsed.length > 0 ? { unreadUptime: { command: `${ts.kind} uptime`, lines: unparsed } } : {}),
    };
  },
  'host.status': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    const { info, domains, notes } = await ts.infoAndList(ctx.op);
    const live = ctx.samples?.latest(data.host) ?? null;
    // The busiest are ranked from the sample: a guest whose row xentop's output garbled would be left out unsaid.
    if (live?.unread) notes.push(xentopUnreadNote(live.unread.lines, live.unread.first));
    // Domain-0 is the host, not a guest: counted, it made an admin's "running" one more than a scoped person's (the
    // bot takes it out of their list, and so of their counts).
    const guests = domains.filter((d) => d.name !== DOM0_NAME);
    const byStatus: HostStatus['domainsByStatus'] = {};
    for (const d of guests) byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
    const mem = memoryFromInfo(info);
    const version =
      info['xen_version'] ?? (info['xen_major'] ? `${info['xen_major']}.${info['xen_minor'] ?? '?'}${info['xen_extra'] ?? ''}` : null);
    return {
      host: data.host,
      reachable: true,
      toolstack: ts.kind,
      domainsByStatus: byStatus,
      totalMemoryMiB: mem.totalMiB,
      freeMemoryMiB: mem.freeMiB,
      xenVersion: version,
      ...(notes.length > 0 ? { notes } : {}),
      domains: guests.map((d) => ({
        name: d.name,
        uuid: d.uuid ?? null,
        status: d.status,
        memoryMiB: d.memoryMiB,
        ...(d.autostart === undefined ? {} : { autostart: d.autostart !== null }),
      })),
      // Every sampled guest, not the host's first N: the bot leaves out those a scoped person may not see, and one
      // whose guests all ranked below the cut was told no guest was sampled (the planner read them as 0 % too).
      busiest: live
        ? [...live.domains]
            .filter((d) => d.name !== DOM0_NAME)
            .sort(byCpuPercent)
            .map((d) => ({
              name: d.name,
              cpuPercent: d.cpuPercent,
              memoryKiB: d.memoryKiB,
              ...(d.nameCut ? { nameCut: true as const } : {}),
            }))
        : [],
      sampledAt: live?.at ?? null,
      ...(ctx.config.sampling.enabled ? {} : { samplingOff: true as const }),
    };
  },
  'domain.console': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    const snapshot = await ts.consoleSnapshot(data.domain, data.lines, ctx.op).catch((error: unknown) => {
      throw attachRefusal(error, data.domain, data.host) ?? error;
    });
    return { host: data.host, domain: data.domain, ...snapshot };
  },
  'domain.start': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    if (ctx.resume) return { host: data.host, ...(await ts.verifyStart(data.domain, ctx.op)) };
    const op: OperationContext = {
      ...ctx.op,
      // Right before `xl create`, after the local checks passed: the fleet-wide check, then the journal write.
      beforeIssue: async (step) => {
        await refuseIfRunningElsewhere(data.domain, data.host, step.before, ctx);
        // The fleet-wide check leaves this host out: here too a migration's copy may run under xl's temporary name.
        await refuseIfMigrating(ts, data.domain, data.host, 'started', ctx, { strict: true });
        await ctx.op.beforeIssue?.(step);
      },
    };
    return { host: data.host, ...(await ts.start(data.domain, op)) };
  },
  'domain.stop': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    if (ctx.resume)
      return { host: data.host, ...(await ts.verifyStop(data.domain, { force: data.force, issuedAt: ctx.resume.issuedAt }, ctx.op)) };
    return { host: data.host, ...(await ts.stop(data.domain, { force: data.force }, ctx.op)) };
  },
  'domain.migrate': async (data, ctx) => {
    // Own keys only: a job naming `constructor` (from a bot before this check) is no configured host.
    const target = Object.hasOwn(ctx.config.hosts, data.target) ? ctx.config.hosts[data.target] : undefined;
    if (!target) throw new UserError('host.unknown', `unknown target host ${data.target}`);
    if (data.target === data.host) throw new UserError('args.invalid', `${data.domain} is already on ${data.host}`);
    const ts = await ctx.toolstack(data.host);
    const verify = async (): Promise<DomainSummary[]> => (await ctx.toolstack(data.target)).list(signalOnly(ctx.op));
    if (ctx.resume) return { host: data.host, ...(await ts.verifyMigrate(data.domain, { host: data.target, verify }, ctx.op)) };
    // xl migrate streams to xl migrate-receive over ssh, xm migrate to xend's relocation port: neither reaches the other.
    const targetKind = (await ctx.toolstack(data.target)).kind;
    if (targetKind !== ts.kind)
      throw new UserError(
        'args.invalid',
        `${data.domain} cannot be migrated from ${data.host} (${ts.kind}) to ${data.target} (${targetKind}): xl migrate and xm migrate speak different protocols (xl streams to xl migrate-receive over ssh, xm talks to xend's relocation port); nothing was sent`,
      );
    // A plan's step keeps the fleet's reserve there; a single /migrate, whose target the operator chose, needs room
    // for the guest alone. Both hold the target alike: either one's copy is invisible to the other's check until built.
    const keep = data.keepFreeMiB ?? 0;
    let release: ((leave?: boolean) => Promise<void>) | null = null;
    let unknown = false;
    const op: OperationContext = {
      ...ctx.op,
      // Right before `xl migrate`, after the local checks passed: the target to itself, its room now, then the
      // journal write. Held until the read-back: another migration checking meanwhile would not yet see this copy
      // (built on the target only once xl's ssh transport reaches migrate-receive) and take the same room.
      beforeIssue: async (step) => {
        release =
          (await ctx.incoming?.hold(
            {
              token: `${data.meta.requestId}/${data.domain}/${randomUUID()}`,
              requestId: data.meta.requestId,
              person: data.meta.person,
              command: data.meta.command,
              domain: data.domain,
              host: data.host,
              target: data.target,
            },
            {
              signal: ctx.op.signal,
              onWait: (other) =>
                ctx.op.onProgress?.({
                  stage: 'check',
                  message: `waiting: ${data.target} is receiving ${describeIncoming(other)}; its free memory for ${data.domain} is read once that has arrived`,
                }),
            },
          )) ?? null;
        // Another run of this job may have held the target before this one, and migrated the guest meanwhile:
        // its room, judged now with the guest counted there, would refuse what that run did.
        await ctx.op.refuseIfSentElsewhere?.();
        await refuseIfNoRoom(data.domain, data.target, step.before, keep, ctx);
        await ctx.op.beforeIssue?.(step);
      },
    };
    try {
      return {
        host: data.host,
        ...(await ts.migrate(data.domain, { host: data.target, address: target.migrateAddress ?? target.address, verify }, op)),
      };
    } catch (error) {
      // Unanswered (xl migrate may still run on the source) or cut off by the agent's stop: the copy may still be
      // building on the target, so its hold lapses on its own (TTL) instead of being let go now.
      unknown = error instanceof OutcomeUnknownError || !!ctx.op.signal?.aborted;
      throw error;
    } finally {
      await (release as ((leave?: boolean) => Promise<void>) | null)?.(unknown);
    }
  },
  'host.uptime': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    return { host: data.host, toolstack: ts.kind, ...(await ts.uptimeTable(ctx.op)) };
  },
  'domain.autostart': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    if (ctx.resume) return { host: data.host, ...(await ts.verifyAutostart(data.domain, data.enable, ctx.op)) };
    const op: OperationContext = data.enable
      ? {
          ...ctx.op,
          // Right before `ln -s`, after the local checks passed: the fleet-wide check, then the journal write.
          beforeIssue: async (step) => {
            await refuseIfAutostartElsewhere(data.domain, data.host, ctx);
            await ctx.op.beforeIssue?.(step);
          },
        }
      : ctx.op;
    return { host: data.host, ...(await ts.autostart(data.domain, data.enable, op)) };
  },
  'domain.reboot': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    if (ctx.resume)
      return {
        host: data.host,
        ...(await ts.verifyReboot(
          data.domain,
          { force: data.force, issuedAt: ctx.resume.issuedAt, previousId: ctx.resume.before.id },
          ctx.op,
        )),
      };
    const r = await ts.reboot(data.domain, { force: data.force }, ctx.op);
    if (r.outcome === 'not-running') await refuseIfMigrating(ts, data.domain, data.host, 'rebooted', ctx);
    return { host: data.host, ...r };
  },
  'domain.pause': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    if (ctx.resume) return { host: data.host, ...(await ts.verifyPause(data.domain, true, ctx.op)) };
    const r = await ts.pause(data.domain, true, ctx.op);
    if (r.outcome === 'not-running') await refuseIfMigrating(ts, data.domain, data.host, 'paused', ctx);
    return { host: data.host, ...r };
  },
  'domain.unpause': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    if (ctx.resume) return { host: data.host, ...(await ts.verifyPause(data.domain, false, ctx.op)) };
    const r = await ts.pause(data.domain, false, ctx.op);
    if (r.outcome === 'not-running') await refuseIfMigrating(ts, data.domain, data.host, 'unpaused', ctx);
    return { host: data.host, ...r };
  },
  'domain.show': async (data, ctx) => {
    const ts = await ctx.toolstack(data.host);
    return { host: data.host, toolstack: ts.kind, ...(await ts.show(data.domain, ctx.op)) };
  },
};

/**
 * A guest "not running" here may be running under xl's migration names: NAME--migratedaway on the source once the
 * target has acknowledged the transfer (and after a failed final handshake), NAME--incoming on the target from the
 * start of the copy. Its config file alone then reads as a
 * defined domain, and "not running — /start it" would have the operator create a second copy on the same disks.
 * Read only on that answer, so an ordinary reboot or pause costs no extra round trip.
 */
async function refuseIfMigrating(
  ts: Toolstack,
  domain: string,
  host: string,
  verb: string,
  ctx: Pick<HandlerContext, 'op'>,
  /** Before a create: a list that cannot be read refuses (its error), as a partition is when a second copy hurts. */
  options: { strict?: boolean } = {},
): Promise<void> {
  // Otherwise a read after an answer already made: a failed read leaves that answer as it was.
  const read = ts.list(signalOnly(ctx.op));
  const domains = options.strict ? await read : await read.catch(() => null);
  const temp = domains?.find((d) => d.status !== 'defined' && (d.name === `${domain}--migratedaway` || d.name === `${domain}--incoming`));
  if (temp)
    throw new UserError(
      'domain.state',
      `${domain} is not on ${host} under its own name, but ${temp.name} is (${temp.status}): a migration of ${domain} is under way or was left unfinished — nothing was ${verb}; look at both hosts (xl list) before acting on it`,
    );
}

/**
 * A migration is sent only if the target still has room for it: a plan's figures were read when the plan was made,
 * maybe minutes before (an approval, the steps before it), a /migrate's were never read, and the target may have
 * filled since — a guest started there, another migration arriving (xl builds the arriving copy, NAME--incoming, with
 * its memory at the start of the copy, so free_memory counts it). Read now: `xl info`'s free_memory on the target
 * must hold the guest's memory (as `xl list` showed it just before) plus `keep` (a plan's reserve; 0 for a /migrate).
 * Unknown figures refuse too: a migration is never sent blindly.
 */
async function refuseIfNoRoom(
  domain: string,
  targetHost: string,
  here: DomainSummary | null,
  keep: number,
  ctx: Pick<HandlerContext, 'toolstack' | 'op'>,
): Promise<void> {
  ctx.op.onProgress?.({ stage: 'check', message: `checking the free memory of ${targetHost} for ${domain}` });
  const memory = here?.memoryMiB ?? null;
  let free: number | null = null;
  let why = '';
  try {
    const { info, notes } = await (await ctx.toolstack(targetHost)).info(signalOnly(ctx.op));
    free = memoryFromInfo(info).freeMiB;
    if (free === null) why = notes.length > 0 ? notes.join('; ') : 'it printed no free_memory';
  } catch (error) {
    why = error instanceof Error ? error.message : String(error);
  }
  if (free === null)
    throw new UserError(
      'domain.state',
      `the free memory of ${targetHost} could not be read right before migrating ${domain} there (${why}) — not migrated; nothing was sent`,
    );
  if (memory === null)
    throw new UserError(
      'domain.state',
      `the memory of ${domain} could not be read right before migrating it — not migrated; nothing was sent`,
    );
  if (free - memory < keep)
    throw new UserError(
      'domain.state',
      `${targetHost} has ${free} MiB free now: ${domain} (${memory} MiB) ${
        free < memory ? 'does not fit there' : `would leave it ${free - memory} MiB`
      }${keep > 0 ? `, under the ${keep} MiB it must keep free (fleet.memoryReserveMiB)` : ''} — not migrated; nothing was sent`,
    );
}

/**
 * xenconsole's refusals of the snapshot's `xl console` attach, in words: its raw lines name a lock file or a xenstore
 * read, which tell an operator nothing about what to do (shared/xen-toolstack.md §5). null: not one of them.
 */
function attachRefusal(error: unknown, domain: string, host: string): UserError | null {
  if (!(error instanceof RemoteCommandError) || !error.argv.includes('console')) return null;
  if (/Could not lock \S*xenconsole/.test(error.stderr))
    return new UserError(
      'domain.state',
      `the console of ${domain} on ${host} is in use: someone is attached to it (xl console), and xenconsole serves one client at a time — try again once they detach, or enable xenconsoled logging (XENCONSOLED_TRACE=guest) so /console reads its log instead`,
    );
  if (/Could not read tty from store/.test(error.stderr))
    return new UserError(
      'domain.state',
      `${domain} has no console on ${host} yet: xenconsoled has set up no pty for it (a guest still being built, or one without a PV console)`,
    );
  return null;
}

/** A one-shot xentop row as a sample: one iteration has no rates (they need two); `before`: the iteration before it. */
function toSample(r: TopRow, before: CpuBaseline | null): DomainSample {
  return {
    name: r.name,
    state: r.state,
    cpuPercent: cpuPercentOf(r, before),
    cpuSeconds: r.cpuSeconds,
    memoryKiB: r.memoryKiB,
    maxMemoryKiB: r.maxMemoryKiB,
    vcpus: r.vcpus,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

/** Dispatches a job to its handler. */
export function runHandler<Op extends JobOp>(data: JobOf<Op>, ctx: HandlerContext): Promise<JobResult<Op>> {
  return (HANDLERS[data.op] as Handler<Op>)(data, ctx);
}

/**
 * Fleet-wide running-once: reads every other configured host (in parallel, through the same pool) and refuses when
 * the domain is up there — same UUID when both sides report one, else the same name (xm hosts and defined-only
 * domains have no UUID, so in practice a start compares names), including xl's mid-migration names. A host that
 * cannot be read refuses too: a partition is exactly when a double start corrupts disks.
 */
export async function refuseIfRunningElsewhere(
  domain: string,
  host: string,
  local: DomainSummary | null,
  ctx: Pick<HandlerContext, 'config' | 'toolstack' | 'op' | 'fleetHosts'>,
): Promise<void> {
  const self = { name: domain, uuid: local?.uuid ?? null };
  const leftovers = new Set([`${domain}--incoming`, `${domain}--migratedaway`]);
  const reads = await readOthers(host, ctx, `for ${domain}`);
  for (const r of reads) {
    if (r.domains?.some((d) => d.status !== 'defined' && (sameGuest(d, self) || leftovers.has(d.name))))
      throw new UserError('domain.elsewhere', `${domain} is running on ${r.host} — starting it on ${host} would run it twice`, {
        host: r.host,
      });
  }
  const unreadable = reads.filter((r) => r.domains === undefined);
  if (unreadable.length > 0)
    throw new UserError(
      'domain.elsewhere',
      `cannot confirm ${domain} is not running on ${unreadable.map(whyUnread).join(', ')}: not starting it`,
      {
        hosts: unreadable.map((r) => r.host),
        reasons: reads.map((r) => (r.error instanceof Error ? r.error.message : r.error === undefined ? null : String(r.error))),
      },
    );
}

/** Another host as read for a check across the fleet: its domains, or why they could not be read. */
interface OtherHost {
  host: string;
  domains?: DomainSummary[];
  error?: unknown;
  /** In the bots' config, not in this agent's: it cannot be read from here. */
  unknownHere?: true;
}

/**
 * Every other host of the fleet, read in parallel through the same pool: the agent's config's, and those the bots'
 * config has beside them — an agent whose config lacks one would otherwise leave it out of the check, and a guest
 * running there could be started here a second time.
 */
async function readOthers(
  host: string,
  ctx: Pick<HandlerContext, 'config' | 'toolstack' | 'op' | 'fleetHosts'>,
  what: string,
): Promise<OtherHost[]> {
  const mine = Object.keys(ctx.config.hosts);
  const fleet = (await ctx.fleetHosts?.().catch(() => null)) ?? [];
  const unknown = fleet.filter((h) => h !== host && !mine.includes(h));
  const others = mine.filter((h) => h !== host);
  if (others.length + unknown.length === 0) return [];
  ctx.op.onProgress?.({ stage: 'check', message: `checking ${[...others, ...unknown].join(', ')} ${what}` });
  const reads = await Promise.all(
    others.map(async (h): Promise<OtherHost> => {
      try {
        return { host: h, domains: await (await ctx.toolstack(h)).list(signalOnly(ctx.op)) };
      } catch (error) {
        return { host: h, error };
      }
    }),
  );
  return [...reads, ...unknown.map((h): OtherHost => ({ host: h, unknownHere: true }))];
}

function whyUnread(r: OtherHost): string {
  return `${r.host} (${r.unknownHere ? "not in this agent's config, though the bot's has it" : 'unreachable'})`;
}

/**
 * One autostart per guest across the fleet: reads every other configured host (in parallel, through the same pool)
 * and refuses when one of them already starts a domain of this name at boot — after a power cut both would create
 * it, running it twice. A host that cannot be read, or whose /etc/xen/auto could not be read, refuses too. Names of
 * hosts the asker may not see are redacted by the bot ("another host").
 */
export async function refuseIfAutostartElsewhere(
  domain: string,
  host: string,
  ctx: Pick<HandlerContext, 'config' | 'toolstack' | 'op' | 'fleetHosts'>,
): Promise<void> {
  const reads = await readOthers(host, ctx, `for an autostart of ${domain}`);
  for (const r of reads) {
    const there = r.domains?.find((d) => d.name === domain && d.autostart);
    if (there?.autostart)
      throw new UserError(
        'domain.elsewhere',
        `${domain} already starts with ${r.host} (${there.autostart.path} there) — autostarting it on ${host} too would boot it twice after a power cut; turn it off on ${r.host} first`,
        { host: r.host },
      );
  }
  const unknown = reads.flatMap((r) => (r.domains === undefined ? [whyUnread(r)] : []));
  for (const r of reads)
    if (r.domains?.some((d) => d.autostart === undefined)) unknown.push(`${r.host} (its /etc/xen/auto could not be read)`);
  if (unknown.length > 0)
    throw new UserError(
      'domain.elsewhere',
      `cannot confirm ${domain} does not already start with ${unknown.join(', ')}: not turning autostart on`,
      {
        hosts: unknown,
        reasons: reads.map((r) => (r.error instanceof Error ? r.error.message : r.error === undefined ? null : String(r.error))),
      },
    );
}

/** Reading another host: cancellation only (no progress, and never the beforeIssue hook). */
function signalOnly(op: OperationContext): OperationContext {
  return op.signal ? { signal: op.signal } : {};
}
