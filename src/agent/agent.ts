import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { Config } from '../config/schema.ts';
import { HostKeyError, OutcomeUnknownError, RemoteCommandError, TransportError, UserError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import { encodeJobFailure, type HostStatus, JobData, type JobFailure, type JobProgress, type JobResult } from '../queue/jobs.ts';
import { hostQueueName } from '../queue/names.ts';
import { memoryFromInfo } from './parsers/info.ts';
import type { RemoteRunner } from './ssh/types.ts';
import { detectToolstack, XenToolstack } from './toolstack/driver.ts';
import type { DomainSummary, Toolstack } from './toolstack/types.ts';

export interface StartAgentOptions {
  config: Config;
  runner: RemoteRunner;
  /** Redis URL. */
  connection: string;
  prefix: string;
  logger: Logger;
  /** Hosts served; default config.agent.hosts or every host. */
  hosts?: string[];
}

export interface Agent {
  workers: Worker[];
  /** Stops fetching, lets active jobs finish for up to graceMs, then force-closes (their jobs are re-run later). */
  close(graceMs?: number): Promise<void>;
}

/** Reuses one driver per host; `toolstack: auto` is detected once and cached. */
class Toolstacks {
  private readonly cache = new Map<string, Promise<Toolstack>>();
  constructor(
    private readonly config: Config,
    private readonly runner: RemoteRunner,
  ) {}

  get(host: string): Promise<Toolstack> {
    let t = this.cache.get(host);
    if (!t) {
      const h = this.config.hosts[host];
      if (!h) return Promise.reject(new UserError('host.unknown', `unknown host ${host}`));
      t = (h.toolstack === 'auto' ? detectToolstack(this.runner, host) : Promise.resolve(h.toolstack)).then(
        (kind) =>
          new XenToolstack(kind, this.runner, {
            name: host,
            configDirs: h.configDirs,
            consoleLogDir: h.consoleLogDir,
            shutdownTimeoutSeconds: h.shutdownTimeoutSeconds,
          }),
      );
      // A failed detection is retried on the next job rather than cached forever.
      t.catch(() => this.cache.delete(host));
      this.cache.set(host, t);
    }
    return t;
  }
}

/** Runs one job: structured results only, never chat text. */
export async function runJob(
  data: JobData,
  toolstacks: Toolstacks,
  config: Config,
  onProgress: (p: JobProgress) => void,
  signal?: AbortSignal,
): Promise<JobResult> {
  const ts = await toolstacks.get(data.host);
  const ctx = { onProgress, ...(signal ? { signal } : {}) };
  switch (data.op) {
    case 'domain.list':
      return { host: data.host, toolstack: ts.kind, domains: await ts.list(ctx) };
    case 'host.info':
      return { host: data.host, toolstack: ts.kind, info: await ts.info(ctx) };
    case 'host.top':
      return { host: data.host, rows: await ts.top(ctx) };
    case 'host.status': {
      const [info, domains] = await Promise.all([ts.info(ctx), ts.list(ctx)]);
      const byStatus: HostStatus['domainsByStatus'] = {};
      for (const d of domains) byStatus[d.status] = (byStatus[d.status] ?? 0) + 1;
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
      };
    }
    case 'domain.start':
      return { host: data.host, ...(await ts.start(data.domain, ctx)) };
    case 'domain.stop':
      return { host: data.host, ...(await ts.stop(data.domain, { force: data.force }, ctx)) };
    case 'domain.console':
      return { host: data.host, domain: data.domain, ...(await ts.consoleSnapshot(data.domain, data.lines, ctx)) };
    case 'domain.migrate': {
      const target = config.hosts[data.target];
      if (!target) throw new UserError('host.unknown', `unknown target host ${data.target}`);
      if (data.target === data.host) throw new UserError('args.invalid', `${data.domain} is already on ${data.host}`);
      const verify = async (): Promise<DomainSummary[]> => (await toolstacks.get(data.target)).list();
      return {
        host: data.host,
        ...(await ts.migrate(data.domain, { host: data.target, address: target.migrateAddress ?? target.address, verify }, ctx)),
      };
    }
    default:
      return data satisfies never;
  }
}

/** How an error travels back to the bot; UnrecoverableError where retrying cannot help. */
export function toJobError(error: unknown): Error {
  const failure = describeFailure(error);
  const retryable = failure.code === 'transport';
  return retryable ? new Error(encodeJobFailure(failure)) : new UnrecoverableError(encodeJobFailure(failure));
}

export function describeFailure(error: unknown): JobFailure {
  if (error instanceof HostKeyError) return { code: 'hostKey', message: error.message };
  if (error instanceof OutcomeUnknownError) return { code: 'outcomeUnknown', message: error.message };
  if (error instanceof TransportError) return { code: 'transport', message: error.message };
  if (error instanceof RemoteCommandError) return { code: 'remote', message: error.message };
  if (error instanceof UserError) {
    if (error.code === 'domain.notFound') return { code: 'domain.notFound', message: error.message };
    if (error.code === 'domain.protected') return { code: 'domain.protected', message: error.message };
    return { code: 'rejected', message: error.message };
  }
  return { code: 'internal', message: 'internal error in the agent (see its log)' };
}

/** One BullMQ worker per served host queue. */
export async function startAgent(options: StartAgentOptions): Promise<Agent> {
  const { config, logger } = options;
  const hosts = options.hosts ?? config.agent.hosts ?? Object.keys(config.hosts);
  const toolstacks = new Toolstacks(config, options.runner);
  const workers = hosts.map((host) => {
    const worker = new Worker(
      hostQueueName(host),
      async (job: Job, _token?: string, signal?: AbortSignal) => {
        const parsed = JobData.safeParse(job.data);
        if (!parsed.success)
          throw new UnrecoverableError(
            encodeJobFailure({ code: 'rejected', message: `invalid job: ${parsed.error.issues[0]?.message ?? 'bad shape'}` }),
          );
        if (parsed.data.host !== host)
          throw new UnrecoverableError(encodeJobFailure({ code: 'rejected', message: `job for ${parsed.data.host} on ${host}'s queue` }));
        const log = logger.child({ jobId: job.id, op: parsed.data.op, host, person: parsed.data.meta.person });
        log.info('job start');
        try {
          const result = await runJob(
            parsed.data,
            toolstacks,
            config,
            (p) => void job.updateProgress(p as unknown as object).catch(() => {}),
            signal,
          );
          log.info('job done');
          return result;
        } catch (error) {
          const wrapped = toJobError(error);
          log.warn({ err: error instanceof Error ? error.message : String(error) }, 'job failed');
          throw wrapped;
        }
      },
      {
        connection: { url: options.connection, maxRetriesPerRequest: null },
        prefix: options.prefix,
        concurrency: config.agent.concurrency,
        autorun: true,
      },
    );
    worker.on('error', (error) => logger.warn({ host, err: error.message }, 'worker error'));
    return worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  return {
    workers,
    async close(graceMs = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const graceful = Promise.all(workers.map((w) => w.close()));
      const expired = new Promise<'expired'>((resolve) => {
        timer = setTimeout(() => resolve('expired'), graceMs);
      });
      const outcome = await Promise.race([graceful.then(() => 'done' as const), expired]);
      clearTimeout(timer);
      if (outcome === 'expired') {
        logger.warn('agent: active jobs did not finish in time; force-closing (they will be re-run, and re-runs check state first)');
        await Promise.all(workers.map((w) => w.close(true)));
      }
    },
  };
}
