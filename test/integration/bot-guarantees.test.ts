import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { type PendingRequest, PendingStore } from '../../src/app/pending-store.ts';
import { Config } from '../../src/config/schema.ts';
import type { ChatRequest } from '../../src/core/request.ts';
import { DomainLocks, Heartbeats, Journal } from '../../src/queue/coordination.ts';
import { hostQueueName } from '../../src/queue/names.ts';
import { CaptureAdapter, HeldQueuedReply } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, seemServed, uniquePrefix } from '../helpers/redis.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The bot's guarantees that hold across processes sharing one Redis prefix: no agent → refused at once; not picked
 * up → withdrawn for good; one mutation per domain; each final reply claimed by a bot that can deliver it.
 */

let env: SimEnv;
const prefixes: string[] = [];
const bots: Bot[] = [];
const agents: Agent[] = [];
let n = 0;

function configFor(prefix: string, bot: Partial<Config['bot']> = {}): Config {
  return Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: { admin: { allow: ['*'] }, operator: { allow: ['operate'] } },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice', telegram: '1001' } },
      bob: { roles: ['operator'], identities: { terminal: 'bob', telegram: '1002' } },
    },
    channels: [
      { platform: 'terminal', id: '*' },
      { platform: 'telegram', id: '*' },
    ],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000, agentStaleMs: 10_000, ...bot },
    // These tests are about queueing and delivery; approvals have their own suite.
    approvals: { enabled: false },
  });
}

const request = (text: string, user = 'alice', platform: 'terminal' | 'telegram' = 'terminal'): ChatRequest =>
  chatRequest(
    `g${++n}-${Math.random().toString(36).slice(2, 6)}`,
    text,
    user,
    platform,
    platform === 'telegram' ? (user === 'alice' ? '1001' : '1002') : user,
  );

/** `/start mail` as a bot saves it: one job on xen1, or a plan whose steps run on these hosts in turn. */
function savedStartMail(r: ChatRequest, mode: 'parallel' | 'sequence' = 'parallel', hosts: string[] = ['xen1']): PendingRequest {
  const meta = { requestId: r.id, person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'terminal', command: 'start' };
  return {
    requestId: r.id,
    command: 'start',
    args: { domain: { domain: 'mail' } },
    person: 'alice',
    platform: 'terminal',
    userId: 'alice',
    channelId: 'terminal',
    target: targetOf(r),
    mode,
    jobs: hosts.map((host, i) => ({
      jobId: mode === 'parallel' ? `r-${r.id}-${host}` : `r-${r.id}-s${i}-${host}`,
      host,
      op: 'domain.start' as const,
      data: { op: 'domain.start' as const, host, domain: 'mail', meta },
    })),
    deadline: null,
    pickupBy: null,
    createdAt: Date.now(),
  };
}

async function bot(config: Config, adapter: CaptureAdapter): Promise<Bot> {
  const b = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await b.start();
  bots.push(b);
  return b;
}

async function ask(b: Bot, adapter: CaptureAdapter, r: ChatRequest) {
  await b.core.handle(r, targetOf(r));
  return adapter.finalReply(r.id);
}

const text = (r: { blocks: { type: string; text?: string }[] }) => r.blocks.map((b) => b.text ?? '').join('\n');

beforeAll(async () => {
  env = await startSimEnv({ shutdownDelayMs: 400, timeScale: 0.05 });
}, 30_000);

