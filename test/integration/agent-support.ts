import { type Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { type Agent, type AgentTimings, startAgent } from '../../src/agent/agent.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { Config, type HostConfig } from '../../src/config/schema.ts';
import { DomainLocks, Heartbeats, Journal } from '../../src/queue/coordination.ts';
import { decodeJobFailure, type JobData, type JobFailure, type JobMeta, type JobResult } from '../../src/queue/jobs.ts';
import { hostQueueName, jobIdFor } from '../../src/queue/names.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { quietLogger, type SimEnv } from '../helpers/sim.ts';

/**
 * What the agent-*.test.ts suites share: a config for the simulator's hosts, per-host queues and their events on a
 * private Redis prefix, the coordination classes, and agents with fast timings (each on its own SSH pool, like a
 * separate process).
 */
export interface AgentRig {
  prefix: string;
  config: Config;
  redis: Redis;
  journal: Journal;
  locks: DomainLocks;
  heartbeats: Heartbeats;
  queue(host: string): Queue;
  /** Adds a job as the bot does (job id from the request id) and returns it. */
  enqueue(data: JobData, options?: { attempts?: number }): Promise<Job>;
  /** The job's result, or its decoded failure. */
  outcome(job: Job, ttlMs?: number): Promise<{ ok: true; result: JobResult } | { ok: false; failure: JobFailure }>;
  startAgent(options?: { timings?: Partial<AgentTimings>; pool?: SshPool; hosts?: string[] }): Promise<Agent>;
  /**
   * Kills an agent as far as one process can simulate it: its workers are force-closed (their BullMQ locks stop
   * being renewed, the jobs stay active) and its SSH connections are cut, so nothing of it completes or hands back.
   */
  die(agent: Agent): Promise<void>;
  /** Closes every agent started so far (at once: running jobs are handed back). */
  closeAgents(): Promise<void>;
  stop(): Promise<void>;
}

/** Short enough that a handed-on job is resumed within about a second. */
export const FAST: Partial<AgentTimings> = {
  lockDurationMs: 600,
  stalledIntervalMs: 300,
  maxStalledCount: 3,
  heartbeatMs: 100,
  domainLock: { ttlMs: 2000, renewMs: 200 },
  closeGraceMs: 200,
  driver: { readBack: { attempts: 10, delayMs: 30 }, pollMs: 50, resumeWaitMs: 5000 },
};

export function testConfig(env: SimEnv, prefix: string, hosts: Record<string, Partial<HostConfig>> = {}): Config {
  const merged: Record<string, HostConfig> = {};
  for (const [name, h] of Object.entries(env.hosts)) merged[name] = { ...h, toolstack: 'xl', ...(hosts[name] ?? {}) } as HostConfig;
  // These suites count the commands each host received: no sampler streams beside the jobs (it has its own suite).
  return Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: merged,
    agent: { concurrency: 2, heartbeatMs: 100 },
    sampling: { enabled: false },
  });
}

let requests = 0;
export function meta(overrides: Partial<JobMeta> = {}): JobMeta {
  return {
    requestId: `t${Date.now().toString(36)}${++requests}`,
    person: 'alice',
    platform: 'terminal',
    userId: 'alice',
    channelId: 'tty',
    command: 'start',
    ...overrides,
  };
}

export async function startRig(env: SimEnv, options: { hosts?: Record<string, Partial<HostConfig>> } = {}): Promise<AgentRig> {
  const prefix = uniquePrefix();
  const config = testConfig(env, prefix, options.hosts);
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const queues = new Map<string, Queue>();
  const events = new Map<string, QueueEvents>();
  const agents: Agent[] = [];
  const pools = new Map<Agent, SshPool>();
  const queue = (host: string) => {
    let q = queues.get(host);
    if (!q) {
      q = new Queue(hostQueueName(host), { connection: { url: REDIS_URL }, prefix });
      queues.set(host, q);
    }
    return q;
  };
  const queueEvents = async (host: string) => {
    let e = events.get(host);
    if (!e) {
      e = new QueueEvents(hostQueueName(host), { connection: { url: REDIS_URL }, prefix });
      events.set(host, e);
      await e.waitUntilReady();
    }
    return e;
  };
  for (const host of Object.keys(config.hosts)) await queueEvents(host);
  return {
    prefix,
    config,
    redis,
    journal: new Journal(redis, prefix),
    locks: new DomainLocks(redis, prefix),
    heartbeats: new Heartbeats(redis, prefix),
    queue,
    enqueue: (data, o = {}) =>
      queue(data.host).add(data.op, data, { jobId: jobIdFor(data.meta.requestId, data.host), attempts: o.attempts ?? 1 }),
    async outcome(job, ttlMs = 20_000) {
      try {
        return { ok: true, result: (await job.waitUntilFinished(await queueEvents(job.data.host), ttlMs)) as JobResult };
      } catch (error) {
        return { ok: false, failure: decodeJobFailure(error instanceof Error ? error.message : String(error)) };
      }
    },
    async startAgent(o = {}) {
      const pool = o.pool ?? env.pool();
      const agent = await startAgent({
        config,
        runner: pool,
        connection: REDIS_URL,
        prefix,
        logger: quietLogger,
        timings: { ...FAST, ...o.timings },
        ...(o.hosts ? { hosts: o.hosts } : {}),
      });
      agents.push(agent);
      pools.set(agent, pool);
      return agent;
    },
    async die(agent) {
      await Promise.all(agent.workers.map((w) => w.close(true)));
      await pools.get(agent)?.close();
    },
    async closeAgents() {
      await Promise.all(agents.splice(0).map((a) => a.close(0)));
    },
    async stop() {
      await Promise.all(agents.splice(0).map((a) => a.close(0)));
      await Promise.all([...queues.values()].map((q) => q.close()));
      await Promise.all([...events.values()].map((e) => e.close()));
      redis.disconnect();
      await deleteKeysWithPrefix(REDIS_URL, prefix);
    },
  };
}
