import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import { PendingStore } from '../../src/app/pending-store.ts';
import type { Config } from '../../src/config/schema.ts';
import type { JobData } from '../../src/queue/jobs.ts';
import { hostQueueName, jobIdFor } from '../../src/queue/names.ts';
import { CaptureAdapter, HeldQueuedReply } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

const prefix = uniquePrefix();

let env: SimEnv;
let config: Config;
let agent: Agent;

const request = (id: string, text: string, user = 'alice') => chatRequest(id, text, user);
/** The "queued" line sent at once, as before bot.queuedReplyDelayMs (the tests of what follows that line). */
const atOnce = (c: Config): Config => ({ ...c, bot: { ...c.bot, queuedReplyDelayMs: 0 } });
const target = (requestId: string) => targetOf(chatRequest(requestId, ''));

beforeAll(async () => {
  env = await startSimEnv({ shutdownDelayMs: 1500, timeScale: 0.1 });
  config = simBotConfig(env, prefix, REDIS_URL);
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
}, 30_000);

afterAll(async () => {
  await agent?.close(2_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('bot pipeline with the real agent, Redis and the simulator', () => {
  it('a redelivered request id adds no second job', async () => {
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    try {
      await bot.core.handle(request('dup-1', 'list xen2'), target('dup-1'));
      await bot.core.handle(request('dup-1', 'list xen2'), target('dup-1'));
      await adapter.finalReply('dup-1');
      const queue = new Queue(hostQueueName('xen2'), { connection: { url: REDIS_URL }, prefix });
      const jobs = (await queue.getJobs(['completed', 'active', 'waiting'])).filter((j) => j.id === jobIdFor('dup-1', 'xen2'));
      await queue.close();
      expect(jobs).toHaveLength(1);
      expect(env.sim.hosts['xen2']?.commandLog.filter((c) => /^xl list\b/.test(c)).length).toBeGreaterThanOrEqual(1);
    } finally {
      await bot.stop();
    }
  });

  it('with no delay, queues the job without waiting for the "queued" reply; the result edits that reply, after it', async () => {
    // A chat platform slow to take the "queued" message: it is held until the job has run on the host.
    const adapter = new HeldQueuedReply();
    const bot = await createBot({ config: atOnce(config), redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    const redis = new Redis(REDIS_URL);
    await bot.start();
    try {
      const since = env.sim.log.lastSeq;
      await bot.core.handle(request('slow-1', 'list xen2'), target('slow-1'));
      // The host is asked while the "queued" reply is still on its way…
      await env.sim.log.waitFor({ host: 'xen2', since, match: /^xl list\b/, ended: true, count: 1, timeoutMs: 10_000 });
      // …and the job's outcome is recorded (its final reply claimed), yet nothing overtakes the "queued" line.
      await expect
        .poll(async () => Object.keys(await new PendingStore(redis, prefix).outcomes('slow-1')), { timeout: 10_000 })
        .toHaveLength(1);
      expect(adapter.holding).toBe(true);
      adapter.release();
      const final = await adapter.finalReply('slow-1');
      expect(final.title).toBe('Domains on xen2');
      const mine = adapter.delivered.filter((d) => d.target.requestId === 'slow-1');
      expect(mine.map((d) => d.reply.kind)).toEqual(['progress', 'result']);
      // The result went to the target the "queued" delivery returned (each delivery counts the ones before it).
      expect(mine.map((d) => Number(d.target.state['deliveries'] ?? 0))).toEqual([0, 1]);
      expect(adapter.overtaken).toBe(false);
    } finally {
      adapter.release();
      redis.disconnect();
      await bot.stop();
    }
  });

  it('a read answered within bot.queuedReplyDelayMs is one message, its answer: no "queued" line before it', async () => {
    const adapter = new CaptureAdapter();
    const bot = await createBot({
      config: { ...config, bot: { ...config.bot, queuedReplyDelayMs: 5_000 } },
      redis: REDIS_URL,
      logger: quietLogger,
      adapters: [adapter],
    });
    await bot.start();
    try {
      await bot.core.handle(request('quick-1', 'list xen2'), target('quick-1'));
      const final = await adapter.finalReply('quick-1');
      expect(final.title).toBe('Domains on xen2');
      expect(adapter.delivered.filter((d) => d.target.requestId === 'quick-1').map((d) => [d.reply.kind, d.target.state])).toEqual([
        ['result', {}],
      ]);
    } finally {
      await bot.stop();
    }
  });

  it('a read slower than bot.queuedReplyDelayMs says "queued" once the delay is over, and its result edits that line', async () => {
    const adapter = new CaptureAdapter();
    const bot = await createBot({
      config: { ...config, bot: { ...config.bot, queuedReplyDelayMs: 50 } },
      redis: REDIS_URL,
      logger: quietLogger,
      adapters: [adapter],
    });
    await bot.start();
    // The host answers each xl list only after 0.5 s (wall clock): the line is due long before. Every one, not the next:
    // the bot's start-up fleet refresh may be the next.
    await env.sim.faults.add('xen2', { kind: 'delay', match: /xl list/, ms: 500, times: 0 });
    try {
      await bot.core.handle(request('slow-2', 'list xen2'), target('slow-2'));
      const final = await adapter.finalReply('slow-2');
      expect(final.title).toBe('Domains on xen2');
      const mine = adapter.delivered.filter((d) => d.target.requestId === 'slow-2');
      expect(mine.map((d) => [d.reply.kind, d.reply.title, Number(d.target.state['deliveries'] ?? 0)])).toEqual([
        ['progress', '/list', 0],
        ['result', 'Domains on xen2', 1],
      ]);
    } finally {
      env.sim.faults.clear();
      await bot.stop();
    }
  });

  it('a refused request queues nothing and sends no SSH command', async () => {
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    try {
      const before = env.sim.hosts['xen1']?.commandLog.length ?? 0;
      expect(bot.core.precheck(request('deny-1', 'stop web', 'carol'))?.blocks[0]).toEqual({
        type: 'text',
        text: 'carol may not run /stop: needs permission domain.stop',
      });
      await bot.core.handle(request('deny-1', 'stop web', 'carol'), target('deny-1'));
      const r = await adapter.finalReply('deny-1');
      expect(r).toMatchObject({ kind: 'error', private: true, title: 'Not allowed' });
      const stops = (env.sim.hosts['xen1']?.commandLog ?? []).slice(before).filter((c) => c.includes('shutdown'));
      expect(stops).toEqual([]);
    } finally {
      await bot.stop();
    }
  });

  it('a bot restarted while a job runs still delivers its result', async () => {
    const first = new CaptureAdapter();
    // The "queued" line at once: the second bot must edit the message the first one made.
    const bot1 = await createBot({ config: atOnce(config), redis: REDIS_URL, logger: quietLogger, adapters: [first] });
    await bot1.start();
    await bot1.core.handle(request('restart-1', 'stop gateway'), target('restart-1'));
    // Queued (and perhaps already an agent's progress edit), not finished: the stop below comes mid-job.
    const kinds = first.delivered.map((d) => d.reply.kind);
    expect(kinds[0]).toBe('progress');
    expect(kinds.every((k) => k === 'progress')).toBe(true);
    await bot1.stop();
    // the job finishes while no bot runs
    const qe = new QueueEvents(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix });
    const queue = new Queue(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix });
    const job = await queue.getJob(jobIdFor('restart-1', 'xen1'));
    await job?.waitUntilFinished(qe, 20_000);
    await qe.close();
    await queue.close();
    const second = new CaptureAdapter();
    const bot2 = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [second] });
    await bot2.start();
    try {
      const r = await second.finalReply('restart-1');
      expect(r.title).toBe('gateway shut down on xen1');
      // The target it edits is the one the first bot stored after its last delivery ("queued", and any progress edit
      // the agent sent before the first bot stopped): each delivery returns a target counting the edits so far.
      const firstDeliveries = first.delivered.filter((d) => d.target.requestId === 'restart-1').length;
      expect(firstDeliveries).toBeGreaterThanOrEqual(1);
      expect(second.delivered.find((d) => d.target.requestId === 'restart-1')?.target.state).toEqual({ deliveries: firstDeliveries });
    } finally {
      await bot2.stop();
    }
  });

  it('re-running a finished mutating job (a killed agent) repeats nothing', async () => {
    const queue = new Queue(hostQueueName('xen2'), { connection: { url: REDIS_URL }, prefix });
    const qe = new QueueEvents(hostQueueName('xen2'), { connection: { url: REDIS_URL }, prefix });
    await qe.waitUntilReady();
    const data: JobData = {
      op: 'domain.start',
      host: 'xen2',
      domain: 'files',
      meta: { requestId: 'x', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 't', command: 'start' },
    };
    const first = await queue.add('domain.start', data, { jobId: 'rerun-1' });
    expect(await first.waitUntilFinished(qe, 20_000)).toMatchObject({ outcome: 'already-running' });
    const creates = env.sim.hosts['xen2']?.commandLog.filter((c) => c.includes('create')).length;
    const again = await queue.add('domain.start', data, { jobId: 'rerun-2' });
    expect(await again.waitUntilFinished(qe, 20_000)).toMatchObject({ outcome: 'already-running' });
    expect(env.sim.hosts['xen2']?.commandLog.filter((c) => c.includes('create')).length).toBe(creates);
    await qe.close();
    await queue.close();
  });

  it('close() lets an active job finish', async () => {
    const local = await startAgent({
      config,
      runner: env.pool(),
      connection: REDIS_URL,
      prefix: `${prefix.slice(0, -1)}-close}`,
      logger: quietLogger,
      hosts: ['xen1'],
    });
    const queue = new Queue(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix: `${prefix.slice(0, -1)}-close}` });
    const qe = new QueueEvents(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix: `${prefix.slice(0, -1)}-close}` });
    await qe.waitUntilReady();
    const data: JobData = {
      op: 'domain.stop',
      host: 'xen1',
      domain: 'web',
      force: false,
      meta: { requestId: 'y', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 't', command: 'stop' },
    };
    const job = await queue.add('domain.stop', data, { jobId: 'close-1' });
    await new Promise<void>((resolve) => qe.once('active', () => resolve()));
    await local.close(20_000);
    expect(await job.getState()).toBe('completed');
    expect((await queue.getJob('close-1'))?.returnvalue).toMatchObject({ outcome: 'shut-down' });
    await qe.close();
    await queue.obliterate({ force: true });
    await queue.close();
  });
});
