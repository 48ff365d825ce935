import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { privateRedisConfig } from '../helpers/private-redis-stack.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-cluster.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * A Redis Cluster that no longer serves the prefix's slot, though the master holding it answers: another master (no
 * replica) stopped for longer than cluster-node-timeout, so with cluster-require-full-coverage (Redis's default) the
 * cluster says CLUSTERDOWN to every keyed command, xenops's too. A PING names no key and is answered all the same: the
 * bot's /readyz `redis` check must not pass then.
 */
let cluster: RedisClusterHandle;
let env: SimEnv;
let agent: Agent;
let bot: Bot;
let prefix: string;
let owner: number;
let bystander: number;
const stopped = new Set<number>();

beforeAll(async () => {
  cluster = await startRedisCluster();
  prefix = uniquePrefix();
  owner = (await cluster.ownerOf(prefix)).index;
  bystander = [0, 1, 2].find((i) => i !== owner) as number;
  env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
  const target = { url: cluster.urls[owner] as string, cluster: true };
  const config = privateRedisConfig(env, target.url, prefix, { redis: { ...target, prefix } });
  agent = await startAgent({ config, runner: env.pool(), connection: target, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: target, logger: quietLogger, adapters: [new CaptureAdapter()] });
  await bot.start();
}, 60_000);

afterAll(async () => {
  for (const pid of stopped) process.kill(pid, 'SIGCONT');
  await bot?.stop().catch(() => {});
  await agent?.close(500).catch(() => {});
  await env?.stop().catch(() => {});
  await cluster?.stop();
}, 30_000);

const redisCheck = async () => (await bot.readiness()).find((c) => c.name === 'redis');
const clusterState = async (index: number) => /cluster_state:(\w+)/.exec(await cluster.node(index).cluster('INFO'))?.[1];

describe("/readyz's redis check on a Cluster", () => {
  it('fails while the cluster refuses every command on the keys, though their master answers PING', async () => {
    expect((await redisCheck())?.ok).toBe(true);
    const pid = Number(/^process_id:(\d+)/m.exec(await cluster.node(bystander).info('server'))?.[1]);
    stopped.add(pid);
    process.kill(pid, 'SIGSTOP');
    try {
      await expect.poll(() => clusterState(owner), { timeout: 25_000, interval: 250 }).toBe('fail');
      // What xenops meets on its keys now: refused by the master that holds them.
      await expect(cluster.node(owner).exists(`${prefix}:anything`)).rejects.toThrow(/CLUSTERDOWN/);
      const check = await redisCheck();
      expect(check, JSON.stringify(check)).toMatchObject({ ok: false });
    } finally {
      process.kill(pid, 'SIGCONT');
      stopped.delete(pid);
    }
    await expect.poll(() => clusterState(owner), { timeout: 25_000, interval: 250 }).toBe('ok');
  }, 60_000);
});
