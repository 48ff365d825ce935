import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { PendingStore } from '../../src/app/pending-store.ts';
import { Config } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { ChatRequest } from '../../src/core/request.ts';
import { DomainLocks } from '../../src/queue/coordination.ts';
import { hostQueueName } from '../../src/queue/names.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * A request asked at a process-local adapter (the terminal) is delivered by the bot process that took it: its
 * `origin`. That process restarted (a new instance), the request was left with nobody to answer it — no reply, no
 * `job.outcome` audited, its domain lock held until it expired. A bot with the platform now adopts a request whose
 * origin no longer runs (and only one bot does); one whose origin still runs stays that bot's.
 */

/** The terminal as the bot sees it: an adapter of this process only. */
class LocalCapture extends CaptureAdapter {
  readonly processLocal = true;
}

let env: SimEnv;
let redis: Redis;
const prefixes: string[] = [];
let running: Bot[] = [];
let agents: Agent[] = [];
let n = 0;

function configFor(prefix: string): Config {
  return Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: { admin: { allow: ['*'] }, operator: { allow: ['operate'] } },
    people: {
      alice: { roles: ['admin'], onCall: true, identities: { terminal: 'alice' } },
      bob: { roles: ['operator'], identities: { terminal: 'bob' } },
    },
    channels: [{ platform: 'terminal', id: '*' }],
    approvals: { policies: [{ commands: ['stop'], hosts: ['*'], approvers: 'oncall', count: 1 }] },
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    // The shortest lease: a claim's grace (2 leases + 2 s) is what the last test waits out.
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000, ha: { enabled: false, leaseMs: 1_500 } },
  });
}

async function stack(): Promise<Config> {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const config = configFor(prefix);
  agents.push(await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger }));
  return config;
}

async function startBot(config: Config, adapter: CaptureAdapter): Promise<Bot> {
  const b = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await b.start();
  running.push(b);
  return b;
}

async function stopBot(b: Bot): Promise<void> {
  running = running.filter((x) => x !== b);
  await b.stop();
}

const request = (text: string, user: string): ChatRequest => chatRequest(`tr${++n}-${Math.random().toString(36).slice(2, 6)}`, text, user);