afterAll(async () => {
  for (const b of bots) await b.stop();
  for (const a of agents) await a.close(1_000);
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

describe('nothing waits forever or silently', () => {
  it('a mutation for a host no agent serves is refused at once, and a lookup does not claim the domain is missing', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const adapter = new CaptureAdapter();
    const b = await bot(configFor(prefix), adapter);
    const explicit = await ask(b, adapter, request('stop xen1:web'));
    expect(explicit).toMatchObject({ kind: 'error', title: 'No agent' });
    expect(text(explicit)).toBe('no agent serves xen1 — none has ever been seen');
    const bare = await ask(b, adapter, request('stop web'));
    expect(bare.title).toBe('Cannot look that up');
    expect(text(bare)).not.toContain('no domain named');
    expect(text(bare)).toContain('no agent serves xen1');
    const queue = new Queue(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix });
    expect(await queue.getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 0 });
    await queue.close();
  });

  // That nothing overtakes a held "queued" line is shown by bot-pipeline.test.ts (it waits for the outcome before
  // releasing it); here the "no agent" answer is known at once and the line is released at once.
  it('with no delay, a read answered at once ("no agent") says "queued" first, then edits that message with the answer', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const adapter = new HeldQueuedReply();
    const b = await bot(configFor(prefix, { queuedReplyDelayMs: 0 }), adapter);
    const r = request('list xen1');
    // The "no agent" outcome is known at once: the request is finished while its "queued" line is still held.
    const handled = b.core.handle(r, targetOf(r));
    await adapter.held;
    adapter.release();
    await handled;
    expect(adapter.overtaken).toBe(false);
    const final = await adapter.finalReply(r.id);
    expect(text(final)).toContain('no agent serves xen1');
    const mine = adapter.delivered.filter((d) => d.target.requestId === r.id);
    expect(mine.map((d) => [d.reply.kind, Number(d.target.state['deliveries'] ?? 0)])).toEqual([
      ['progress', 0],
      ['result', 1],
    ]);
  });

  it('a "queued" reply the platform never takes holds the result back only for bot.queuedReplyWaitMs', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const first = request('list xen1');
    // Never released while the test waits: a platform that never takes the "queued" line.
    const adapter = new HeldQueuedReply();
    const b = await bot(configFor(prefix, { queuedReplyWaitMs: 200, queuedReplyDelayMs: 0 }), adapter);
    try {
      const final = await ask(b, adapter, first);
      expect(text(final)).toContain('no agent serves xen1');
      // Delivered to the request's own target: the "queued" message never came back with one.
      expect(adapter.delivered.filter((d) => d.target.requestId === first.id).map((d) => [d.reply.kind, d.target.state])).toEqual([
        ['result', {}],
      ]);
    } finally {
      adapter.release();
    }
  });

  it('a request whose jobs Redis refuses after its "queued" line is answered in that line’s place, keeping no lock and nothing in Redis', async () => {
    // A private Redis behind a proxy: the MULTI is held back until the "queued" line is out, and Redis then refuses every
    // write in it (its memory full, CONFIG SET maxmemory 1). The add fails after the request was announced.
    const server = await startPrivateRedis();
    const proxy = TcpProxy.forUrl(server.url);
    await proxy.start();
    const direct = new Redis(server.url);
    const prefix = uniquePrefix();
    const base = configFor(prefix, { queuedReplyDelayMs: 0 });
    const config: Config = { ...base, redis: { ...base.redis, url: proxy.url } };
    await seemServed(direct, prefix, ['xen1']);
    const adapter = new HeldQueuedReply();
    const b = await createBot({ config, redis: proxy.url, logger: quietLogger, adapters: [adapter] });
    try {
      await b.start();
      const r = request('stop xen1:web');
      // The next MULTI (ioredis sends it first, lower-case) is this request's: nothing else of the bot's is under way.
      const release = proxy.holdAt((d) => d.subarray(0, 16).toString().startsWith('*1\r\n$5\r\nmulti'));
      const handled = b.core.handle(r, targetOf(r));
      await adapter.held;
      await expect.poll(() => proxy.holding, { timeout: 5_000 }).toBe(true);
      await direct.config('SET', 'maxmemory', '1');
      release();
      adapter.release();
      await handled;
      const final = await adapter.finalReply(r.id);
      await direct.config('SET', 'maxmemory', '0');
      expect(final.kind).toBe('error');
      // The error reply came after the "queued" line and in its place: to the target that line's delivery returned.
      expect(adapter.delivered.filter((d) => d.target.requestId === r.id).map((d) => [d.reply.kind, d.target.state])).toEqual([
        ['progress', {}],
        ['error', { deliveries: 1 }],
      ]);
      // Nothing was queued, so nothing is left: no lock on web, no pending request, no stored target, no job.
      expect(await new DomainLocks(direct, prefix).holder('web')).toBeNull();
      expect(await direct.exists(`${prefix}:pending:${r.id}`, `${prefix}:pending-target:${r.id}`)).toBe(0);
      const queue = new Queue(hostQueueName('xen1'), { connection: { url: server.url }, prefix });
      expect(await queue.getJobCounts('waiting', 'active', 'prioritized')).toEqual({ waiting: 0, active: 0, prioritized: 0 });
      await queue.close();
    } finally {
      await direct.config('SET', 'maxmemory', '0').catch(() => {});
      await b.stop();
      await proxy.stop();
      direct.disconnect();
      await server.stop();
    }
  });

  it('a request Redis refuses before its "queued" line is due is answered with the error alone: the line never follows', async () => {
    const server = await startPrivateRedis();
    const direct = new Redis(server.url);
    const prefix = uniquePrefix();
    const base = configFor(prefix, { queuedReplyDelayMs: 50 });
    await seemServed(direct, prefix, ['xen1']);
    const adapter = new CaptureAdapter();
    const b = await createBot({
      config: { ...base, redis: { ...base.redis, url: server.url } },
      redis: server.url,
      logger: quietLogger,
      adapters: [adapter],
    });
    try {
      await b.start();
      await direct.config('SET', 'maxmemory', '1');
      const r = request('list xen1');
      await b.core.handle(r, targetOf(r));
      const final = await adapter.finalReply(r.id);
      await direct.config('SET', 'maxmemory', '0');
      expect(final.kind).toBe('error');
      // Four times the delay: a line still held would have gone out by now, after the error.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(adapter.delivered.filter((d) => d.target.requestId === r.id).map((d) => d.reply.kind)).toEqual(['error']);
    } finally {
      await direct.config('SET', 'maxmemory', '0').catch(() => {});
      await b.stop();
      direct.disconnect();
      await server.stop();
    }
  });

  it('a mutation nobody picks up in time is withdrawn, told, and never runs later', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = configFor(prefix, { pickupTimeoutMs: 1_000 });
    // An agent that says it is alive but takes nothing: a wedged or partitioned agent.
    const redis = new Redis(REDIS_URL);
    await new Heartbeats(redis, prefix).beat(['xen1', 'xen2'], { agentId: 'wedged', where: 'test', seenAt: Date.now() });
    const adapter = new CaptureAdapter();
    const b = await bot(config, adapter);
    const before = env.sim.hosts['xen1']?.commandLog.length ?? 0;
    const r = await ask(b, adapter, request('stop xen1:gateway'));
    expect(r.title).toBe('Could not stop xen1:gateway');
    expect(text(r)).toContain('no agent picked it up within 1 s — withdrawn: nothing was done, and it will not run later');
    expect(adapter.finals(r.title ? (adapter.delivered.at(-1)?.target.requestId ?? '') : '')).toHaveLength(1);
    // The withdrawal was said in Redis before the job went (what a restarted bot reads if this one died in between).
    expect(await redis.keys(`${prefix}:withdrawing:*`)).toHaveLength(1);
    // A real agent now appears: the withdrawn job is gone from the queue and never runs.
    const agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
    agents.push(agent);
    const list = await ask(b, adapter, request('list xen1'));
    expect(list.title).toBe('Domains on xen1');
    expect((env.sim.hosts['xen1']?.commandLog ?? []).slice(before).filter((c) => /shutdown|destroy/.test(c))).toEqual([]);
    redis.disconnect();
  });
});

