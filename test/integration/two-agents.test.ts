import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, type AgentTimings, startAgent } from '../../src/agent/agent.ts';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import type { JobData } from '../../src/queue/jobs.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { type AgentRig, FAST, meta, startRig } from './agent-support.ts';

/**
 * Scale-out with two agents on one Redis prefix, against the simulator: agents serving disjoint hosts each run only
 * their hosts' jobs; agents serving the same hosts share the jobs, each job taken by exactly one of them, and every
 * mutation reaches its host exactly once.
 */
let env: SimEnv;
let rig: AgentRig;
const agents: Agent[] = [];

/** Domains defined but not running: each one is started by one job, so no two mutations share a domain. */
const xen1Stopped = ['a1', 'vm00', 'vm01', 'vm02', 'vm03', 'vm04'];
const xen2Stopped = ['a2', 'vm05', 'vm06', 'vm07', 'vm08', 'vm09'];

/**
 * The rig's fast driver and heartbeat timings, but BullMQ's job lock as shipped: with a 600 ms lock, a worker starved
 * of CPU on a busy CI box could lose a job to the other agent's stalled check, which is BullMQ doing its job, not the
 * double processing this suite looks for.
 */
const TIMINGS: Partial<AgentTimings> = { ...FAST, lockDurationMs: 5_000, stalledIntervalMs: 3_000 };

/** What one agent did: the jobs its workers took and finished, and every command its runner sent. */
interface Tracked {
  agent: Agent;
  active: string[];
  completed: string[];
  failed: string[];
  commands: { host: string; command: string }[];
}

/** An agent in this process with an SSH pool of its own (as a separate agent process would have), watched. */
async function trackedAgent(name: string, hosts: string[]): Promise<Tracked> {
  const pool = env.pool();
  const commands: Tracked['commands'] = [];
  const runner: RemoteRunner = {
    run: (host, argv, options) => {
      commands.push({ host, command: argv.join(' ') });
      return pool.run(host, argv, options);
    },
  };
  const agent = await startAgent({
    config: rig.config,
    runner,
    connection: REDIS_URL,
    prefix: rig.prefix,
    logger: quietLogger,
    hosts,
    agentId: `${name}-${Math.random().toString(36).slice(2, 8)}`,
    timings: TIMINGS,
  });
  agents.push(agent);
  const tracked: Tracked = { agent, active: [], completed: [], failed: [], commands };
  for (const w of agent.workers) {
    w.on('active', (job: Job) => tracked.active.push(job.id ?? ''));
    w.on('completed', (job: Job) => tracked.completed.push(job.id ?? ''));
    w.on('failed', (job: Job | undefined) => tracked.failed.push(job?.id ?? ''));
  }
  return tracked;
}

function listJob(host: string): JobData {
  return { op: 'domain.list', host, meta: meta({ command: 'list' }) };
}

function startJob(host: string, domain: string): JobData {
  return { op: 'domain.start', host, domain, meta: meta({ command: 'start' }) };
}

/**
 * Adds every job at once and waits for all of them (every one must succeed), and for the agents' own 'completed'
 * events, which a worker emits only after the queue's event the outcome waits on.
 */
async function runAll(data: JobData[], by: Tracked[]): Promise<Job[]> {
  // All added at once: BullMQ's Queue adds a listener per add in flight.
  for (const host of ['xen1', 'xen2']) rig.queue(host).setMaxListeners(100);
  const jobs = await Promise.all(data.map((d) => rig.enqueue(d)));
  const outcomes = await Promise.all(jobs.map((j) => rig.outcome(j, 30_000)));
  expect(outcomes.filter((o) => !o.ok)).toEqual([]);
  await expect
    .poll(() => by.reduce((n, t) => n + t.completed.length + t.failed.length, 0), { timeout: 10_000 })
    .toBeGreaterThanOrEqual(jobs.length);
  return jobs;
}

const creates = (host: string, domain: string) => env.sim.log.query({ host, match: new RegExp(`\\bcreate\\b.*/${domain}\\.cfg`) }).length;
/** The simulator lists running domains only (a defined one is just its config file). */
const running = (host: string, domain: string) => env.sim.fleet.host(host).domains.some((d) => d.name === domain);

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          domains: [
            { name: 'web', memoryMiB: 1024, vcpus: 1, running: true },
            ...xen1Stopped.map((name) => ({ name, memoryMiB: 256, vcpus: 1, running: false })),
          ],
        },
        xen2: {
          toolstack: 'xl',
          domains: [
            { name: 'files', memoryMiB: 1024, vcpus: 1, running: true },
            ...xen2Stopped.map((name) => ({ name, memoryMiB: 256, vcpus: 1, running: false })),
          ],
        },
      },
    },
  });
  rig = await startRig(env);
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close(0)));
});

