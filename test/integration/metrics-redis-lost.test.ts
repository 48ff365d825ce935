import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { BotMetrics } from '../../src/app/bot-metrics.ts';
import { type OpsServer, startOpsServer } from '../../src/app/ops-http.ts';
import type { Config } from '../../src/config/schema.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * README, Operations: `xenops_agent_up` is "1 while the host has a live agent heartbeat". The bot reads the heartbeats
 * from Redis on scrape; when it cannot (Redis unreachable from the bot), the series must not keep saying 1.
 */
const prefix = uniquePrefix();
let env: SimEnv;
let config: Config;
let proxy: TcpProxy;
let bot: Bot;
let http: OpsServer;
let agent: Agent;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv();
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  const base = simBotConfig(env, prefix, proxy.url);
  config = { ...base, sampling: { ...base.sampling, enabled: false } };
  bot = await createBot({
    config,
    redis: proxy.url,
    logger: quietLogger,
    adapters: [new CaptureAdapter()],
    metrics: new BotMetrics(undefined, { processMetrics: false }),
  });
  http = await startOpsServer({
    host: '127.0.0.1',
    port: 0,
    registry: bot.metrics.registry,
    readiness: () => bot.readiness(),
    logger: quietLogger,
  });
  await bot.start();
  pool = env.pool();
  agent = await startAgent({ config, runner: pool, connection: REDIS_URL, prefix, logger: quietLogger });
}, 30_000);

afterAll(async () => {
  await proxy?.heal();
  await http?.close();
  await bot?.stop();
  await agent?.close(1_000);
  await pool?.close();
  await proxy?.stop();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const agentUp = async () => {
  const text = await (await fetch(`${http.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith('xenops_agent_up{'));
};

describe('xenops_agent_up', () => {
  it('does not keep saying 1 once the heartbeats cannot be read, nor after the agent has stopped', async () => {
    expect(await agentUp()).toEqual(['xenops_agent_up{host="xen1"} 1', 'xenops_agent_up{host="xen2"} 1']);
    proxy.partition();
    await agent.close(1_000); // the agent stops; its last heartbeat says so
    // /readyz names what fails (each check has its second), not "the checks did not finish".
    const readyz = await fetch(`${http.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(((await readyz.json()) as { failing: string[] }).failing).toEqual(expect.arrayContaining(['redis', 'agents']));
    // Once the scrape cache (5 s) is past, the series is left out: never a stale 1.
    await expect.poll(agentUp, { timeout: 15_000, interval: 500 }).not.toContain('xenops_agent_up{host="xen1"} 1');
  }, 30_000);
});