async function send(b: Bot, adapter: CaptureAdapter, req: ChatRequest): Promise<Reply> {
  await b.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

const flat = (r: Reply) => `${r.title}\n${r.blocks.map((b) => ('text' in b ? b.text : JSON.stringify(b))).join('\n')}`;
const idOf = (r: Reply) => /Approval needed: .* — ([A-Z2-9]{6})$/.exec(r.title)?.[1] ?? '';

/** bob's `/stop <guest>` (on xen2), approved by alice in bot `b`, its shutdown slow on the host: running when this returns. */
async function approvedSlowStop(b: Bot, adapter: CaptureAdapter, guest: string): Promise<{ req: ChatRequest; approval: string }> {
  const req = request(`stop ${guest}`, 'bob');
  const card = await send(b, adapter, req);
  const approval = idOf(card);
  expect(approval, flat(card)).toMatch(/^[A-Z2-9]{6}$/);
  const since = env.sim.log.lastSeq;
  env.sim.faults.delayNext('xen2', { match: /\bshutdown\b/, ms: 1_500 });
  const approved = await send(b, adapter, request(`approve ${approval}`, 'alice'));
  expect(approved.title).toBe(`Approved ${approval}`);
  await env.sim.log.waitFor({ host: 'xen2', since, match: /\bshutdown\b/, timeoutMs: 10_000 });
  return { req, approval };
}

/** The request's one job, until it ended in BullMQ (completed: with no bot running, nothing else records it). */
async function jobEnded(config: Config, requestId: string): Promise<void> {
  const pending = await new PendingStore(redis, config.redis.prefix, 'test').get(requestId);
  const jobId = pending?.jobs[0]?.jobId;
  expect(jobId, 'the approved request is pending').toBeDefined();
  const queue = new Queue(hostQueueName('xen2'), { connection: { url: REDIS_URL }, prefix: config.redis.prefix });
  try {
    await expect.poll(async () => (await queue.getJob(jobId ?? ''))?.getState(), { timeout: 15_000, interval: 100 }).toBe('completed');
  } finally {
    await queue.close();
  }
}

function audited(config: Config, requestId: string): { event: string; detail?: string }[] {
  return readFileSync(config.audit.file ?? '', 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { event: string; requestId?: string; detail?: string })
    .filter((e) => e.requestId === requestId);
}

beforeAll(async () => {
  env = await startSimEnv({
    // A guest per test: each test's prefix is its own, the simulator is shared.
    fleet: {
      hosts: {
        xen2: {
          toolstack: 'xl',
          domains: ['files1', 'files2', 'files3', 'files4', 'files5'].map((name) => ({ name, memoryMiB: 1024, vcpus: 1, running: true })),
        },
      },
    },
    timeScale: 0.02,
    shutdownDelayMs: 100,
  });
  redis = new Redis(REDIS_URL);
}, 30_000);

afterEach(async () => {
  await env.sim.faults.clearAll();
  for (const b of running) await b.stop();
  running = [];
  for (const a of agents) await a.close(1_000);
  agents = [];
});

afterAll(async () => {
  redis?.disconnect();
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

describe('a terminal request whose bot restarted', () => {
  it('is answered by the restarted bot: said to be asked before the restart, audited, its lock released', async () => {
    const config = await stack();
    const first = new LocalCapture();
    const bot1 = await startBot(config, first);
    const { req, approval } = await approvedSlowStop(bot1, first, 'files1');
    await stopBot(bot1);
    await jobEnded(config, req.id);
    expect(first.finals(req.id).map((r) => r.title)).toEqual([expect.stringContaining('Approval needed')]);

    const second = new LocalCapture();
    const bot2 = await startBot(config, second);
    const final = await Promise.race([second.finalReply(req.id), new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))]);
    expect(final, 'the restarted bot says what came of the request').not.toBeNull();
    expect(final?.title).toBe('files1 shut down on xen2');
    expect(flat(final as Reply)).toMatch(/asked by bob .*before .*restart/i);
    expect(second.finals(req.id)).toHaveLength(1);

    await expect.poll(() => audited(config, req.id).filter((e) => e.event === 'job.outcome').length).toBe(1);
    expect(audited(config, req.id).find((e) => e.event === 'job.outcome')?.detail).toMatch(/^xen2: ok/);
    await expect.poll(() => redis.exists(`${config.redis.prefix}:pending:${req.id}`)).toBe(0);
    expect(await new DomainLocks(redis, config.redis.prefix).holder('files1')).toBeNull();

    // What /approve says of it ("the result goes to bob") is now what happened, once.
    const again = await send(bot2, second, request(`approve ${approval}`, 'alice'));
    expect(flat(again)).toContain('the result goes to bob');
    // And the guest can be handled again at once: no lock of the old request stands in the way.
    const start = await send(bot2, second, request('start files1', 'alice'));
    expect(start.title, flat(start)).toBe('files1 started on xen2');
  }, 60_000);

  it('restarted while its job still runs: the new bot follows it to its end and answers it', async () => {
    const config = await stack();
    const first = new LocalCapture();
    const bot1 = await startBot(config, first);
    const { req } = await approvedSlowStop(bot1, first, 'files4');
    await stopBot(bot1);
    const second = new LocalCapture();
    await startBot(config, second);
    await second.until(() => second.finals(req.id).length > 0, 15_000, 'the result in the restarted bot');
    const [final] = second.finals(req.id);
    expect(final?.title).toBe('files4 shut down on xen2');
    expect(flat(final as Reply)).toMatch(/^files4 shut down on xen2\nAsked by bob \(\/stop\) of the bot before it restarted/);
    await expect.poll(() => redis.exists(`${config.redis.prefix}:pending:${req.id}`)).toBe(0);
    expect(await new DomainLocks(redis, config.redis.prefix).holder('files4')).toBeNull();
  }, 60_000);

  it('killed, not stopped: adopted once its "still running" lapses, not before', async () => {
    const config = await stack();
    const first = new LocalCapture();
    const bot1 = await startBot(config, first);
    const { req } = await approvedSlowStop(bot1, first, 'files5');
    const origin = (await new PendingStore(redis, config.redis.prefix, 'test').get(req.id))?.origin;
    expect(origin).toBeDefined();
    await stopBot(bot1);
    // A killed bot says nothing: its field stays until it lapses (3 s from now here; 3 check intervals in life).
    const [seconds, micros] = await redis.time();
    const untilMs = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 3_000;
    await redis.hset(`${config.redis.prefix}:bots`, origin ?? '', JSON.stringify({ who: 'killed', hosts: ['xen2'], untilMs }));
    const second = new LocalCapture();
    await startBot(config, second);
    await jobEnded(config, req.id);
    expect(second.finals(req.id), 'not while its bot may still run').toEqual([]);
    await second.until(() => second.finals(req.id).length > 0, 15_000, 'the result once the killed bot lapsed');
    const [final] = second.finals(req.id);
    expect(flat(final as Reply)).toMatch(/^files5 shut down on xen2\nAsked by bob \(\/stop\) of the bot before it restarted/);
    await expect.poll(() => audited(config, req.id).filter((e) => e.event === 'job.outcome').length).toBe(1);
    expect(await new DomainLocks(redis, config.redis.prefix).holder('files5')).toBeNull();
  }, 60_000);

  it('is still its own bot to answer while that bot runs: another terminal bot started meanwhile takes nothing', async () => {
    const config = await stack();
    const mine = new LocalCapture();
    const other = new LocalCapture();
    const bot1 = await startBot(config, mine);
    const { req } = await approvedSlowStop(bot1, mine, 'files2');
    // Started while bot1 runs: its recovery finds bot1's request, and leaves it.
    await startBot(config, other);
    // Its first final reply was the approval card; the result is the second.
    await mine.until(() => mine.finals(req.id).length >= 2, 15_000, 'the result after the card');
    const final = mine.finals(req.id)[1] as Reply;
    expect(flat(final)).not.toMatch(/before .*restart/i);
    expect(mine.finals(req.id).map((r) => r.title)).toEqual([expect.stringContaining('Approval needed'), 'files2 shut down on xen2']);
    expect(other.delivered.filter((d) => d.target.requestId === req.id)).toEqual([]);
  }, 60_000);

  it('two terminal bots running when its bot stops: exactly one of them answers it', async () => {
    const config = await stack();
    const origin = new LocalCapture();
    const a = new LocalCapture();
    const b = new LocalCapture();
    const bot1 = await startBot(config, origin);
    const { req } = await approvedSlowStop(bot1, origin, 'files3');
    await startBot(config, a);
    await startBot(config, b);
    // Gone while its job runs: the completion reaches the two others, each of which may adopt it.
    await stopBot(bot1);
    const finals = () => [...a.finals(req.id), ...b.finals(req.id)];
    await expect.poll(() => finals().length, { timeout: 15_000 }).toBe(1);
    await expect.poll(() => audited(config, req.id).filter((e) => e.event === 'job.outcome').length).toBe(1);
    await expect.poll(() => redis.exists(`${config.redis.prefix}:pending:${req.id}`)).toBe(0);
    // No second answer comes later (a claim's grace is 2 lease times + 2 s: the other bot looks again then).
    const grace = 2 * config.bot.ha.leaseMs + 2_000;
    await new Promise((resolve) => setTimeout(resolve, grace + 1_000));
    expect(finals()).toHaveLength(1);
    expect(flat(finals()[0] as Reply)).toMatch(/asked by bob .*before .*restart/i);
  }, 60_000);
});
