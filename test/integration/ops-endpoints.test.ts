import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { MeteredRunner } from '../../src/agent/ssh/metered-runner.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { BotMetrics } from '../../src/app/bot-metrics.ts';
import { type OpsServer, startOpsServer } from '../../src/app/ops-http.ts';
import type { Config } from '../../src/config/schema.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

/**
 * /healthz, /readyz and /metrics of an in-process bot and agents on the real Redis and the simulator, wired as
 * main.ts wires them (each process's own registry, the metered SSH runner, the readiness of bot and agent).
 */
const prefix = uniquePrefix();
let env: SimEnv;
let config: Config;
let adapter: CaptureAdapter;
let bot: Bot;
let botHttp: OpsServer;
const agents: { agent: Agent; http: OpsServer; metrics: AgentMetrics; pool: SshPool }[] = [];

async function startMeteredAgent(hosts: string[]) {
  const pool = env.pool();
  const metrics = new AgentMetrics({ pool: () => pool.stats(), processMetrics: false });
  const runner = new MeteredRunner(pool, metrics);
  const agent = await startAgent({
    config,
    runner,
    connection: REDIS_URL,
    prefix,
    logger: quietLogger,
    hosts,
    onJobDone: (op, outcome, seconds) => metrics.jobDone(op, outcome, seconds),
  });
  const http = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry: metrics.registry,
    readiness: () => agent.readiness(),
    logger: quietLogger,
  });
  const started = { agent, http, metrics, pool };
  agents.push(started);
  return started;
}

const readyz = async (url: string) => {
  const r = await fetch(`${url}/readyz`);
  return {
    status: r.status,
    body: (await r.json()) as { ready: boolean; failing: string[]; checks: { name: string; ok: boolean; detail: string }[] },
  };
};
const metricsOf = async (url: string) => (await fetch(`${url}/metrics`)).text();

beforeAll(async () => {
  env = await startSimEnv();
  const base = simBotConfig(env, prefix, REDIS_URL);
  config = { ...base, sampling: { ...base.sampling, enabled: false } };
  adapter = new CaptureAdapter();
  bot = await createBot({
    config,
    redis: REDIS_URL,
    logger: quietLogger,
    adapters: [adapter],
    metrics: new BotMetrics(undefined, { processMetrics: false }),
  });
  botHttp = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry: bot.metrics.registry,
    readiness: () => bot.readiness(),
    logger: quietLogger,
  });
}, 30_000);

afterAll(async () => {
  await botHttp?.close();
  await bot?.stop();
  for (const a of agents) {
    await a.http.close();
    await a.agent.close(1_000);
    await a.pool.close();
  }
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('ops endpoints of a bot and its agents', () => {
  it('the bot is alive but not ready before it has started', async () => {
    expect((await fetch(`${botHttp.url}/healthz`)).status).toBe(200);
    const r = await readyz(botHttp.url);
    expect(r.status).toBe(503);
    expect(r.body.failing).toContain('started');
    expect(r.body.failing).toContain('adapters');
  });

  it('is not ready while a host has no agent, ready once every host has one', async () => {
    await bot.start();
    const noAgent = await readyz(botHttp.url);
    expect(noAgent.status).toBe(503);
    expect(noAgent.body.failing).toEqual(['agents']);
    expect(noAgent.body.checks.find((c) => c.name === 'agents')?.detail).toBe('xen1: no agent ever seen; xen2: no agent ever seen');
    expect(noAgent.body.checks.find((c) => c.name === 'redis')).toEqual({ name: 'redis', ok: true, detail: 'PING PONG' });

    const first = await startMeteredAgent(['xen1']);
    const half = await readyz(botHttp.url);
    expect(half.status).toBe(503);
    expect(half.body.checks.find((c) => c.name === 'agents')?.detail).toBe('xen2: no agent ever seen');
    expect(await readyz(first.http.url)).toEqual({
      status: 200,
      body: {
        ready: true,
        failing: [],
        checks: [
          { name: 'redis', ok: true, detail: 'PING PONG' },
          { name: 'workers', ok: true, detail: 'running for xen1' },
        ],
      },
    });

    await startMeteredAgent(['xen2']);
    const ready = await readyz(botHttp.url);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.map((c) => c.name)).toEqual(['started', 'redis', 'agents', 'adapters']);
  });

  it('/metrics counts a /list through the stack, and the agent times its job and its SSH commands', async () => {
    await bot.core.handle(chatRequest('ops-list-1', 'list xen1'), targetOf(chatRequest('ops-list-1', '')));
    expect((await adapter.finalReply('ops-list-1')).kind).toBe('result');
    await bot.core.handle(chatRequest('ops-deny-1', 'stop web', 'carol'), targetOf(chatRequest('ops-deny-1', '')));
    expect((await adapter.finalReply('ops-deny-1')).kind).toBe('error');

    const botText = await metricsOf(botHttp.url);
    expect(botText).toContain('xenops_commands_total{command="list",outcome="ok"} 1');
    expect(botText).toContain('xenops_commands_total{command="stop",outcome="refused"} 1');
    expect(botText).toContain('xenops_queue_jobs{host="xen1",state="waiting"} 0');
    expect(botText).toContain('xenops_approvals_pending 0');
    expect(botText).toContain('xenops_agent_up{host="xen2"} 1');

    const agentText = await metricsOf((agents[0] as { http: OpsServer }).http.url);
    expect(agentText).toMatch(/xenops_job_duration_seconds_count\{op="domain.list",outcome="ok"\} [1-9]/);
    expect(agentText).toMatch(/xenops_ssh_command_duration_seconds_count\{host="xen1",outcome="ok"\} [1-9]/);
    expect(agentText).toContain('xenops_ssh_connects_total{host="xen1"} 1');
    expect(agentText).toContain('xenops_ssh_connected{host="xen1"} 1');
  });

  it('an agent that stops is no longer ready, and neither is the bot', async () => {
    const second = agents[1];
    if (!second) throw new Error('the second agent did not start');
    await second.agent.close(1_000);
    const agentReady = await readyz(second.http.url);
    expect(agentReady.status).toBe(503);
    expect(agentReady.body.failing).toEqual(expect.arrayContaining(['workers']));
    const botReady = await readyz(botHttp.url);
    expect(botReady.status).toBe(503);
    expect(botReady.body.checks.find((c) => c.name === 'agents')?.detail).toMatch(/^xen2: its agent stopped \d+ s ago$/);
  });
});
