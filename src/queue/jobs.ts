import { z } from 'zod';
import type { DomainDetail } from '../core/domain-detail.ts';
import { DomainName, HostName, TargetDomainName } from '../core/names.ts';
import type { DomainSample } from '../core/samples.ts';
import type {
  AutostartResult,
  ConsoleResult,
  DomainSummary,
  HostInfo,
  MigrateResult,
  PauseResult,
  RebootResult,
  StartResult,
  StopResult,
  ToolstackKind,
  UptimeTable,
} from '../core/xen.ts';

/**
 * Who asked, carried on every job so the agent can audit the job start and the outcome with the same person
 * and request the bot audited.
 */
export const JobMeta = z.strictObject({
  requestId: z.string().min(1),
  person: z.string().min(1),
  platform: z.string().min(1),
  userId: z.string().min(1),
  channelId: z.string().min(1),
  command: z.string().min(1),
  /**
   * Epoch ms after which an agent must not start this job (a mutation nobody picked up in time is withdrawn and
   * must never run later). Only checked on the first pickup: a resumed job goes on.
   */
  notAfter: z.number().int().positive().optional(),
  /**
   * An approved request is bound to the state it was requested in: the agent refuses to act when the domain is no
   * longer up (or down), was restarted (another domid) or is another guest (another UUID).
   */
  expect: z
    .strictObject({ up: z.boolean(), id: z.number().int().nullable(), uuid: z.string().nullable(), approvalId: z.string() })
    .optional(),
});
export type JobMeta = z.infer<typeof JobMeta>;

const base = { host: HostName, meta: JobMeta };

/** Every job the bot enqueues and the agent runs, one queue per host. `op` doubles as the BullMQ job name. */
export const JobData = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('domain.list'), ...base }),
  z.strictObject({ op: z.literal('host.info'), ...base }),
  z.strictObject({ op: z.literal('host.top'), ...base }),
  z.strictObject({ op: z.literal('host.status'), ...base }),
  z.strictObject({ op: z.literal('host.digest'), ...base, hours: z.number().int().min(1).max(168) }),
  z.strictObject({ op: z.literal('domain.start'), ...base, domain: TargetDomainName }),
  z.strictObject({ op: z.literal('domain.stop'), ...base, domain: TargetDomainName, force: z.boolean() }),
  z.strictObject({ op: z.literal('domain.console'), ...base, domain: DomainName, lines: z.number().int().min(1).max(2000) }),
  z.strictObject({
    op: z.literal('domain.migrate'),
    ...base,
    domain: TargetDomainName,
    target: HostName,
    /**
     * A plan's step (/evacuate, /rebalance --run): the free memory the target must keep once the guest lands
     * (fleet.memoryReserveMiB). The agent reads the target's free_memory right before sending the migration and
     * refuses, sending nothing, when the guest no longer fits with it. Absent (/migrate): not checked.
     */
    keepFreeMiB: z.number().int().min(0).optional(),
  }),
  z.strictObject({ op: z.literal('host.uptime'), ...base }),
  z.strictObject({ op: z.literal('domain.autostart'), ...base, domain: TargetDomainName, enable: z.boolean() }),
  z.strictObject({ op: z.literal('domain.reboot'), ...base, domain: TargetDomainName, force: z.boolean() }),
  z.strictObject({ op: z.literal('domain.pause'), ...base, domain: TargetDomainName }),
  z.strictObject({ op: z.literal('domain.unpause'), ...base, domain: TargetDomainName }),
  z.strictObject({ op: z.literal('domain.show'), ...base, domain: DomainName }),
]);
export type JobData = z.infer<typeof JobData>;
export type JobOp = JobData['op'];
export const JOB_OPS = JobData.options.map((o) => o.shape.op.value) as JobOp[];

/** The domain a job is about, if it is about one. */
export function jobDomain(data: JobData): string | undefined {
  return 'domain' in data ? data.domain : undefined;
}

/** The hosts a job acts on: its own, and a migration's target. */
export function hostsOfJob(
  j: { host: string } & ({ op: 'domain.migrate'; target: string } | { op: Exclude<JobOp, 'domain.migrate'> }),
): string[] {
  return j.op === 'domain.migrate' ? [j.host, j.target] : [j.host];
}

export interface HostStatus {
  reachable: true;
  toolstack: ToolstackKind;
  domainsByStatus: Partial<Record<DomainSummary['status'], number>>;
  totalMemoryMiB: number | null;
  freeMemoryMiB: number | null;
  xenVersion: string | null;
  /**
   * Every guest (defined ones too; Domain-0, the host, neither here nor in the counts — older agents counted it):
   * what a status post compares with its last one. Absent from older agents.
   */
  domains?: { name: string; uuid: string | null; status: DomainSummary['status']; memoryMiB: number | null; autostart?: boolean }[];
  /** What could not be read (a list line of an unexpected shape): left out of the counts, and said. */
  notes?: string[];
  /**
   * Every guest of the live sampler's latest iteration, busiest first by CPU%, and when it was taken; null = no
   * sample. A null CPU% is not known yet (the domain's first sample): listed after the known ones. Older agents sent
   * their 10 (or posts.topDomains) busiest only.
   */
  busiest?: { name: string; cpuPercent: number | null; memoryKiB: number; nameCut?: true }[];
  sampledAt?: number | null;
  /** The agent's config turns its live sampling off (`sampling.enabled: false`): no sample will come. */
  samplingOff?: true;
}

