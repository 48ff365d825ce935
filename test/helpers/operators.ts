import { afterEach } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import type { CaptureAdapter } from './capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { chatRequest, targetOf } from './requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from './sim.ts';

/**
 * Several operators at once against one fleet: the simulator, an agent and a bot on real Redis, with `bob` a second
 * admin at another terminal beside the simulated fleet's people (alice admin…).
 */
export interface OperatorsStack<A extends CaptureAdapter = CaptureAdapter> {
  env: SimEnv;
  agent: Agent;
  bot: Bot;
  adapter: A;
  config: Config;
  prefix: string;
}

export async function startOperators<A extends CaptureAdapter>(fleet: SimFleetSpec, adapter: A): Promise<OperatorsStack<A>> {
  const env = await startSimEnv({ fleet, timeScale: 0.02, shutdownDelayMs: 100 });
  const prefix = uniquePrefix();
  const base = simBotConfig(env, prefix, REDIS_URL);
  const config = Config.parse({ ...base, people: { ...base.people, bob: { roles: ['admin'], identities: { terminal: 'bob' } } } });
  const agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
  return { env, agent, bot, adapter, config, prefix };
}

export async function stopOperators(s: OperatorsStack): Promise<void> {
  await s.bot.stop();
  await s.agent.close(1_000);
  await s.env.stop();
  await deleteKeysWithPrefix(REDIS_URL, s.prefix);
}

/**
 * For a file whose tests each start a stack of their own: the function returned starts one on `fleet` with a new
 * adapter from `makeAdapter`; it is stopped after the test. Call at the top of the file.
 */
export function operatorsPerTest<A extends CaptureAdapter>(makeAdapter: () => A): (fleet: SimFleetSpec) => Promise<OperatorsStack<A>> {
  let stack: OperatorsStack<A> | null = null;
  afterEach(async () => {
    const s = stack;
    stack = null;
    if (s) await stopOperators(s);
  });
  return async (fleet) => {
    stack = await startOperators(fleet, makeAdapter());
    return stack;
  };
}

/** Sends `text` as `user` (request id `id`) and returns the id; the reply is read from the stack's adapter. */
export async function sendAs(s: OperatorsStack, text: string, user: string, id: string): Promise<string> {
  const req = chatRequest(id, text, user);
  await s.bot.core.handle(req, targetOf(req));
  return id;
}
