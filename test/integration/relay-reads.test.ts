import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import { JobEventReader } from '../../src/app/job-events.ts';
import { PendingStore } from '../../src/app/pending-store.ts';
import { Config } from '../../src/config/schema.ts';
import { hostQueueName, jobIdFor } from '../../src/queue/names.ts';
import { CaptureAdapter, HeldQueuedReply } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, monitorRedis, REDIS_URL, seemServed, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The relay never reads a request it tracks whole (half a megabyte of JSON for 1,000 hosts): the events of its jobs
 * — starts, completions, stalls — are handled from memory, with the reply target read on its own, and the last
 * outcome claims the final reply with the target and the outcomes in the same script.
 */

const prefixes: string[] = [];
let env: SimEnv;
let redis: Redis;

const fresh = (): string => {
  const p = uniquePrefix();
  prefixes.push(p);
  return p;
};

/** PendingStore.get calls for one request (the whole request read back). */
function wholeReads(requestId: string): () => number {
  const spy = vi.spyOn(PendingStore.prototype, 'get');
  return () => spy.mock.calls.filter(([id]) => id === requestId).length;
}

async function auditEvents(prefix: string, requestId: string): Promise<Record<string, string>[]> {
  const entries = await redis.xrange(`${prefix}:audit`, '-', '+');
  return entries
    .map(([, f]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string;
      return o;
    })
    .filter((e) => e['requestId'] === requestId);
}

beforeAll(async () => {
  env = await startSimEnv({ timeScale: 0.05 });
  redis = new Redis(REDIS_URL);
}, 30_000);

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  redis?.disconnect();
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

/** The "queued" line sent at once (bot.queuedReplyDelayMs 0), for the tests of the targets it returns. */
const atOnce = (c: Config): Config => ({ ...c, bot: { ...c.bot, queuedReplyDelayMs: 0 } });

