import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatAdapter } from '../adapters/types.ts';
import { type StartAgentOptions, startAgent } from '../agent/agent.ts';
import { SshPool } from '../agent/ssh/pool.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import { generateClientKey, loadSimFleetSpec, type StartedSimulator, startSimulator } from '../sim/index.ts';
import { createBot } from './bot.ts';

export const DEMO_CONFIG_PATH = 'config/demo.yaml';

export interface DemoStackOptions {
  redisUrl: string;
  logger: Logger;
  /**
   * Built once the config is known (the terminal needs its default user, Discord its API root), the simulator and the
   * agent running: the last step before the chat starts, so what is said here comes before the terminal's prompt.
   */
  makeAdapters: (config: Config, sim: StartedSimulator) => Promise<ChatAdapter[]> | ChatAdapter[];
  /** Overrides config/demo.yaml's prefix (tests use a unique one per run). */
  prefix?: string;
  /** Also serve the simulator's HTTP control interface on 127.0.0.1 at this port (0 = any free one); absent = none. */
  controlPort?: number;
  /** The agent's sampler timings (tests: a silent xentop given up on in a second); default the agent's own. */
  sampler?: StartAgentOptions['sampler'];
  /** Simulator speed: 1 = real time. */
  timeScale?: number;
  shutdownDelayMs?: number;
  /** Extra environment for config substitution (DISCORD_API_ROOT…). */
  env?: NodeJS.ProcessEnv;
  /** Last-minute config changes (tests: shorter timeouts). */
  adjustConfig?: (config: Config) => Config;
}

export interface DemoStack {
  config: Config;
  sim: StartedSimulator;
  pool: SshPool;
  bot: Awaited<ReturnType<typeof createBot>>;
  adapters: ChatAdapter[];
  stop(): Promise<void>;
}

/** XENOPS_SIM_<HOST>_PORT / _HOSTKEY and XENOPS_SIM_CLIENT_KEY: what config/demo.yaml substitutes. */
export function simEnv(sim: StartedSimulator, clientKeyPath: string): Record<string, string> {
  const env: Record<string, string> = { XENOPS_SIM_CLIENT_KEY: clientKeyPath };
  for (const [name, handle] of Object.entries(sim.hosts)) {
    const key = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    env[`XENOPS_SIM_${key}_PORT`] = String(handle.port);
    env[`XENOPS_SIM_${key}_HOSTKEY`] = handle.hostKeyFingerprint;
  }
  return env;
}

/**
 * The whole demo in one process: the simulated fleet, an agent over the real SSH pool (pinning the simulator's
 * freshly generated host keys), and the bot with the given adapters. Used by `npm run demo` and the e2e tests.
 */
export async function startDemoStack(options: DemoStackOptions): Promise<DemoStack> {
  const keyDir = mkdtempSync(join(tmpdir(), 'xenops-demo-'));
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(keyDir, { recursive: true, force: true })];
  const stop = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        options.logger.warn({ err: error }, 'demo stack: error while stopping');
      }
    }
  };
  try {
    const clientKey = generateClientKey();
    const clientKeyPath = join(keyDir, 'client_ed25519');
    writeFileSync(clientKeyPath, clientKey.privateKey, { mode: 0o600 });
    chmodSync(clientKeyPath, 0o600);

    const sim = await startSimulator({
      fleet: loadSimFleetSpec(readFileSync(DEMO_CONFIG_PATH, 'utf8'), DEMO_CONFIG_PATH),
      authorizedKeys: [clientKey.publicKey],
      ...(options.timeScale === undefined ? {} : { timeScale: options.timeScale }),
      ...(options.shutdownDelayMs === undefined ? {} : { shutdownDelayMs: options.shutdownDelayMs }),
      ...(options.controlPort === undefined ? {} : { controlPort: options.controlPort }),
    });
    cleanups.push(() => sim.stop());

    const env = { ...process.env, ...options.env, ...simEnv(sim, clientKeyPath), REDIS_URL: options.redisUrl };
    let config = loadConfig(DEMO_CONFIG_PATH, env);
    if (options.prefix) config = { ...config, redis: { ...config.redis, prefix: options.prefix } };
    if (options.adjustConfig) config = options.adjustConfig(config);

    const pool = new SshPool({ hosts: config.hosts, defaults: config.ssh, logger: options.logger });
    cleanups.push(() => pool.close());

    const agent = await startAgent({
      config,
      runner: pool,
      connection: config.redis,
      prefix: config.redis.prefix,
      logger: options.logger,
      ...(options.sampler ? { sampler: options.sampler } : {}),
    });
    cleanups.push(() => agent.close(5_000));

    const adapters = await options.makeAdapters(config, sim);
    const bot = await createBot({ config, redis: config.redis, logger: options.logger, adapters });
    await bot.start();
    cleanups.push(() => bot.stop());

    return { config, sim, pool, bot, adapters, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