/** One domain's figures over the digest's window. */
export interface DigestRow {
  name: string;
  /** From the sampler's history: null when no sample covered it. */
  peakCpuPercent: number | null;
  avgCpuPercent: number | null;
  /** From `xl uptime`: null when the domain is not running. */
  uptimeSeconds: number | null;
  /** Restarts the sampler saw (CPU time reset, or back after being gone). */
  restarts: number;
}

/** Structured results (never chat text), keyed by op. The bot's commands render them. */
export interface JobResults {
  /** `notes`: what could not be read while listing (said to the user, never guessed); absent from older agents. */
  'domain.list': { host: string; toolstack: ToolstackKind; domains: DomainSummary[]; notes?: string[] };
  'host.info': { host: string; toolstack: ToolstackKind; info: HostInfo; notes?: string[] };
  /**
   * live = the sampler's latest iteration (taken at `sampledAt`, with rates); otherwise a one-shot xentop run just
   * now (no stream up), whose single iteration has no rates. `notes`: what of its output could not be read (said,
   * never an empty or partial table alone); absent from older agents.
   */
  'host.top': { host: string; live: boolean; sampledAt: number; domains: DomainSample[]; notes?: string[] };
  /** `unreadUptime`: lines of `xl uptime` that could not be read (those domains' uptime shows -); absent from older agents. */
  'host.digest': {
    host: string;
    hours: number;
    since: number;
    points: number;
    domains: DigestRow[];
    unreadUptime?: { command: string; lines: string[] };
  };
  'host.status': { host: string } & HostStatus;
  'domain.start': { host: string } & StartResult;
  'domain.stop': { host: string } & StopResult;
  'domain.console': { host: string; domain: string } & ConsoleResult;
  'domain.migrate': { host: string } & MigrateResult;
  'host.uptime': { host: string; toolstack: ToolstackKind } & UptimeTable;
  'domain.autostart': { host: string } & AutostartResult;
  'domain.reboot': { host: string } & RebootResult;
  'domain.pause': { host: string } & PauseResult;
  'domain.unpause': { host: string } & PauseResult;
  'domain.show': { host: string; toolstack: ToolstackKind } & DomainDetail;
}
export type JobResult<Op extends JobOp = JobOp> = JobResults[Op];

/**
 * Whether a step's outcome ends a plan (jobs run one after another): a failure, or a migration whose guest moved but
 * does not run on its target (crashed or paused as it arrived). The plan's point, every guest running elsewhere, is
 * missed already, and the next guests would go to the same targets, which may be why it crashed: the operator looks
 * first. It is not a failure for the rest (the guest did move; the fleet view and the reply say where).
 */
export function endsPlan(o: { ok: true; result: unknown } | { ok: false }): boolean {
  const outcome = o.ok ? (o.result as Partial<MigrateResult> | null)?.outcome : undefined;
  // Running on neither host after it reported success (running-nowhere): as missed, and the cause as likely shared.
  return !o.ok || outcome === 'arrived-not-running' || outcome === 'running-nowhere';
}

/** What `job.updateProgress` carries. */
export const JobProgress = z.object({ stage: z.string(), message: z.string(), percent: z.number().min(0).max(100).optional() });
export type JobProgress = z.infer<typeof JobProgress>;

/**
 * How a failed job explains itself to the bot: BullMQ keeps only `failedReason` (a string), so the agent
 * throws errors whose message is this JSON, and the bot decodes it.
 */
export interface JobFailure {
  code:
    | 'transport'
    | 'hostKey'
    | 'outcomeUnknown'
    | 'remote'
    | 'domain.notFound'
    | 'domain.protected'
    /** Running on another host: starting it here would run it twice. */
    | 'domain.elsewhere'
    /** Another request holds the domain's lock. */
    | 'locked'
    /** Not picked up before its deadline: nothing was done, and it will not run later. */
    | 'withdrawn'
    | 'rejected'
    | 'internal';
  message: string;
  /**
   * The host it is about when that may not be the job's own: the target a migration could not reach. A reply labels
   * the failure with it, so the source is not called unreachable for its target.
   */
  host?: string;
}

export function encodeJobFailure(failure: JobFailure): string {
  return JSON.stringify(failure);
}

export function decodeJobFailure(reason: string | undefined): JobFailure {
  if (reason) {
    try {
      const parsed = JSON.parse(reason) as Partial<JobFailure>;
      if (typeof parsed.code === 'string' && typeof parsed.message === 'string') return parsed as JobFailure;
    } catch {
      // not ours: a BullMQ-level reason such as "job stalled more than allowable limit"
    }
  }
  return { code: 'internal', message: reason || 'the job failed without a reason' };
}
