import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { AgentMetrics } from '../../src/agent/metrics.ts';
import { MeteredRunner } from '../../src/agent/ssh/metered-runner.ts';
import type { SshPool } from '../../src/agent/ssh/pool.ts';
import type { Config } from '../../src/config/schema.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

const prefix = uniquePrefix();
let env: SimEnv;
let config: Config;
let agent: Agent;
let pool: SshPool;
let metrics: AgentMetrics;

const line = async (re: RegExp) => (await metrics.registry.metrics()).split('\n').filter((l) => re.test(l));

beforeAll(async () => {
  env = await startSimEnv();
  const base = simBotConfig(env, prefix, REDIS_URL);
  config = { ...base, sampling: { ...base.sampling, enabled: true, intervalSeconds: 1 } };
  pool = env.pool();
  metrics = new AgentMetrics({ pool: () => pool.stats(), processMetrics: false });
  const runner = new MeteredRunner(pool, metrics);
  agent = await startAgent({ config, runner, connection: REDIS_URL, prefix, logger: quietLogger, hosts: ['xen1'] });
}, 30_000);

afterAll(async () => {
  await agent?.close(1_000);
  await pool?.close();
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

/**
 * `xenops_ssh_connects_total` counts every connection the agent's pool makes. An agent samples its hosts all the time
 * (sampling is on by default): its xentop stream is what holds the connection between jobs. A connection the stream
 * made, and a reconnection after the host dropped it, are counted while the agent has no job to run (they were not:
 * connects were only seen around a command, by looking before and after it).
 */
describe('xenops_ssh_connects_total', () => {
  it('counts the reconnection after the host dropped the connection', async () => {
    await expect
      .poll(() => line(/^xenops_ssh_connected\{host="xen1"\}/), { timeout: 10_000 })
      .toEqual(['xenops_ssh_connected{host="xen1"} 1']);
    // Connected (the sampler's xentop stream runs on it): that connection was established, and is counted.
    await expect.poll(() => line(/^xenops_ssh_connects_total/), { timeout: 5_000 }).toEqual(['xenops_ssh_connects_total{host="xen1"} 1']);
    expect(env.sim.faults.dropConnections('xen1')).toBeGreaterThan(0);
    // Not polled for "connected 0" in between: a command under way when the host drops the connection (the sampler's
    // first list of the host, at start) is tried again on a new one at once, within a poll's interval.
    await expect
      .poll(() => line(/^xenops_ssh_connected\{host="xen1"\}/), { timeout: 15_000 })
      .toEqual(['xenops_ssh_connected{host="xen1"} 1']);
    await expect.poll(() => line(/^xenops_ssh_connects_total/), { timeout: 5_000 }).toEqual(['xenops_ssh_connects_total{host="xen1"} 2']);
  }, 60_000);
});
