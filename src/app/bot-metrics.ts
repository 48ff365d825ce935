import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * How a command ended, as counted by `xenops_commands_total`. `overtaken`: a scheduled tick that posted nothing, a
 * later tick of its schedule having posted already (its hosts' outcomes are the later tick's to count).
 */
export type CommandOutcome = 'ok' | 'error' | 'refused' | 'needs-approval' | 'overtaken';

/** BullMQ job states whose counts are exported per host queue. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

export interface BotMetricSources {
  hosts: readonly string[];
  /** One host queue's job counts (BullMQ getJobCounts). */
  queueCounts(host: string): Promise<Partial<Record<QueueState, number>>>;
  approvalsPending(): Promise<number>;
  /** Whether each host has a live agent (from the heartbeats). */
  agentsAlive(): Promise<Record<string, boolean>>;
}

/** Reads on scrape are cached this long, and each gives up after READ_TIMEOUT_MS (a Redis outage must not hang /metrics). */
const CACHE_MS = 5_000;
const READ_TIMEOUT_MS = 1_500;

/**
 * The bot's metrics, in a registry of its own (never prom-client's global one, so tests can run several bots):
 * commands by name and outcome (counted where a request ends), and, read from Redis when scraped (cached 5 s),
 * queue depths per host, approvals pending and agents alive per host; plus Node's process metrics.
 */
export class BotMetrics {
  readonly registry: Registry;
  private readonly commands: Counter<'command' | 'outcome'>;
  private sources: BotMetricSources | null = null;
  private cache: { at: number; value: Promise<Snapshot> } | null = null;

  constructor(registry: Registry = new Registry(), options: { processMetrics?: boolean } = {}) {
    this.registry = registry;
    if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
    this.commands = new Counter({
      name: 'xenops_commands_total',
      help: 'Commands handled (typed, clicked, or run by a schedule), by command and outcome (ok, error, refused, needs-approval, overtaken: a scheduled tick that posted nothing, a later one having posted); an approved request counts again when it ends',
      labelNames: ['command', 'outcome'],
      registers: [registry],
    });
    const snapshot = () => this.snapshot();
    new Gauge({
      name: 'xenops_queue_jobs',
      help: 'Jobs in each host queue by state (BullMQ getJobCounts, read on scrape, cached 5 s)',
      labelNames: ['host', 'state'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        for (const [host, counts] of Object.entries(s.queues))
          for (const state of QUEUE_STATES) this.set({ host, state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'xenops_approvals_pending',
      help: 'Approval requests waiting for a decision',
      registers: [registry],
      async collect() {
        const s = await snapshot();
        // Unknown (Redis unreadable): NaN, never 0 (a gauge without labels cannot be left out) nor the last value.
        this.set(s.approvalsPending ?? Number.NaN);
      },
    });
    new Gauge({
      name: 'xenops_agent_up',
      help: '1 when the host has a live agent heartbeat, else 0',
      labelNames: ['host'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        this.reset();
        if (s.agents === null) return;
        for (const [host, alive] of Object.entries(s.agents)) this.set({ host }, alive ? 1 : 0);
      },
    });
  }

  /** Where the scraped values come from: set by the bot once its stores exist. */
  attach(sources: BotMetricSources): void {
    this.sources = sources;
    this.cache = null;
  }

  /** Counts one command's end. Callers pass a known command's name (or `unknown`): chat text must not make labels. */
  command(command: string, outcome: CommandOutcome): void {
    this.commands.inc({ command, outcome });
  }

  private snapshot(): Promise<Snapshot> {
    const now = Date.now();
    if (this.cache && now - this.cache.at < CACHE_MS) return this.cache.value;
    const value = this.read();
    this.cache = { at: now, value };
    return value;
  }

  private async read(): Promise<Snapshot> {
    const s = this.sources;
    if (!s) return { queues: {}, approvalsPending: null, agents: null };
    const queues: Snapshot['queues'] = {};
    const [counts, approvalsPending, agents] = await Promise.all([
      Promise.all(s.hosts.map(async (host) => [host, await within(s.queueCounts(host))] as const)),
      within(s.approvalsPending()),
      within(s.agentsAlive()),
    ]);
    for (const [host, c] of counts) if (c) queues[host] = c;
    return { queues, approvalsPending, agents };
  }
}

interface Snapshot {
  queues: Record<string, Partial<Record<QueueState, number>>>;
  approvalsPending: number | null;
  agents: Record<string, boolean> | null;
}

/** The value, or null when it failed or took longer than READ_TIMEOUT_MS (that series is left out of the scrape). */
async function within<T>(p: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), READ_TIMEOUT_MS);
    timer.unref();
  });
  try {
    return await Promise.race([p.catch(() => null), expired]);
  } finally {
    clearTimeout(timer);
  }
}