describe('the relay and the stored request', () => {
  it('/status over every host never reads its request back (its last outcome claims the reply); a read is announced on the event streams only when it ends, and its start is not audited', async () => {
    const prefix = fresh();
    const config = simBotConfig(env, prefix, REDIS_URL);
    const hosts = Object.keys(config.hosts);
    let agent: Agent | null = null;
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    try {
      agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
      await bot.start();
      const r = chatRequest('status-reads-1', 'status');
      const reads = wholeReads(r.id);
      await bot.core.handle(r, targetOf(r));
      const final = await adapter.finalReply(r.id);
      expect(final).toMatchObject({ kind: 'result', tone: 'success' });
      expect(reads()).toBe(0);
      // The outcome is the request's last entry: once it is in, no start of it can come any more.
      await expect
        .poll(async () => (await auditEvents(prefix, r.id)).map((e) => e['event']).includes('job.outcome'), { timeout: 10_000 })
        .toBe(true);
      expect((await auditEvents(prefix, r.id)).map((e) => e['event']).sort()).toEqual(['decision', 'job.outcome', 'request']);
      // Nor did any host's event stream wake the bot for it before its end: no "added", "waiting" or "active" event, a
      // "completed" one per host.
      const events = await Promise.all(hosts.map((h) => redis.xrange(`${prefix}:host-${h}:events`, '-', '+')));
      const of = (kind: string) => events.flat().filter(([, f]) => f[1] === kind && String(f[3]).includes(r.id)).length;
      expect(['added', 'waiting', 'active', 'completed'].map(of)).toEqual([0, 0, 0, hosts.length]);
    } finally {
      await bot.stop();
      await agent?.close(1_000);
    }
  });

  it('a stalled job edits the reply at its current target without reading the request, which is not rewritten', async () => {
    // No agent: a heartbeat says one is alive, so the job is queued and waits; its stall events are BullMQ's own.
    const prefix = fresh();
    // The "queued" line at once: the notices' targets count it.
    const config: Config = atOnce(simBotConfig(env, prefix, REDIS_URL));
    await seemServed(redis, prefix, ['xen1']);
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    try {
      await bot.start();
      const r = chatRequest('stalled-reads-1', 'list xen1');
      const reads = wholeReads(r.id);
      await bot.core.handle(r, targetOf(r));
      const store = new PendingStore(redis, prefix);
      const stored = await redis.get(`${prefix}:pending:${r.id}`);
      const stall = () => redis.xadd(`${prefix}:${hostQueueName('xen1')}:events`, '*', 'event', 'stalled', 'jobId', jobIdFor(r.id, 'xen1'));
      const notices = () =>
        adapter.delivered.filter(
          (d) => d.target.requestId === r.id && /stopped responding/.test(d.reply.title + JSON.stringify(d.reply.blocks)),
        );
      await stall();
      await adapter.until(() => notices().length === 1, 10_000, 'the first stall notice');
      // Each delivery returns a new target (CaptureAdapter counts them): the second notice goes to the one the first returned.
      await expect.poll(async () => (await store.target(r.id))?.state, { timeout: 5_000 }).toEqual({ deliveries: 2 });
      await stall();
      await adapter.until(() => notices().length === 2, 10_000, 'the second stall notice');
      expect(notices().map((d) => d.target.state)).toEqual([{ deliveries: 1 }, { deliveries: 2 }]);
      await expect.poll(async () => (await store.target(r.id))?.state, { timeout: 5_000 }).toEqual({ deliveries: 3 });
      expect(reads()).toBe(0);
      expect(await redis.get(`${prefix}:pending:${r.id}`)).toBe(stored);
      expect((await store.get(r.id))?.target.state).toEqual({ deliveries: 3 });
    } finally {
      await bot.stop();
    }
  });

  it('stores the "queued" reply’s target even when the platform took it before the request reached Redis', async () => {
    // The request is saved in the queues' MULTI, on another connection than the one the target is written on: here the
    // MULTI reaches Redis late, after the "queued" reply is out. Before the fix its target was written back to a
    // request not yet there (missed), and what followed — a stall notice, a new bot's result — went to the old target:
    // on Telegram a second message instead of an edit.
    const prefix = fresh();
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const config: Config = simBotConfig(env, prefix, proxy.url);
    await seemServed(redis, prefix, ['xen1']);
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: proxy.url, logger: quietLogger, adapters: [adapter] });
    try {
      await bot.start();
      const r = chatRequest('queued-target-1', 'list xen1');
      // The next MULTI (ioredis sends it first, lower-case) is this request's: nothing else of the bot's is under way.
      const release = proxy.holdAt((d) => d.subarray(0, 16).toString().startsWith('*1\r\n$5\r\nmulti'));
      const targetWrite = proxy.replied((d) => d.includes(`pending-target:${r.id}`));
      const handled = bot.core.handle(r, targetOf(r));
      await adapter.until(() => adapter.delivered.some((d) => d.target.requestId === r.id), 10_000, 'the "queued" reply');
      // Before the fix the target write came now, and is awaited; after it nothing is sent until the request is saved,
      // and there is no event to wait for: a bounded wait instead.
      await Promise.race([targetWrite, new Promise((resolve) => setTimeout(resolve, 300))]);
      release();
      await handled;
      const store = new PendingStore(redis, prefix);
      await expect.poll(async () => (await store.target(r.id))?.state, { timeout: 5_000 }).toEqual({ deliveries: 1 });
      await redis.xadd(`${prefix}:${hostQueueName('xen1')}:events`, '*', 'event', 'stalled', 'jobId', jobIdFor(r.id, 'xen1'));
      await adapter.until(() => adapter.delivered.filter((d) => d.target.requestId === r.id).length === 2, 10_000, 'the stall notice');
      expect(adapter.delivered.filter((d) => d.target.requestId === r.id).map((d) => d.target.state)).toEqual([{}, { deliveries: 1 }]);
    } finally {
      await bot.stop();
      await proxy.stop();
    }
  });

  it('finalizes a fan-out once, editing the "queued" message, when another path recorded its outcomes first', async () => {
    // A bot taking the lease runs recover() while its adapters already take requests: recover() records the outcomes of
    // jobs that have finished, so both completion events then find every outcome in. The first claims the final
    // reply; the second used to take the request for finished elsewhere and drop what the bot knew of it — the target
    // the "queued" reply returned — and the result was posted anew (a second Telegram message, the HA fault test's
    // flake).
    const prefix = fresh();
    const config: Config = simBotConfig(env, prefix, REDIS_URL);
    await seemServed(redis, prefix, ['xen1', 'xen2']);
    const adapter = new HeldQueuedReply();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    try {
      await bot.start();
      const r = chatRequest('recovered-outcomes-1', 'list');
      await bot.core.handle(r, targetOf(r));
      await adapter.held;
      const store = new PendingStore(redis, prefix);
      const result = (host: string) => ({ host, toolstack: 'xl', domains: [] });
      for (const host of ['xen1', 'xen2']) await store.recordOutcomeOnce(r.id, jobIdFor(r.id, host), { ok: true, result: result(host) });
      // The relay's claims, counted as they answer.
      const claims: unknown[] = [];
      const claim = PendingStore.prototype.recordAndClaim;
      vi.spyOn(PendingStore.prototype, 'recordAndClaim').mockImplementation(async function (this: PendingStore, ...args) {
        const answer = await claim.apply(this, args);
        claims.push(answer);
        return answer;
      });
      const tx = redis.multi();
      for (const host of ['xen1', 'xen2'])
        tx.xadd(
          `${prefix}:${hostQueueName(host)}:events`,
          '*',
          'event',
          'completed',
          'jobId',
          jobIdFor(r.id, host),
          'returnvalue',
          JSON.stringify(result(host)),
        );
      await tx.exec();
      // Both events are taken in (one has claimed the reply) before the "queued" line is let through.
      await expect.poll(() => claims.length, { timeout: 5_000 }).toBe(2);
      adapter.release();
      const final = await adapter.finalReply(r.id);
      expect(final.kind).toBe('result');
      expect(adapter.finals(r.id)).toHaveLength(1);
      const last = adapter.delivered.filter((d) => d.target.requestId === r.id).at(-1);
      expect(last?.target.state).toEqual({ deliveries: 1 });
    } finally {
      await bot.stop();
    }
  });

  it('stops watching a host’s events once its job has answered, while the rest of the fan-out is still awaited', async () => {
    const prefix = fresh();
    const base = simBotConfig(env, prefix, REDIS_URL);
    const config: Config = { ...base, bot: { ...base.bot, readTimeoutMs: 3_000 } };
    // xen2 seems served (a heartbeat), but no agent takes its job: the /status waits for it until the deadline.
    await seemServed(redis, prefix, ['xen2']);
    let agent: Agent | null = null;
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    const watches = vi.spyOn(JobEventReader.prototype, 'watch');
    const unwatches = vi.spyOn(JobEventReader.prototype, 'unwatch');
    const xen1 = hostQueueName('xen1');
    /** Watchers of xen1's events now: the bot's fleet refresh and the request each watch it while they wait. */
    const watchers = () => watches.mock.calls.filter(([q]) => q === xen1).length - unwatches.mock.calls.filter(([q]) => q === xen1).length;
    try {
      agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger, hosts: ['xen1'] });
      await bot.start();
      // The start's fleet refresh has had its answer from xen1.
      await expect.poll(() => unwatches.mock.calls.some(([q]) => q === xen1) && watchers() === 0, { timeout: 10_000 }).toBe(true);
      const r = chatRequest('answered-1', 'status');
      await bot.core.handle(r, targetOf(r));
      await expect.poll(() => redis.hlen(`${prefix}:pending-outcomes:${r.id}`), { timeout: 10_000 }).toBe(1);
      // The finding: a fan-out's hosts were watched (and named in every blocking read) until the last one answered.
      expect(watchers()).toBe(0);
      expect(adapter.delivered.some((d) => d.target.requestId === r.id && d.reply.kind === 'result')).toBe(false);
      // At the deadline the request ends; xen1 is not let go twice.
      expect(await adapter.finalReply(r.id)).toMatchObject({ kind: 'result' });
      expect(watchers()).toBe(0);
    } finally {
      await bot.stop();
      await agent?.close(1_000);
    }
  });

  it('stores a reply target only when a delivery changed it: the terminal answers with the same one, a chat message with a new one', async () => {
    const prefix = fresh();
    const config = simBotConfig(env, prefix, REDIS_URL);
    let agent: Agent | null = null;
    /** Answers as the terminal does: the target it was given. */
    class SameTarget extends CaptureAdapter {
      override async deliver(target: Parameters<CaptureAdapter['deliver']>[0], reply: Parameters<CaptureAdapter['deliver']>[1]) {
        await super.deliver(target, reply);
        return target;
      }
    }
    const same = new SameTarget();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [same] });
    const writes = vi.spyOn(PendingStore.prototype, 'updateTarget');
    try {
      agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
      await bot.start();
      const r = chatRequest('same-target-1', 'list xen1');
      await bot.core.handle(r, targetOf(r));
      expect(await same.finalReply(r.id)).toMatchObject({ tone: 'success' });
      // The finding: a write of the unchanged target after the "queued" reply, on every request.
      expect(writes).not.toHaveBeenCalled();
    } finally {
      await bot.stop();
    }
    const moved = new CaptureAdapter();
    const bot2 = await createBot({ config: atOnce(config), redis: REDIS_URL, logger: quietLogger, adapters: [moved] });
    try {
      await bot2.start();
      const r = chatRequest('same-target-2', 'list xen1');
      await bot2.core.handle(r, targetOf(r));
      expect(await moved.finalReply(r.id)).toMatchObject({ tone: 'success' });
      // The "queued" message returned a new target: stored, for the result to edit it after a restart.
      expect(writes.mock.calls.map(([id]) => id)).toEqual([r.id]);
    } finally {
      await bot2.stop();
      await agent?.close(1_000);
    }
  });

  it("a read's bookkeeping after its reply is one call: its claim marked sent and the request removed together", async () => {
    const prefix = fresh();
    const config = simBotConfig(env, prefix, REDIS_URL);
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    const monitor = await monitorRedis();
    let agent: Agent | null = null;
    try {
      agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
      await bot.start();
      const r = chatRequest('bookkeeping-1', 'list xen1');
      await bot.core.handle(r, targetOf(r));
      expect(await adapter.finalReply(r.id)).toMatchObject({ kind: 'result', tone: 'success' });
      await expect.poll(async () => await redis.exists(`${prefix}:pending:${r.id}`), { timeout: 10_000 }).toBe(0);
      await monitor.settle();
      // The calls naming the request or its final claim after it was saved: its last outcome claims the reply, then one
      // call marks it sent and removes the request (MULTI's commands are logged one by one).
      const final = `${prefix}:final:${r.id}`;
      const named = [final, `${prefix}:pending:${r.id}`];
      const calls = monitor.calls
        .filter((c) => c.source !== 'lua' && c.args.some((a) => named.includes(a)))
        .map((c) => c.args[0]?.toLowerCase())
        // The test's own look for the request (and the bot's look for lost requests) only read.
        .filter((c) => c !== 'exists');
      expect(calls).toEqual(['set', 'evalsha', 'evalsha']);
      expect(await redis.get(final)).toMatch(/:sent$/);
      expect(await redis.keys(`${prefix}:pending*${r.id}*`)).toEqual([]);
    } finally {
      monitor.stop();
      await bot.stop();
      await agent?.close(1_000);
    }
  });

  it('saves the asker’s hosts with a request only when some are hidden from them (nothing to redact otherwise)', async () => {
    // Before: every request carried every host's name (100 at 100 hosts, 1,000 at 1,000), written with each /list.
    const prefix = fresh();
    const base = simBotConfig(env, prefix, REDIS_URL);
    const config = Config.parse({
      ...base,
      roles: { ...base.roles, xen1reader: { allow: [{ permission: 'read', hosts: ['xen1'] }] } },
      people: { ...base.people, dave: { roles: ['xen1reader'], identities: { terminal: 'dave' } } },
    });
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    const monitor = await monitorRedis();
    let agent: Agent | null = null;
    try {
      agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
      await bot.start();
      const saved = (id: string) => {
        const set = monitor.calls.find((c) => c.args[0]?.toLowerCase() === 'set' && c.args[1] === `${prefix}:pending:${id}`);
        if (!set?.args[2]) throw new Error(`request ${id} was not saved`);
        return JSON.parse(set.args[2]) as { visibleHosts?: string[] };
      };
      for (const [id, who] of [
        ['visible-all-1', 'alice'],
        ['visible-some-1', 'dave'],
      ] as const) {
        const r = chatRequest(id, 'list xen1', who);
        await bot.core.handle(r, targetOf(r));
        expect(await adapter.finalReply(r.id)).toMatchObject({ kind: 'result', tone: 'success' });
      }
      await monitor.settle();
      expect(saved('visible-all-1')).not.toHaveProperty('visibleHosts');
      expect(saved('visible-some-1').visibleHosts).toEqual(['xen1']);
    } finally {
      monitor.stop();
      await bot.stop();
      await agent?.close(1_000);
    }
  });
});