describe('several bots on one prefix', () => {
  it('each final reply goes out once, through the bot that has the adapter for it', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = configFor(prefix);
    const agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
    agents.push(agent);
    const terminal = new CaptureAdapter('terminal');
    const telegram = new CaptureAdapter('telegram');
    const tBot = await bot(config, terminal);
    const gBot = await bot(config, telegram);
    const fromTerminal = Array.from({ length: 6 }, (_, i) => request(i % 2 ? 'list xen1' : 'list xen2'));
    const fromTelegram = Array.from({ length: 3 }, () => request('list', 'alice', 'telegram'));
    await Promise.all([...fromTerminal.map((r) => ask(tBot, terminal, r)), ...fromTelegram.map((r) => ask(gBot, telegram, r))]);
    for (const r of fromTerminal) expect(terminal.finals(r.id)).toHaveLength(1);
    for (const r of fromTelegram) expect(telegram.finals(r.id)).toHaveLength(1);
    expect(telegram.delivered.filter((d) => d.target.platform !== 'telegram')).toEqual([]);
    expect(terminal.delivered.filter((d) => d.target.platform !== 'terminal')).toEqual([]);
  });
});

describe('one mutation per domain at a time', () => {
  it('a second mutation of a busy domain is refused, naming who holds it and why', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = configFor(prefix);
    const agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
    agents.push(agent);
    const adapter = new CaptureAdapter();
    const b = await bot(config, adapter);
    await ask(b, adapter, request('list')); // warm the fleet view
    // A slow shutdown holds the domain long enough for a second request to meet the lock.
    env.sim.faults.delayNext('xen2', { match: /\bshutdown\b/, ms: 1_500 });
    const first = request('stop files');
    const firstDone = ask(b, adapter, first);
    const second = await ask(b, adapter, request('stop files --force', 'bob'));
    expect(second.title).toBe('Busy');
    expect(text(second)).toMatch(
      /^files is busy: alice's stop on xen2 \(request g\d+-\w+, since \d\d:\d\d:\d\d UTC\); try again when it finishes$/,
    );
    const r = await firstDone;
    expect(r.title).toBe('files shut down on xen2');
    expect(adapter.finals(first.id)).toHaveLength(1);
    const destroys = (env.sim.hosts['xen2']?.commandLog ?? []).filter((c) => c.includes("'destroy'"));
    expect(destroys).toEqual([]);
  });
});