afterAll(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close(0)));
  await rig?.stop();
  await env?.stop();
});

describe('two agents serving disjoint hosts', () => {
  it('each runs only its own hosts’ jobs, and the heartbeats say which agent serves which host', async () => {
    const a = await trackedAgent('agent-a', ['xen1']);
    const b = await trackedAgent('agent-b', ['xen2']);
    expect(a.agent.workers.map((w) => w.name)).toEqual(['host-xen1']);
    expect(b.agent.workers.map((w) => w.name)).toEqual(['host-xen2']);

    const reads = [...Array.from({ length: 6 }, () => listJob('xen1')), ...Array.from({ length: 6 }, () => listJob('xen2'))];
    const jobs = await runAll([...reads, startJob('xen1', 'a1'), startJob('xen2', 'a2')], [a, b]);
    const idsOf = (host: string) => jobs.filter((j) => j.data.host === host).map((j) => j.id ?? '');

    expect(a.completed.sort()).toEqual(idsOf('xen1').sort());
    expect(b.completed.sort()).toEqual(idsOf('xen2').sort());
    expect([...a.failed, ...b.failed]).toEqual([]);
    // The mutations went to the serving agent's host only, once each (the other host is only read, for the
    // fleet-wide "runs at most once" check before `xl create`).
    expect(a.commands.filter((c) => /\bcreate\b/.test(c.command)).map((c) => c.host)).toEqual(['xen1']);
    expect(b.commands.filter((c) => /\bcreate\b/.test(c.command)).map((c) => c.host)).toEqual(['xen2']);
    expect(creates('xen1', 'a1')).toBe(1);
    expect(creates('xen2', 'a2')).toBe(1);
    expect(running('xen1', 'a1') && running('xen2', 'a2')).toBe(true);

    const beats = await rig.heartbeats.all();
    expect(beats['xen1']?.agentId).toBe(a.agent.agentId);
    expect(beats['xen2']?.agentId).toBe(b.agent.agentId);
  });
});

describe('two agents serving the same hosts', () => {
  it('40 reads and 10 mutations on different domains: each job is taken by exactly one agent, each command sent once', async () => {
    const a = await trackedAgent('agent-a', ['xen1', 'xen2']);
    const b = await trackedAgent('agent-b', ['xen1', 'xen2']);
    const mutations = [
      ...xen1Stopped.filter((d) => d.startsWith('vm')).map((d) => startJob('xen1', d)),
      ...xen2Stopped.filter((d) => d.startsWith('vm')).map((d) => startJob('xen2', d)),
    ];
    const reads = Array.from({ length: 40 }, (_, i) => listJob(i % 2 === 0 ? 'xen1' : 'xen2'));
    expect(mutations).toHaveLength(10);
    const since = env.sim.log.lastSeq;

    // Interleaved, so both agents' workers on both queues are busy at once.
    const data = reads.flatMap((r, i) => (i % 4 === 0 && mutations[i / 4] ? [r, mutations[i / 4] as JobData] : [r]));
    const jobs = await runAll(data, [a, b]);
    const ids = jobs.map((j) => j.id ?? '');
    expect(new Set(ids).size).toBe(50);

    // Exactly one agent took each job, once, and finished it; none failed or was taken again.
    const taken = [...a.active, ...b.active];
    expect(taken.sort()).toEqual([...ids].sort());
    expect(a.active.filter((id) => b.active.includes(id))).toEqual([]);
    expect([...a.completed, ...b.completed].sort()).toEqual([...ids].sort());
    expect([...a.failed, ...b.failed]).toEqual([]);
    // Both took a share (they really compete for the same queues).
    expect(a.completed.length).toBeGreaterThan(0);
    expect(b.completed.length).toBeGreaterThan(0);

    // Every mutation reached its host exactly once, sent by one agent; every domain is up.
    for (const m of mutations as Extract<JobData, { op: 'domain.start' }>[]) {
      expect(env.sim.log.query({ host: m.host, since, match: new RegExp(`\\bcreate\\b.*/${m.domain}\\.cfg`) })).toHaveLength(1);
      const sentBy = [a, b].filter((t) =>
        t.commands.some((c) => c.host === m.host && new RegExp(`\\bcreate\\b.*/${m.domain}\\.cfg`).test(c.command)),
      );
      expect(sentBy).toHaveLength(1);
      expect(running(m.host, m.domain)).toBe(true);
    }
    expect(env.sim.log.query({ since, match: /\bcreate\b/ })).toHaveLength(10);
  });
});
