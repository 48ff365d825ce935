import { afterAll, afterEach, beforeAll } from 'vitest';
import { type Agent, type StartAgentOptions, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config, type SshDefaults } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from './capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { chatRequest, targetOf } from './requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from './sim.ts';

/**
 * Several operators at once against one fleet: the simulator, an agent and a bot on real Redis, with `bob` a second
 * admin at another terminal beside the simulated fleet's people (alice admin…).
 */
export interface OperatorsStack<A extends CaptureAdapter = CaptureAdapter> {
  env: SimEnv;
  /** The first of `agents`. */
  agent: Agent;
  agents: Agent[];
  bot: Bot;
  adapter: A;
  config: Config;
  prefix: string;
}

/**
 * One agent of a stack, as it differs from the default one (every host, default timings, the simulator's SSH
 * defaults): the hosts it serves, its timings, its SSH pool's settings.
 */
export interface AgentSpec {
  hosts?: string[];
  timings?: StartAgentOptions['timings'];
  ssh?: Partial<SshDefaults>;
}

/** `agents`: one per agent process (default one serving every host), each with its own SSH pool. */
export async function startOperators<A extends CaptureAdapter>(
  fleet: SimFleetSpec,
  adapter: A,
  agents: AgentSpec[] = [{}],
): Promise<OperatorsStack<A>> {
  const env = await startSimEnv({ fleet, timeScale: 0.02, shutdownDelayMs: 100 });
  const prefix = uniquePrefix();
  const base = simBotConfig(env, prefix, REDIS_URL);
  const config = Config.parse({ ...base, people: { ...base.people, bob: { roles: ['admin'], identities: { terminal: 'bob' } } } });
  return startOn(env, prefix, config, adapter, agents);
}

/** The agents of `specs` and a started bot for `config` on the simulator. */
async function startOn<A extends CaptureAdapter>(
  env: SimEnv,
  prefix: string,
  config: Config,
  adapter: A,
  specs: AgentSpec[] = [{}],
): Promise<OperatorsStack<A>> {
  const agents: Agent[] = [];
  for (const { hosts, timings, ssh } of specs)
    agents.push(
      await startAgent({
        config,
        runner: env.pool({}, ssh),
        connection: REDIS_URL,
        prefix,
        logger: quietLogger,
        ...(hosts ? { hosts } : {}),
        ...(timings ? { timings } : {}),
      }),
    );
  const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
  return { env, agent: agents[0] as Agent, agents, bot, adapter, config, prefix };
}

export async function stopOperators(s: OperatorsStack): Promise<void> {
  // A fault a test left armed (a hang on a migration's target) would hold the agents' jobs past their close.
  await s.env.sim.faults.clearAll();
  await s.bot.stop();
  for (const a of s.agents) await a.close(1_000);
  await s.env.stop();
  await deleteKeysWithPrefix(REDIS_URL, s.prefix);
}

/**
 * For a file whose tests each start a stack of their own: the function returned starts one on `fleet` with a new
 * adapter from `makeAdapter` (and `agents`, as startOperators takes them); it is stopped after the test. Call at the
 * top of the file.
 */
export function operatorsPerTest<A extends CaptureAdapter>(
  makeAdapter: () => A,
): (fleet: SimFleetSpec, agents?: AgentSpec[]) => Promise<OperatorsStack<A>> {
  let stack: OperatorsStack<A> | null = null;
  afterEach(async () => {
    const s = stack;
    stack = null;
    if (s) await stopOperators(s);
  });
  return async (fleet, agents) => {
    stack = await startOperators(fleet, makeAdapter(), agents);
    return stack;
  };
}

/** Sends `text` as `user` (request id `id`) and returns the id; the reply is read from the stack's adapter. */
export async function sendAs(s: OperatorsStack, text: string, user: string, id: string): Promise<string> {
  const req = chatRequest(id, text, user);
  await s.bot.core.handle(req, targetOf(req));
  return id;
}

/** Who may do what in a scene (`roles`, `people`), and any other part of the config it sets (`sampling`, …). */
export interface SceneConfig {
  roles: Record<string, unknown>;
  people: Record<string, unknown>;
  [part: string]: unknown;
}

/** A stack for one test file (see operatorsScene); its parts are there once the file's tests run. */
export interface OperatorsScene extends OperatorsStack {
  /** Sends `text` as `user` (request id `id`) and resolves with its final reply. */
  ask(id: string, text: string, user: string): Promise<Reply>;
}

/**
 * One stack for a test file's tests, on `fleet`: its people asking at the terminal (every terminal channel let in),
 * approvals off, the fleet refresh out of the way. Started before the file's tests, stopped after them; `beforeAgent`
 * writes what must be in Redis before the agent and bot start. Call at the top of the file.
 */
export function operatorsScene(
  fleet: SimFleetSpec,
  sceneConfig: SceneConfig,
  beforeAgent?: (prefix: string) => Promise<void>,
): OperatorsScene {
  const prefix = uniquePrefix();
  const adapter = new CaptureAdapter('terminal');
  let stack: OperatorsStack | null = null;
  const started = () => {
    if (!stack) throw new Error('operatorsScene: the stack is not started (call it at the top of the file)');
    return stack;
  };
  beforeAll(async () => {
    const env = await startSimEnv({ fleet, timeScale: 0.05 });
    const config = Config.parse({
      redis: { url: REDIS_URL, prefix },
      hosts: env.hosts,
      ssh: env.ssh,
      channels: [{ platform: 'terminal', id: '*' }],
      audit: { file: `/tmp/${prefix}-audit.jsonl` },
      bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000 },
      approvals: { enabled: false },
      ...sceneConfig,
    });
    try {
      await beforeAgent?.(prefix);
      stack = await startOn(env, prefix, config, adapter);
    } catch (e) {
      await env.stop();
      await deleteKeysWithPrefix(REDIS_URL, prefix);
      throw e;
    }
  }, 60_000);
  afterAll(async () => {
    if (stack) await stopOperators(stack);
  });
  return {
    prefix,
    adapter,
    get env() {
      return started().env;
    },
    get agent() {
      return started().agent;
    },
    get agents() {
      return started().agents;
    },
    get bot() {
      return started().bot;
    },
    get config() {
      return started().config;
    },
    async ask(id, text, user) {
      await sendAs(started(), text, user, id);
      return adapter.finalReply(id);
    },
  };
}