describe('replies stay true across hand-backs and long outages', () => {
  it('a mutation handed back by a stopping agent is not withdrawn at its pickup deadline: the next agent verifies it', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = configFor(prefix, { pickupTimeoutMs: 1_000 });
    const first = await startAgent({
      config,
      runner: env.pool(),
      connection: REDIS_URL,
      prefix,
      logger: quietLogger,
      timings: { closeGraceMs: 50 },
    });
    const adapter = new CaptureAdapter();
    const b = await bot(config, adapter);
    await ask(b, adapter, request('list xen1'));
    // gateway: the earlier tests of this file leave it running (files on xen2 was shut down above).
    const since = env.sim.log.lastSeq;
    // The shutdown is slow on the host; the agent stops meanwhile and hands the job back (it still takes effect).
    env.sim.faults.delayNext('xen1', { match: /\bshutdown\b/, ms: 1_500 });
    const r = request('stop xen1:gateway');
    await b.core.handle(r, targetOf(r));
    await env.sim.log.waitFor({ host: 'xen1', since, match: /\bshutdown\b/, timeoutMs: 10_000 });
    await first.close(50);
    // Past the pickup deadline with no agent at all: the relay must not call it withdrawn (it was picked up).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(adapter.finals(r.id)).toEqual([]);
    const second = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
    agents.push(second);
    const final = await adapter.finalReply(r.id);
    expect(final.title).toBe('gateway shut down on xen1');
    expect(text(final)).toMatch(/^interrupted mid-way \(an agent or Redis restart\) and resumed; state read back/);
    expect(adapter.finals(r.id)).toHaveLength(1);
    expect(env.sim.log.entries.filter((e) => e.seq > since && e.host === 'xen1' && /\bshutdown\b/.test(e.command))).toHaveLength(1);
  });

  it('a reply another bot sent and did not finish the bookkeeping of is not sent again: the request is removed, its lock released', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = configFor(prefix);
    const redis = new Redis(REDIS_URL);
    const r = request('start mail');
    const jobId = `r-${r.id}-xen1`;
    await new PendingStore(redis, prefix).save(savedStartMail(r));
    await new PendingStore(redis, prefix).recordOutcomeOnce(r.id, jobId, { ok: true, result: {} });
    // As a bot leaves it that sent the reply and died before releasing the lock and removing the request.
    await redis.set(`${prefix}:final:${r.id}`, 'gone01:sent', 'PX', 86_400_000);
    await new DomainLocks(redis, prefix).acquire(
      { domain: 'mail', requestId: r.id, person: 'alice', command: 'start', host: 'xen1', reason: 'start', since: Date.now() },
      60_000,
    );
    const adapter = new CaptureAdapter();
    await bot(config, adapter);
    await expect.poll(async () => await redis.exists(`${prefix}:pending:${r.id}`), { timeout: 10_000 }).toBe(0);
    expect(await new DomainLocks(redis, prefix).holder('mail')).toBeNull();
    expect(adapter.finals(r.id)).toEqual([]);
    redis.disconnect();
  });

  it('a plan whose next step is on a host gone from the config ends, saying so, and the others are recovered', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = configFor(prefix);
    const redis = new Redis(REDIS_URL);
    const store = new PendingStore(redis, prefix);
    // A plan whose first step is done and whose second is on xen9, a host this config no longer has.
    const plan = request('start mail');
    const first = `r-${plan.id}-s0-xen1`;
    await store.save(savedStartMail(plan, 'sequence', ['xen1', 'xen9']));
    const started = { host: 'xen1', outcome: 'started', domain: { name: 'mail', uuid: null, id: 7, status: 'blocked' } };
    await store.recordOutcomeOnce(plan.id, first, { ok: true, result: started });
    // And a request whose reply another bot sent (only its removal is left).
    const sent = request('start mail');
    const sentJob = `r-${sent.id}-xen1`;
    await store.save(savedStartMail(sent));
    await store.recordOutcomeOnce(sent.id, sentJob, { ok: true, result: {} });
    await redis.set(`${prefix}:final:${sent.id}`, 'gone01:sent', 'PX', 86_400_000);
    // The bot starts, recovers the other request, and ends the plan (it once stayed pending for ever).
    const adapter = new CaptureAdapter();
    await bot(config, adapter);
    await expect.poll(async () => await redis.exists(`${prefix}:pending:${sent.id}`), { timeout: 10_000 }).toBe(0);
    await expect.poll(async () => await redis.exists(`${prefix}:pending:${plan.id}`), { timeout: 10_000 }).toBe(0);
    // One final reply (what it says of the step is tested with /evacuate, whose plans these are: evacuate.test.ts).
    await adapter.finalReply(plan.id);
    expect(adapter.finals(plan.id)).toHaveLength(1);
    // Step 2 was claimed, found on a host this bot does not have, and never queued.
    expect(await redis.get(`${prefix}:step:${plan.id}:1`)).toBe('1');
    redis.disconnect();
  });

  it('a result BullMQ dropped while the bot was down is reported from the agent’s journal', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = configFor(prefix);
    const redis = new Redis(REDIS_URL);
    const result = {
      host: 'xen1',
      outcome: 'started',
      domain: {
        name: 'mail',
        uuid: null,
        id: 7,
        status: 'blocked',
        flags: '-b----',
        memoryMiB: 1024,
        vcpus: 2,
        cpuSeconds: 1,
        configPath: '/etc/xen/vm/mail.cfg',
      },
    };
    const r = request('start mail');
    const jobId = `r-${r.id}-xen1`;
    await new PendingStore(redis, prefix).save(savedStartMail(r));
    await new Journal(redis, prefix).put({
      jobId,
      requestId: r.id,
      op: 'domain.start',
      host: 'xen1',
      domain: 'mail',
      before: { status: 'defined', id: null, uuid: null },
      step: 'done',
      issuedAt: Date.now(),
      resumes: 0,
      result,
    });
    const adapter = new CaptureAdapter();
    await bot(config, adapter);
    const final = await adapter.finalReply(r.id);
    expect(final.title).toBe('mail started on xen1');
    expect(adapter.finals(r.id)).toHaveLength(1);
    redis.disconnect();
  });
});
