import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { AgentBeat } from '../../src/queue/coordination.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The agent's own Redis connection (journal, locks, heartbeats) goes silent both ways and stays open: a NAT or firewall
 * that forgot it. Its commands time out, and nothing would ever close it but TCP's retransmission timeout (about 15
 * minutes), the agent looking dead ("no agent") and failing every job meanwhile, though a new connection works at
 * once. After its beats have timed out for silentReconnectMs it must make that new connection itself: beat again, and
 * carry out the next /start — and a write its job was told had failed ("nothing was sent") must not land on it.
 */
let env: SimEnv;
let proxy: TcpProxy;
let agent: Agent;
let bot: Bot;
let admin: Redis;
const adapter = new CaptureAdapter();
const prefix = uniquePrefix();
// Short for a test, yet not so short that a loaded CI box's slow answers time out (a CI run saw the job's own
// commands fail before its journal write, the connection replaced for a silence that was only load).
const COMMAND_TIMEOUT_MS = 2_000;
const SILENT_RECONNECT_MS = 6_000;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: twoHostFleet([
      { name: 'news', memoryMiB: 512, vcpus: 1, running: false },
      { name: 'mail', memoryMiB: 512, vcpus: 1, running: false },
    ]),
    timeScale: 0.05,
  });
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  admin = new Redis(REDIS_URL);
  const config = simBotConfig(env, prefix, REDIS_URL);
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  agent = await startAgent({
    config,
    runner: env.pool(),
    connection: proxy.url,
    prefix,
    logger: quietLogger,
    hosts: ['xen1', 'xen2'],
    timings: { redisCommandTimeoutMs: COMMAND_TIMEOUT_MS, heartbeatMs: 200, silentReconnectMs: SILENT_RECONNECT_MS },
  });
  await bot.start();
}, 30_000);

afterAll(async () => {
  // The agent first, while its connection answers again: cut off mid-close, its sampler's last reads end unhandled.
  await bot?.stop();
  await agent?.close(1_000);
  await proxy?.stop();
  await env?.stop();
  admin?.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

async function beatOf(host: string): Promise<AgentBeat | null> {
  const raw = await admin.hget(`${prefix}:agents`, host);
  return raw === null ? null : (JSON.parse(raw) as AgentBeat);
}

describe("the agent's own Redis connection gone silent, both ways", () => {
  it('THEN the agent reconnects within seconds: it beats again and carries out the next /start', async () => {
    // The next heartbeat is the last thing that connection carries.
    await proxy.freezeAt((d) => d.includes('"seenAt"'), 'both');
    const frozen = await beatOf('xen1');
    expect(frozen).not.toBeNull();
    await expect
      .poll(async () => (await beatOf('xen1'))?.seenAt, { timeout: 15_000, interval: 100, message: 'a heartbeat after the silence' })
      .toBeGreaterThan(frozen?.seenAt ?? 0);
    await expect.poll(async () => (await agent.readiness()).every((c) => c.ok), { timeout: 5_000, interval: 100 }).toBe(true);

    const r = chatRequest('agent-redis-reconnect-1', 'start xen1:news');
    await bot.core.handle(r, targetOf(r));
    await adapter.until(() => adapter.finals(r.id).length > 0, 10_000, 'the final reply to /start');
    expect(adapter.finals(r.id)[0]).toMatchObject({ kind: 'result', tone: 'success' });
    expect(env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'news')?.id).not.toBeNull();
  }, 30_000);

  it("THEN a job's journal write that went unanswered, its asker told 'nothing was sent', never lands on the new connection", async () => {
    // From the job's journal write on, that connection carries nothing (the write never reaches Redis).
    const id = 'agent-redis-reconnect-2';
    const journalWrite = (d: Buffer) => {
      const s = d.toString('latin1');
      return /\r\nevalsha\r\n/i.test(s) && s.includes(':journal:') && s.includes(id);
    };
    proxy.holdAt(journalWrite);
    const r = chatRequest(id, 'start xen1:mail');
    await bot.core.handle(r, targetOf(r));
    await adapter.until(() => adapter.finals(r.id).length > 0, 10_000, 'the final reply to /start');
    const reply = adapter.finals(r.id)[0];
    expect(proxy.holding, JSON.stringify(reply)).toBe(true);
    expect(reply?.tone).not.toBe('success');
    expect(JSON.stringify(reply)).toContain('nothing was sent');

    const before = await beatOf('xen1');
    await expect
      .poll(async () => (await beatOf('xen1'))?.seenAt, { timeout: 15_000, interval: 100, message: 'a heartbeat after the silence' })
      .toBeGreaterThan(before?.seenAt ?? 0);
    // Anything left queued on the silent connection would have been written on the new one before that beat.
    expect((await admin.keys(`${prefix}:journal:*`)).filter((k) => k.includes(id))).toEqual([]);
    expect(env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), 'mail')?.id ?? null).toBeNull();
  }, 30_000);
});
