import { randomBytes } from 'node:crypto';
import type { ChatAdapter } from '../adapters/types.ts';
import { startAgent } from '../agent/agent.ts';
import { SshPool } from '../agent/ssh/pool.ts';
import { loadConfig, resolveConfigPath } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { ConfigError } from '../core/errors.ts';
import { createLogger, type Logger, redactSecrets } from '../core/log.ts';
import { createBot } from './bot.ts';
import { startDemoStack } from './demo-stack.ts';
import { ensureRedis, RedisUnavailableError } from './ensure-redis.ts';
import { deleteKeysWithPrefix } from './redis-keys.ts';

/**
 * The only place that constructs things: each `xenops` subcommand is one function here, returning an exit code.
 */

function loadOrReport(configPath: string | undefined): Config | null {
  const path = resolveConfigPath(configPath);
  try {
    return loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return null;
    }
    throw error;
  }
}

export function runCheckConfig(configPath: string | undefined): number {
  const config = loadOrReport(configPath);
  if (!config) return 1;
  const hosts = Object.keys(config.hosts);
  process.stdout.write(
    `${resolveConfigPath(configPath)}: OK — ${hosts.length} host(s) (${hosts.join(', ')}), ${Object.keys(config.people).length} people, ${Object.keys(config.roles).length} roles\n`,
  );
  return 0;
}

/** Resolves on the first SIGINT/SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

/** A crash in one handler must not kill the process: log it and go on. */
function keepAliveOnStrayErrors(logger: Logger): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection (kept running)'));
  process.on('uncaughtException', (error) => logger.error({ err: error }, 'uncaught exception (kept running)'));
}

async function makeAdapters(
  config: Config,
  logger: Logger,
  wanted: { terminal: boolean; discord: boolean; telegram: boolean },
): Promise<{ adapters: ChatAdapter[]; terminalDone: Promise<void> | null }> {
  const adapters: ChatAdapter[] = [];
  let terminalDone: Promise<void> | null = null;
  if (wanted.terminal) {
    const { TerminalAdapter } = await import('../adapters/terminal/index.ts');
    const terminal = new TerminalAdapter({ config, input: process.stdin, output: process.stdout });
    terminalDone = terminal.done;
    adapters.push(terminal);
  }
  if (wanted.discord) {
    const { DiscordAdapter } = await import('../adapters/discord/index.ts');
    try {
      adapters.push(new DiscordAdapter({ config, logger }));
    } catch (error) {
      throw new AdapterUnavailableError(error instanceof Error ? error.message : String(error));
    }
  }
  if (wanted.telegram) {
    const { TelegramAdapter } = await import('../adapters/telegram/index.ts');
    try {
      adapters.push(new TelegramAdapter({ config, logger }));
    } catch (error) {
      throw new AdapterUnavailableError(error instanceof Error ? error.message : String(error));
    }
  }
  return { adapters, terminalDone };
}

export async function runBot(options: {
  configPath: string | undefined;
  terminal: boolean;
  discord: boolean;
  telegram: boolean;
}): Promise<number> {
  const config = loadOrReport(options.configPath);
  if (!config) return 1;
  const logger = createLogger(config.logLevel);
  if (!options.terminal && !options.discord && !options.telegram) {
    process.stderr.write('xenops bot: choose at least one adapter: --terminal, --discord, --telegram\n');
    return 1;
  }
  keepAliveOnStrayErrors(logger);
  let made: Awaited<ReturnType<typeof makeAdapters>>;
  try {
    made = await makeAdapters(config, logger, options);
  } catch (error) {
    if (!(error instanceof AdapterUnavailableError)) throw error;
    process.stderr.write(`xenops bot: ${error.message}\n`);
    return 1;
  }
  const { adapters, terminalDone } = made;
  const bot = await createBot({ config, redis: config.redis.url, logger, adapters });
  await bot.start();
  logger.info({ adapters: adapters.map((a) => a.platform) }, 'bot started');
  await (terminalDone && !options.discord && !options.telegram ? Promise.race([terminalDone, untilSignal()]) : untilSignal());
  await bot.stop();
  return 0;
}

export async function runAgent(options: { configPath: string | undefined; hosts: string[] | undefined }): Promise<number> {
  const config = loadOrReport(options.configPath);
  if (!config) return 1;
  const logger = createLogger(config.logLevel);
  keepAliveOnStrayErrors(logger);
  const pool = new SshPool({ hosts: config.hosts, defaults: config.ssh, logger });
  const hosts = options.hosts ?? config.agent.hosts;
  const unknown = (hosts ?? []).filter((h) => !(h in config.hosts));
  if (unknown.length > 0) {
    process.stderr.write(`xenops agent: unknown host(s): ${unknown.join(', ')}\n`);
    return 1;
  }
  const agent = await startAgent({
    config,
    runner: pool,
    connection: config.redis.url,
    prefix: config.redis.prefix,
    logger,
    ...(hosts ? { hosts } : {}),
  });
  logger.info({ hosts: hosts ?? Object.keys(config.hosts) }, 'agent started');
  const signal = await untilSignal();
  logger.info({ signal }, 'agent stopping: finishing active jobs');
  await agent.close(60_000);
  await pool.close();
  return 0;
}

export async function runDemo(options: { discord: boolean; telegram: boolean; terminal: boolean }): Promise<number> {
  const logger = createLogger(process.env['XENOPS_LOG_LEVEL'] ?? 'warn');
  keepAliveOnStrayErrors(logger);
  let redis: Awaited<ReturnType<typeof ensureRedis>>;
  try {
    redis = await ensureRedis();
  } catch (error) {
    if (error instanceof RedisUnavailableError) {
      process.stderr.write(`xenops demo: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  // A fresh prefix per run: no state leaks between demo runs sharing one Redis, and cleanup is one SCAN.
  const prefix = `{xenops-demo-${randomBytes(4).toString('hex')}}`;
  let terminalDone: Promise<void> | null = null;
  let stack: Awaited<ReturnType<typeof startDemoStack>>;
  try {
    stack = await startDemoStack({
      redisUrl: redis.url,
      logger,
      prefix,
      makeAdapters: async (config) => {
        const made = await makeAdapters(config, logger, options);
        terminalDone = made.terminalDone;
        return made.adapters;
      },
    });
  } catch (error) {
    await redis.stop();
    process.stderr.write(`xenops demo: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
  try {
    if (!options.terminal) process.stderr.write('xenops demo: running without a terminal; SIGTERM or Ctrl-C stops it\n');
    await (terminalDone ?? untilSignal());
  } finally {
    await stack.stop();
    await deleteKeysWithPrefix(redis.url, prefix);
    await redis.stop();
  }
  return 0;
}

export async function runRegisterCommands(configPath: string | undefined): Promise<number> {
  const config = loadOrReport(configPath);
  if (!config) return 1;
  const logger = createLogger(config.logLevel);
  const { registerCommands } = await import('../adapters/discord/register.ts');
  const { commandSpecs } = await import('../core/define-command.ts');
  const { COMMANDS } = await import('../../commands/index.ts');
  try {
    const changed = await registerCommands(config, commandSpecs(COMMANDS), logger);
    process.stdout.write(
      changed === 0 ? 'Discord commands already up to date\n' : `Discord commands registered (${changed} scope(s) updated)\n`,
    );
    return 0;
  } catch (error) {
    process.stderr.write(`xenops register-commands: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`);
    return 1;
  }
}

export class AdapterUnavailableError extends Error {
  override readonly name = 'AdapterUnavailableError';
}