describe('the relay and the event streams', () => {
  it('blocks only on the streams of hosts it awaits a job from: an idle host’s stream is only swept', async () => {
    // No agent when the bot starts (its fleet refresh queues nothing), then one for xen1 only: the /list is the only
    // job, so only the request's own watch can put xen1's stream in a blocking read; xen2's never is.
    const prefix = fresh();
    const config = simBotConfig(env, prefix, REDIS_URL);
    const stream = (host: string) => `${prefix}:${hostQueueName(host)}:events`;
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    const monitor = await monitorRedis();
    let agent: Agent | null = null;
    try {
      await bot.start();
      agent = await startAgent({ config, hosts: ['xen1'], runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
      const r = chatRequest('watched-read-1', 'list xen1');
      await bot.core.handle(r, targetOf(r));
      expect(await adapter.finalReply(r.id)).toMatchObject({ kind: 'result', tone: 'success' });
      const reads = () => monitor.calls.filter((c) => c.args[0]?.toLowerCase() === 'xread' && c.args.includes(stream('xen1')));
      // Every stream is still read, without blocking, once a second (another bot's jobs).
      await expect
        .poll(
          async () => {
            await monitor.settle();
            return reads().some((c) => !c.args.includes('BLOCK') && c.args.includes(stream('xen2')));
          },
          { timeout: 5_000 },
        )
        .toBe(true);
      const blocking = reads().filter((c) => c.args.includes('BLOCK'));
      expect(blocking.length).toBeGreaterThan(0);
      for (const c of blocking) expect(c.args).not.toContain(stream('xen2'));
    } finally {
      monitor.stop();
      await bot.stop();
      await agent?.close(1_000);
    }
  });
});
