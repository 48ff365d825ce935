import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, type BotTimings, createBot } from '../../src/app/bot.ts';
import type { Config, SshDefaults } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from './capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { chatRequest, targetOf } from './requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from './sim.ts';
import { TcpProxy } from './tcp-proxy.ts';

/**
 * The bot's Redis timings for a test of its connections going silent: short for a test, yet not so short that a
 * loaded CI box's slow answers time out.
 */
export const SILENT_TIMINGS = { redisCommandTimeoutMs: 1_000, checkMs: 200, silentReconnectMs: 3_000 };

/**
 * How soon after all its connections go silent the bot answers again: silentReconnectMs, the replacement itself
 * (ioredis's 2 s disconnectTimeout at most) and a /list's round.
 */
export const SILENT_RECOVERY_MS = SILENT_TIMINGS.silentReconnectMs + 8_000;

export interface ProxiedBotOptions {
  /** The config of the bot, the agent and the bot beside (default simBotConfig's). */
  config?: (env: SimEnv, prefix: string) => Config;
  /** The proxied bot's adapter's platform (default terminal). */
  platform?: CaptureAdapter['platform'];
  /** A second bot on this platform, straight on Redis (not behind the proxy), beside the proxied one. */
  beside?: CaptureAdapter['platform'];
  /** The proxied bot's timings (default SILENT_TIMINGS). */
  timings?: Partial<BotTimings>;
  /** Overrides of the agent's SSH settings (env.pool's), such as a longer command timeout. */
  agentSsh?: Partial<SshDefaults>;
}

export interface ProxiedBot {
  readonly prefix: string;
  readonly env: SimEnv;
  /** Between the bot and Redis: what the test makes go silent. */
  readonly proxy: TcpProxy;
  readonly bot: Bot;
  readonly adapter: CaptureAdapter;
  /** The bot beside, straight on Redis (with `beside` only). */
  readonly other: Bot;
  readonly otherAdapter: CaptureAdapter;
  readonly agent: Agent;
  /** A connection of the test's own, straight on Redis. */
  readonly redis: Redis;
  /**
   * The final reply to `text` asked of the proxied bot (or, `on: 'beside'`, of the bot beside), as `user` (alice by
   * default), waited for `waitMs` (15 s by default).
   */
  ask(id: string, text: string, as?: { on?: 'proxied' | 'beside'; user?: string; userId?: string; waitMs?: number }): Promise<Reply>;
  /** Stops the proxy, then the proxied bot, before the file's end (its delivery chains finished); afterAll leaves the bot. */
  stopBot(): Promise<void>;
}

/**
 * A real bot whose every Redis connection goes through a TcpProxy (SILENT_TIMINGS unless given), an agent on the two-host
 * simulated fleet straight on Redis, under a prefix of their own: started before the file's tests, stopped after
 * them. Call at the top of the file and read its fields inside the tests.
 */
export function proxiedBot(options: ProxiedBotOptions = {}): ProxiedBot {
  const prefix = uniquePrefix();
  const adapter = new CaptureAdapter(options.platform);
  const otherAdapter = new CaptureAdapter(options.beside);
  let env: SimEnv | undefined;
  let proxy: TcpProxy | undefined;
  let redis: Redis | undefined;
  let bot: Bot | undefined;
  let other: Bot | undefined;
  let agent: Agent | undefined;
  let botStopped = false;
  beforeAll(async () => {
    env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.05 });
    proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    redis = new Redis(REDIS_URL);
    const config = options.config?.(env, prefix) ?? simBotConfig(env, prefix, REDIS_URL);
    bot = await createBot({
      config,
      redis: proxy.url,
      logger: quietLogger,
      adapters: [adapter],
      timings: options.timings ?? SILENT_TIMINGS,
    });
    if (options.beside) other = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [otherAdapter] });
    agent = await startAgent({
      config,
      runner: env.pool({}, options.agentSsh),
      connection: REDIS_URL,
      prefix,
      logger: quietLogger,
      hosts: ['xen1', 'xen2'],
    });
    await bot.start();
    await other?.start();
  }, 30_000);
  afterAll(async () => {
    // A fault a failed test left armed must not catch a command of the teardown.
    env?.sim.faults.clear();
    // The proxy first: a connection left frozen would hold the bot's close.
    await proxy?.stop();
    if (!botStopped) await bot?.stop();
    await other?.stop();
    await agent?.close(1_000);
    await env?.stop();
    redis?.disconnect();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });
  const started = <T>(value: T | undefined, what = 'proxiedBot'): T => {
    if (value === undefined) throw new Error(`${what}: not started (call proxiedBot at the top of the file)`);
    return value;
  };
  return {
    prefix,
    adapter,
    otherAdapter,
    get env() {
      return started(env);
    },
    get proxy() {
      return started(proxy);
    },
    get bot() {
      return started(bot);
    },
    get other() {
      return started(other, 'the bot beside (pass `beside`)');
    },
    get agent() {
      return started(agent);
    },
    get redis() {
      return started(redis);
    },
    async ask(id, text, { on = 'proxied', user = 'alice', userId = user, waitMs = 15_000 } = {}) {
      const [via, capture] = on === 'beside' ? [started(other, 'the bot beside (pass `beside`)'), otherAdapter] : [started(bot), adapter];
      const r = chatRequest(id, text, user, capture.platform, userId);
      await via.core.handle(r, targetOf(r));
      await capture.until(() => capture.finals(r.id).length > 0, waitMs, `the final reply to ${text}`);
      return capture.finals(r.id)[0] as Reply;
    },
    async stopBot() {
      await started(proxy).stop();
      await started(bot).stop();
      botStopped = true;
    },
  };
}
