import { Writable } from 'node:stream';
import { type Agent, type AgentTimings, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import type { ChatRequest } from '../../src/core/request.ts';
import { CaptureAdapter } from './capture-adapter.ts';
import { type PrivateRedis, startPrivateRedis } from './redis-server.ts';
import { chatRequest } from './requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from './sim.ts';

/**
 * A private redis-server (restartable, freezable), the in-process simulator (demo fleet), one bot with a
 * terminal CaptureAdapter and agents, all on that Redis.
 */
export interface PrivateRedisStack {
  redis: PrivateRedis;
  env: SimEnv;
  config: Config;
  prefix: string;
  adapter: CaptureAdapter;
  bot: Bot;
  agents: Agent[];
  startAgent(timings?: Partial<AgentTimings>): Promise<Agent>;
  ask(text: string, user?: string): ChatRequest;
  /**
   * Resolves when the bot next logs a message matching `pattern` (warnings and up), e.g. /^Redis is reachable again/
   * after redis.restart(): its own client is back, not only the server. Call it before what makes the bot log it.
   */
  logged(pattern: RegExp): Promise<void>;
  stop(): Promise<void>;
}

let n = 0;

export function privateRedisConfig(env: SimEnv, url: string, prefix: string, extra: Record<string, unknown> = {}): Config {
  return Config.parse({
    redis: { url, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: { admin: { allow: ['*'] } },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice', telegram: '1001' } },
      bob: { roles: ['admin'], identities: { terminal: 'bob', telegram: '1002' } },
    },
    channels: [
      { platform: 'terminal', id: '*' },
      { platform: 'telegram', id: '*' },
    ],
    audit: { file: `/tmp/xenops-private-redis-${prefix.replace(/[{}]/g, '')}-audit.jsonl` },
    bot: { readTimeoutMs: 8_000, fleetRefreshMs: 600_000, agentStaleMs: 10_000 },
    agent: { heartbeatMs: 500 },
    approvals: { enabled: false },
    alerts: { enabled: false },
    sampling: { enabled: false },
    ...extra,
  });
}

export async function startPrivateRedisStack(
  options: { extra?: Record<string, unknown>; agentTimings?: Partial<AgentTimings> } = {},
): Promise<PrivateRedisStack> {
  const redis = await startPrivateRedis();
  const env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
  const prefix = `{private-redis-${Math.random().toString(36).slice(2, 8)}}`;
  const config = privateRedisConfig(env, redis.url, prefix, options.extra);
  const agents: Agent[] = [];
  const startOne = async (timings?: Partial<AgentTimings>) => {
    const a = await startAgent({
      config,
      runner: env.pool(),
      connection: redis.url,
      prefix,
      logger: quietLogger,
      ...(timings ? { timings } : {}),
    });
    agents.push(a);
    return a;
  };
  await startOne(options.agentTimings);
  const adapter = new CaptureAdapter();
  const waiting: { pattern: RegExp; resolve: () => void }[] = [];
  const botLogger = createLogger(
    'warn',
    new Writable({
      write(chunk, _enc, done) {
        const msg = String((JSON.parse(String(chunk)) as { msg?: unknown }).msg);
        for (const w of waiting.splice(0))
          if (w.pattern.test(msg)) w.resolve();
          else waiting.push(w);
        done();
      },
    }),
  );
  const bot = await createBot({ config, redis: redis.url, logger: botLogger, adapters: [adapter] });
  await bot.start();
  return {
    redis,
    env,
    config,
    prefix,
    adapter,
    bot,
    agents,
    startAgent: startOne,
    ask(text, user = 'alice') {
      const req = chatRequest(`hh${++n}-${Math.random().toString(36).slice(2, 6)}`, text, user);
      return req;
    },
    logged: (pattern) => new Promise<void>((resolve) => waiting.push({ pattern, resolve })),
    async stop() {
      await bot.stop().catch(() => {});
      for (const a of agents) await a.close(500).catch(() => {});
      await env.stop().catch(() => {});
      await redis.stop().catch(() => {});
    },
  };
}
