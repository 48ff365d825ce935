import { afterEach } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from './capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from './sim.ts';

export interface SimStack {
  env: SimEnv;
  agent: Agent;
  bot: Bot;
  adapter: CaptureAdapter;
  config: Config;
  prefix: string;
}

/**
 * For a test file whose tests each start one stack: the returned `start` brings up a simulator with `fleet` (fast
 * clock, guests power off 100 ms after shutdown), an agent and a bot (approvals off) on the sim's config or
 * `configOf`'s, with a fresh Redis prefix; after each test the stack is stopped and its keys deleted.
 */
export function simStacks(): (fleet: SimFleetSpec, configOf?: (env: SimEnv, prefix: string) => Config) => Promise<SimStack> {
  let stack: SimStack | null = null;
  afterEach(async () => {
    if (!stack) return;
    const s = stack;
    stack = null;
    await s.bot.stop();
    await s.agent.close(1_000);
    await s.env.stop();
    await deleteKeysWithPrefix(REDIS_URL, s.prefix);
  });
  return async (fleet, configOf = (env, prefix) => simBotConfig(env, prefix, REDIS_URL)) => {
    const env = await startSimEnv({ fleet, timeScale: 0.02, shutdownDelayMs: 100 });
    const prefix = uniquePrefix();
    const config = configOf(env, prefix);
    const agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    stack = { env, agent, bot, adapter, config, prefix };
    return stack;
  };
}
