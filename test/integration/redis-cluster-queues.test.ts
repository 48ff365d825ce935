import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { type JobEvent, JobEventReader } from '../../src/app/job-events.ts';
import { JobQueues } from '../../src/app/job-queues.ts';
import type { JobData } from '../../src/queue/jobs.ts';
import { hostQueueName } from '../../src/queue/names.ts';
import { UNANNOUNCED_OPS } from '../../src/queue/quiet-events.ts';
import { BullConnection, createRedisClient, duplicateRedisClient, type RedisClient } from '../../src/queue/redis-connection.ts';
import { WokenWorker, WorkerWakeups, wakeupBackend } from '../../src/queue/worker-wakeups.ts';
import { clusterWithBotClient } from '../helpers/redis-cluster.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * The queue paths with BullMQ's scripts rewritten (quiet-events.ts) on a three-master Redis Cluster, connections made
 * as the bot and the agent make theirs: the bot's add (addStandardJob less a read's "added"/"waiting"), the agent's
 * Workers on the shared wake-ups (moveToActive and moveToFinished wrapped, moveToDelayed for a read's retry), and the
 * bot's one XREAD over every host's event stream (JobEventReader, which on a Cluster names every stream).
 */
const scene = clusterWithBotClient();
const hosts = ['h1', 'h2', 'h3'];

const target = () => ({ url: scene.cluster.urls[0] as string, cluster: true });
const meta = (requestId: string, command: string) => ({
  requestId,
  person: 'alice',
  platform: 'terminal',
  userId: 'alice',
  channelId: 'terminal',
  command,
});

/** The bot's reader of the hosts' event streams, as createBot makes it (its blocking connection of its own). */
function eventReader(events: JobEvent[], botRedis?: RedisClient): JobEventReader {
  return new JobEventReader(
    createRedisClient(target(), { maxRetriesPerRequest: null }),
    scene.prefix,
    hosts.map(hostQueueName),
    (e) => events.push(e),
    quietLogger,
    { blockMs: 1_000, watchdogGraceMs: 2_000 },
    botRedis,
  );
}

describe('quiet BullMQ scripts and the event XREAD on a Redis Cluster', () => {
  it('adds, hands out, retries and completes reads and mutations on every host; the reader sees each end, and a read announces only it', async () => {
    // The bot's side.
    const { cluster, prefix, redis: botRedis } = scene;
    const botBull = new BullConnection(target());
    const queues = new JobQueues(hosts, botBull.client, prefix, quietLogger);
    const events: JobEvent[] = [];
    const reader = eventReader(events, botRedis);
    // The agent's side.
    const agentRedis: RedisClient = createRedisClient(target(), { maxRetriesPerRequest: 1 });
    const agentBull = new BullConnection(target());
    const wakeups = new WorkerWakeups(duplicateRedisClient(agentRedis, { maxRetriesPerRequest: null }), agentRedis, quietLogger);
    const backend = wakeupBackend(wakeups, UNANNOUNCED_OPS);
    const attempts = new Map<string, number>();
    const workers = hosts.map(
      (host) =>
        new WokenWorker(
          hostQueueName(host),
          async (job: Job) => {
            const n = (attempts.get(job.id ?? '') ?? 0) + 1;
            attempts.set(job.id ?? '', n);
            // A read that fails its first attempt: put back for a retry (moveToDelayed), then done.
            if (job.id?.startsWith('retry-') && n === 1) throw new Error('transport error');
            return { host, op: job.name };
          },
          { connection: agentBull.forWorkers, prefix, concurrency: 2, autorun: false, stalledInterval: 60_000 },
          backend,
        ),
    );
    const failures: string[] = [];
    for (const w of workers) w.on('error', (e) => failures.push(e.message));
    try {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      for (const w of workers) void w.run();
      wakeups.start();
      await reader.start();

      const jobs = hosts.flatMap((host) => [
        { data: { op: 'domain.list', host, meta: meta('r1', 'list') } as JobData, jobId: `read-${host}` },
        { data: { op: 'domain.list', host, meta: meta('r2', 'list') } as JobData, jobId: `retry-${host}` },
        { data: { op: 'domain.start', host, domain: 'web', meta: meta('r3', 'start') } as unknown as JobData, jobId: `start-${host}` },
      ]);
      await queues.add(jobs);
      const ended = (id: string) => events.some((e) => e.jobId === id && e.event === 'completed');
      await expect.poll(() => jobs.filter((j) => !ended(j.jobId)).map((j) => j.jobId), { timeout: 15_000, interval: 100 }).toEqual([]);
      expect(failures).toEqual([]);
      for (const host of hosts) {
        expect(events.find((e) => e.jobId === `read-${host}` && e.event === 'completed')?.returnvalue).toEqual({
          host,
          op: 'domain.list',
        });
        expect(attempts.get(`retry-${host}`)).toBe(2);
        const stream = await botBull.client.xrange(`${prefix}:${hostQueueName(host)}:events`, '-', '+');
        const of = (id: string) => stream.filter(([, f]) => f[3] === id).map(([, f]) => f[1]);
        // A read: its end only (and a retry's own "failed"/"delayed" steps); a mutation: every event.
        expect(of(`read-${host}`)).toEqual(['completed']);
        expect(of(`retry-${host}`)).not.toContain('active');
        expect(of(`retry-${host}`)).not.toContain('added');
        expect(of(`retry-${host}`)).toContain('completed');
        expect(of(`start-${host}`)).toEqual(expect.arrayContaining(['added', 'waiting', 'active', 'completed']));
      }
      // Nothing of the run anywhere but on the owner of the prefix's slot.
      const { index } = await cluster.ownerOf(prefix);
      for (const other of [0, 1, 2].filter((i) => i !== index)) expect(await cluster.node(other).dbsize()).toBe(0);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await wakeups.close();
      await reader.stop();
      await queues.close();
      agentRedis.disconnect();
      agentBull.close();
      botBull.close();
    }
  }, 30_000);

  it('goes on after the prefix’s slot moves to another master (MOVED): adds, hand-outs and the event read follow it', async () => {
    const { cluster, prefix } = scene;
    const botBull = new BullConnection(target());
    const queues = new JobQueues(hosts, botBull.client, prefix, quietLogger);
    const events: JobEvent[] = [];
    const reader = eventReader(events);
    const agentRedis: RedisClient = createRedisClient(target(), { maxRetriesPerRequest: 1 });
    const agentBull = new BullConnection(target());
    const wakeups = new WorkerWakeups(duplicateRedisClient(agentRedis, { maxRetriesPerRequest: null }), agentRedis, quietLogger);
    const backend = wakeupBackend(wakeups, UNANNOUNCED_OPS);
    const workers = hosts.map(
      (host) =>
        new WokenWorker(
          hostQueueName(host),
          async () => ({ host }),
          {
            connection: agentBull.forWorkers,
            prefix,
            concurrency: 2,
            autorun: false,
            stalledInterval: 60_000,
          },
          backend,
        ),
    );
    const ended = (id: string) => events.some((e) => e.jobId === id && e.event === 'completed');
    const round = async (name: string) => {
      const jobs = hosts.map((host) => ({
        data: { op: 'domain.list', host, meta: meta(name, 'list') } as JobData,
        jobId: `${name}-${host}`,
      }));
      await queues.add(jobs);
      await expect.poll(() => jobs.filter((j) => !ended(j.jobId)).map((j) => j.jobId), { timeout: 15_000, interval: 100 }).toEqual([]);
    };
    try {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      for (const w of workers) void w.run();
      wakeups.start();
      await reader.start();
      await round('before');
      const from = (await cluster.ownerOf(prefix)).index;
      const to = (from + 1) % 3;
      await moveSlot(from, to);
      expect((await cluster.ownerOf(prefix)).index).toBe(to);
      await round('after');
      expect(await cluster.node(from).dbsize()).toBe(0);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await wakeups.close();
      await reader.stop();
      await queues.close();
      agentRedis.disconnect();
      agentBull.close();
      botBull.close();
    }
  }, 40_000);
});

/** Moves the prefix's slot, and every key in it, from one master to another, as redis-cli --cluster reshard does. */
async function moveSlot(from: number, to: number): Promise<void> {
  const { cluster, prefix } = scene;
  const { slot } = await cluster.ownerOf(prefix);
  const src = cluster.node(from);
  const dst = cluster.node(to);
  const id = async (i: number) => String(await cluster.node(i).call('CLUSTER', 'MYID'));
  const [srcId, dstId] = [await id(from), await id(to)];
  await dst.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', srcId);
  await src.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', dstId);
  for (;;) {
    const keys = (await src.call('CLUSTER', 'GETKEYSINSLOT', String(slot), '1000')) as string[];
    if (keys.length === 0) break;
    await src.call('MIGRATE', '127.0.0.1', String(cluster.ports[to]), '', '0', '5000', 'REPLACE', 'KEYS', ...keys);
  }
  for (const i of [to, from, 3 - from - to]) await cluster.node(i).call('CLUSTER', 'SETSLOT', String(slot), 'NODE', dstId);
}
