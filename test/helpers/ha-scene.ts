import type { BotCore, ChatAdapter } from '../../src/adapters/types.ts';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { type LeaderTerm, leaderTerm } from '../../src/app/leadership.ts';
import { Config } from '../../src/config/schema.ts';
import type { Logger } from '../../src/core/log.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';
import { quietLogger, type SimEnv, startSimEnv } from './sim.ts';
import { TcpProxy } from './tcp-proxy.ts';

/** The lease of the two-bot tests: short, so a takeover is seconds, not the default 15. */
export const HA_LEASE_MS = 3_000;

/**
 * The leader's term of one adapter, with `started` (the bot's set of started adapters) and `relay` (its recovery) as a
 * test needs them and the rest doing nothing.
 */
export function termOf(
  adapter: ChatAdapter,
  started: Set<ChatAdapter> = new Set(),
  relay: { recover: () => Promise<void> } = { recover: async () => {} },
): LeaderTerm {
  return leaderTerm({
    adapters: [adapter],
    core: {} as BotCore,
    started,
    relay,
    desk: { start: async () => {}, release: () => {} },
    alerts: { start: async () => {}, stop: async () => {} },
    schedules: () => ({ startWorkers: async () => {}, close: async () => {} }),
    platforms: new Set(),
    tick: async () => 'posted',
    logger: quietLogger,
  });
}

/** Who is on which platform in a scene's config; by default alice on the terminal and Telegram. */
export interface HaPlatforms {
  people?: Record<string, unknown>;
  channels?: unknown[];
  discord?: Record<string, unknown>;
}

/**
 * What the tests of two bots under one leader lease (bot.ha) share: the simulated fleet, a prefix with an agent of
 * its own per test, proxies in front of Redis (a leader to cut off), and one tear-down for all they started, in the
 * order that lets each part end cleanly (clients and proxies' held bytes before the bots, bots before the agents).
 */
export class HaScene {
  private readonly prefixes: string[] = [];
  private readonly bots: Bot[] = [];
  private readonly agents: Agent[] = [];
  private readonly proxies: TcpProxy[] = [];
  private readonly closers: (() => unknown)[] = [];

  private constructor(readonly env: SimEnv) {}

  static async start(): Promise<HaScene> {
    return new HaScene(await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 }));
  }

  /** The scene's config for a prefix: bot.ha on, approvals and alerts off, the fleet refresh out of the way. */
  config(prefix: string, platforms: HaPlatforms = {}): Config {
    return Config.parse({
      redis: { url: REDIS_URL, prefix },
      hosts: this.env.hosts,
      ssh: this.env.ssh,
      roles: { admin: { allow: ['*'] } },
      people: platforms.people ?? { alice: { roles: ['admin'], identities: { terminal: 'alice', telegram: '1001' } } },
      channels: platforms.channels ?? [
        { platform: 'terminal', id: '*' },
        { platform: 'telegram', id: '*' },
      ],
      ...(platforms.discord ? { discord: platforms.discord } : {}),
      audit: { file: `/tmp/${prefix}-audit.jsonl` },
      bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000, agentStaleMs: 10_000, ha: { leaseMs: HA_LEASE_MS } },
      approvals: { enabled: false },
      alerts: { enabled: false },
    });
  }

  /** A new prefix, its config, and an agent serving it. */
  async prefixWithAgent(platforms?: HaPlatforms): Promise<{ prefix: string; config: Config }> {
    const prefix = uniquePrefix();
    this.prefixes.push(prefix);
    const config = this.config(prefix, platforms);
    this.agents.push(await startAgent({ config, runner: this.env.pool(), connection: REDIS_URL, prefix, logger: quietLogger }));
    return { prefix, config };
  }

  /** A started proxy in front of the test Redis. */
  async proxy(): Promise<TcpProxy> {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    this.proxies.push(proxy);
    await proxy.start();
    return proxy;
  }

  /** A bot, started, on Redis at `redis` (a proxy's url for one to cut off). */
  async bot(config: Config, adapters: ChatAdapter[], options: { redis?: string; logger?: Logger } = {}): Promise<Bot> {
    const b = await createBot({ config, redis: options.redis ?? REDIS_URL, logger: options.logger ?? quietLogger, adapters });
    this.bots.push(b);
    await b.start();
    return b;
  }

  /**
   * Something the test opened (a Redis client, a schedule book), ended first in the tear-down, last opened first (a
   * book made on a client closes before the client).
   */
  track<T>(thing: T, close: (t: T) => unknown): T {
    this.closers.push(() => close(thing));
    return thing;
  }

  async stop(): Promise<void> {
    for (const close of [...this.closers].reverse()) await close();
    for (const p of this.proxies) p.heal();
    for (const b of this.bots) await b.stop();
    for (const a of this.agents) await a.close(1_000);
    for (const p of this.proxies) await p.stop();
    await this.env.stop();
    for (const p of this.prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  }
}
