import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { type OpsServer, startOpsServer } from '../../src/app/ops-http.ts';
import type { Reply } from '../../src/core/reply.ts';
import { REDIS_COMMAND_TIMEOUT_MS } from '../../src/queue/redis-connection.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { privateRedisConfig } from '../helpers/private-redis-stack.ts';
import { clusterWithBotClient } from '../helpers/redis-cluster.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * One master of a three-master Redis Cluster stops answering while its connections stay open (SIGSTOP: a frozen
 * machine). Every key of xenops's is in the prefix's one slot, so only the master that owns it matters: frozen, each
 * request is told within the bot's command timeout that Redis has not answered (nothing queued, or whether it was is
 * not known yet), and /readyz names Redis; another master frozen changes nothing. After SIGCONT requests are answered.
 *
 * The nodes' cluster-node-timeout is raised from the helper's 5 s: the freeze outlasts the bot's 10 s wait, and the
 * case here is the node the cluster has not given up on yet (Redis's default node timeout, 15 s, is longer than that
 * wait too), not a cluster that says CLUSTERDOWN.
 */
const scene = clusterWithBotClient();
let env: SimEnv;
let agent: Agent;
let bot: Bot;
let http: OpsServer;
let owner: number;
let bystander: number;
const adapter = new CaptureAdapter();
const stopped = new Set<number>();
let n = 0;

beforeAll(async () => {
  const { cluster, prefix } = scene;
  owner = (await cluster.ownerOf(prefix)).index;
  bystander = [0, 1, 2].find((i) => i !== owner) as number;
  await Promise.all([0, 1, 2].map((i) => cluster.node(i).config('SET', 'cluster-node-timeout', '60000')));
  env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
  const target = { url: cluster.urls[0] as string, cluster: true };
  const config = privateRedisConfig(env, target.url, prefix, { redis: { ...target, prefix } });
  agent = await startAgent({ config, runner: env.pool(), connection: target, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: target, logger: quietLogger, adapters: [adapter] });
  await bot.start();
  http = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry: bot.metrics.registry,
    readiness: () => bot.readiness(),
    logger: quietLogger,
  });
}, 60_000);

afterEach(() => {
  for (const pid of stopped) resume(pid);
});

afterAll(async () => {
  for (const pid of stopped) resume(pid);
  await http?.close();
  await bot?.stop().catch(() => {});
  await agent?.close(500).catch(() => {});
  await env?.stop().catch(() => {});
}, 30_000);

/** The redis-server process of a master (as it says itself: the helper runs it under a watchdog shell). */
async function pidOf(index: number): Promise<number> {
  const pid = Number(/^process_id:(\d+)/m.exec(await scene.cluster.node(index).info('server'))?.[1]);
  expect(pid).toBeGreaterThan(0);
  return pid;
}

async function freeze(index: number): Promise<number> {
  const pid = await pidOf(index);
  stopped.add(pid);
  process.kill(pid, 'SIGSTOP');
  return pid;
}

function resume(pid: number): void {
  process.kill(pid, 'SIGCONT');
  stopped.delete(pid);
}

const shown = (requestId: string) => adapter.delivered.filter((d) => d.target.requestId === requestId).map((d) => d.reply);
const textOf = (r: Reply) => r.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n');

/** Sends `text` as alice and resolves with its final reply and how long that took. */
async function ask(text: string, sent: (requestId: string) => void = () => {}): Promise<{ reply: Reply; ms: number }> {
  const req = chatRequest(`cns${++n}-${Math.random().toString(36).slice(2, 6)}`, text, 'alice');
  sent(req.id);
  const t0 = Date.now();
  await bot.core.handle(req, targetOf(req));
  const reply = await adapter.finalReply(req.id);
  return { reply, ms: Date.now() - t0 };
}

async function readyz(): Promise<{ status: number; failing: string[] }> {
  const res = await fetch(`${http.url}/readyz`);
  const body = (await res.json()) as { failing: string[] };
  return { status: res.status, failing: body.failing };
}

/** Whether the agent's /readyz `redis` check passes. */
async function agentRedisOk(): Promise<boolean> {
  return (await agent.readiness()).find((c) => c.name === 'redis')?.ok === true;
}

describe('a Redis Cluster master that stops answering, its connections open', () => {
  it('holds every key of the prefix on one master', async () => {
    expect((await ask('list xen1')).reply.title).toBe('Domains on xen1');
    expect(owner).not.toBe(0);
  });

  it('another master stopped changes nothing: requests are answered, /readyz stays ready', async () => {
    const pid = await freeze(bystander);
    try {
      const { reply } = await ask('list xen1');
      expect(reply.title).toBe('Domains on xen1');
      // Asked more than once: a probe of any node rather than the keys' one would hit the stopped node now and then.
      for (let i = 0; i < 3; i++) expect(await readyz()).toEqual({ status: 200, failing: [] });
      // The agent's own check likewise (ten times: a PING of any node would hit the stopped one now and then).
      for (let i = 0; i < 10; i++) expect(await agentRedisOk()).toBe(true);
    } finally {
      resume(pid);
    }
  }, 20_000);

  it('the master holding the keys stopped: each request is answered within the wait, saying what is known; then it works again', async () => {
    // A read just before: the next read within a second uses its view of the agents and goes straight to queueing.
    expect((await ask('list xen1')).reply.title).toBe('Domains on xen1');
    const pid = await freeze(owner);
    let read: Promise<{ reply: Reply; ms: number }>;
    let readId = '';
    try {
      read = ask('list xen1', (id) => {
        readId = id;
      });
      // A mutation reads the agents afresh first: unanswered, nothing is queued.
      const t0 = Date.now();
      const { reply, ms } = await ask('start mail');
      expect(reply.title).toBe('Redis is not answering');
      expect(textOf(reply)).toBe('Redis has not answered for 10 s; nothing was queued');
      expect(ms).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 3_000);
      // The read whose queueing went unanswered is told so, not left with its "queued" line.
      const unknown = 'Redis has not answered for 10 s: whether this was queued is not known yet — its answer comes here if it was';
      await adapter.until(() => shown(readId).some((r) => textOf(r) === unknown), 5_000, 'the line saying Redis has not answered');
      expect(Date.now() - t0).toBeLessThan(REDIS_COMMAND_TIMEOUT_MS + 5_000);
      const ready = await readyz();
      expect(ready.status).toBe(503);
      expect(ready.failing).toContain('redis');
      for (let i = 0; i < 3; i++) expect(await agentRedisOk()).toBe(false);
    } finally {
      resume(pid);
    }
    // Redis carries the queueing out once it answers again: the read's answer comes.
    expect((await read).reply.title).toBe('Domains on xen1');
    expect((await ask('list xen2')).reply.title).toBe('Domains on xen2');
    // Ready again once the agent's next heartbeat lands (the freeze outlasted bot.agentStaleMs).
    await expect.poll(readyz, { timeout: 5_000 }).toEqual({ status: 200, failing: [] });
  }, 30_000);
});
