import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import type { ChatAdapter } from '../adapters/types.ts';
import type { Agent } from '../agent/agent.ts';
import type { LintFinding } from '../config/lint.ts';
import { loadConfig, resolveConfigPath } from '../config/load.ts';
import type { OpsHttpConfig } from '../config/ops-schema.ts';
import type { Config } from '../config/schema.ts';
import { registerConfigSecrets } from '../config/secrets.ts';
import { echoValue } from '../core/args.ts';
import { ConfigError } from '../core/errors.ts';
import { createLogger, type Logger, redactSecrets } from '../core/log.ts';
import type { ReadinessCheck } from '../core/readiness.ts';
import { RedisWaitAborted } from '../queue/redis-ready.ts';
import { ensureRedis, RedisUnavailableError } from './ensure-redis.ts';
import { startIdleCollector } from './idle-collector.ts';
import { type OpsServer, startOpsServer } from './ops-http.ts';
import { deleteKeysWithPrefix } from './redis-keys.ts';

/**
 * The only place that constructs things: each `xenops` subcommand is one function here, returning an exit code.
 * What only one subcommand needs is imported in it: the bot never loads the agent's SSH stack (ssh2 and its WASM
 * memory) nor the simulator, and the agent never loads the bot (1.7 MiB of the agent's heap after a full GC),
 * which would stay in its memory for good.
 */

function loadOrReport(configPath: string | undefined): Config | null {
  const path = resolveConfigPath(configPath);
  try {
    const config = loadConfig(path);
    registerConfigSecrets(config);
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      // A file that is not there is one sentence (with what to do), not a list of one problem at "(root)".
      const [only] = error.issues;
      process.stderr.write(`${error.issues.length === 1 && only?.path === '' ? only.message : error.message}\n`);
      return null;
    }
    throw error;
  }
}

/**
 * The config the bot or the agent runs on, checked as `xenops check-config` checks it. On any error every problem is
 * printed as check-config prints it, and nothing is started or connected to: a misspelled permission in a deny rule
 * denies nothing, and a bot started on it granted what it was meant to deny without a word. The warnings come back, for
 * the process's log (see logConfigWarnings).
 */
async function loadToRun(
  configPath: string | undefined,
  who: 'bot' | 'agent',
): Promise<{ config: Config; path: string; warnings: LintFinding[] } | null> {
  const { configProblems } = await import('../config/problems.ts');
  const { formatProblems } = await import('../config/lint.ts');
  const path = resolveConfigPath(configPath);
  // The agent serves no chat command: it leaves their names unchecked (see configProblems).
  const { checked, problems } = configProblems(path, process.env, who === 'bot' ? await commandNames() : undefined);
  if (!checked.config || problems.some((p) => p.severity === 'error')) {
    // A file that is not there is one sentence (with what to do), not a list of one problem.
    const [only] = problems;
    process.stderr.write(problems.length === 1 && only?.path === '' ? `${only.message}\n` : formatProblems(path, problems));
    return null;
  }
  registerConfigSecrets(checked.config);
  return { config: checked.config, path, warnings: problems };
}

/** The chat commands' names, which a config's channel filters and command overrides may use. */
async function commandNames(): Promise<string[]> {
  const { COMMANDS } = await import('../../commands/index.ts');
  return COMMANDS.map((c) => c.name);
}

/** Each warning check-config would print, once, as the process starts: it goes on (check-config --strict refuses them). */
function logConfigWarnings(logger: Logger, loaded: { path: string; warnings: readonly LintFinding[] }): void {
  for (const w of loaded.warnings) logger.warn({ config: loaded.path, path: w.path }, `${w.path}: ${w.message}`);
}

/**
 * `xenops check-config`: the schema's problems and the lint's findings (unknown permission names, placeholder host
 * keys, the dev-only host key override), each with its path. Exit 1 on any error, or on a warning with --strict.
 */
export async function runCheckConfig(configPath: string | undefined, options: { strict?: boolean } = {}): Promise<number> {
  const { configProblems } = await import('../config/problems.ts');
  const { formatProblems } = await import('../config/lint.ts');
  const path = resolveConfigPath(configPath);
  const { checked, problems } = configProblems(path, process.env, await commandNames());
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  if (problems.length > 0) process.stderr.write(formatProblems(path, problems));
  if (errors > 0 && onlyUnsetSimulatorVariables(checked.raw, problems))
    process.stderr.write(
      `the XENOPS_SIM_* variables are written by \`npx xenops sim -c ${path}\` to var/sim/sim.env (or STATE_DIR/sim.env with --state-dir): with it running, \`set -a; . var/sim/sim.env; set +a\` in this shell, then run this again\n`,
    );
  if (errors > 0) return 1;
  if (warnings > 0 && options.strict) {
    process.stderr.write('--strict: warnings count as errors\n');
    return 1;
  }
  const config = checked.config as Config;
  const hosts = Object.keys(config.hosts);
  process.stdout.write(
    `${path}: OK — ${hosts.length} host(s) (${hosts.join(', ')}), ${Object.keys(config.people).length} people, ${Object.keys(config.roles).length} roles${warnings > 0 ? ` (${warnings} warning${warnings === 1 ? '' : 's'})` : ''}\n`,
  );
  return 0;
}

/**
 * Every error is an unset variable that `xenops sim` writes for this config's own `simulator` section (config/demo.yaml's
 * hosts are filled from them): a new operator checking the demo without the simulator running. Keyed on the section, not
 * on the XENOPS_SIM_ shape, so a config without one (a user's own variables) gets no word about a simulator.
 */
function onlyUnsetSimulatorVariables(raw: unknown, problems: readonly LintFinding[]): boolean {
  const hosts = (raw as { simulator?: { hosts?: unknown } } | null)?.simulator?.hosts;
  if (hosts === null || typeof hosts !== 'object') return false;
  // As src/sim/cli.ts names them in sim.env.
  const written = new Set(['XENOPS_SIM_CLIENT_KEY', 'XENOPS_SIM_CONTROL_URL']);
  for (const name of Object.keys(hosts)) {
    const up = name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    written.add(`XENOPS_SIM_${up}_PORT`).add(`XENOPS_SIM_${up}_HOSTKEY`);
  }
  return problems
    .filter((p) => p.severity === 'error')
    .every((p) => written.has(/^environment variable (\w+) is not set$/.exec(p.message)?.[1] ?? ''));
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
  /** Start only the chosen chat platforms that have a token (both when none is chosen); with none, stay up, not ready. */
  available?: boolean;
  /** Serve /healthz, /readyz, /metrics on this port (0 = any free one), whatever bot.http.enabled says. */
  httpPort?: number | undefined;
}): Promise<number> {
  const loaded = await loadToRun(options.configPath, 'bot');
  if (!loaded) return 1;
  const { config } = loaded;
  const wanted = { terminal: options.terminal, discord: options.discord, telegram: options.telegram };
  if (options.available && !wanted.terminal && !wanted.discord && !wanted.telegram) {
    wanted.discord = true;
    wanted.telegram = true;
  }
  if (!wanted.terminal && !wanted.discord && !wanted.telegram) {
    process.stderr.write('xenops bot: choose at least one adapter: --terminal, --discord, --telegram (or --available)\n');
    return 1;
  }
  const logger = chatSafeLogger(logLevelOf(config), options.terminal, 'bot');
  keepAliveOnStrayErrors(logger);
  logConfigWarnings(logger, loaded);
  const skipped = options.available ? skipPlatformsWithoutToken(config, wanted, logger) : [];
  let made: Awaited<ReturnType<typeof makeAdapters>>;
  try {
    made = await makeAdapters(config, logger, wanted);
  } catch (error) {
    if (!(error instanceof AdapterUnavailableError)) throw error;
    process.stderr.write(`xenops bot: ${error.message}\n`);
    return 1;
  }
  const { adapters, terminalDone } = made;
  if (adapters.length === 0)
    logger.warn(
      { skipped },
      'no chat platform has a token: the bot stays up but not ready (see /readyz); set DISCORD_TOKEN or TELEGRAM_BOT_TOKEN and restart it',
    );
  const signal = untilSignal();
  const [{ createBot }, { BotMetrics }] = await Promise.all([import('./bot.ts'), import('./bot-metrics.ts')]);
  const metrics = new BotMetrics();
  const bot = await createBot({
    config,
    redis: config.redis,
    logger,
    adapters,
    // The terminal bot's log is a file: the wait is said on stderr too. Elsewhere the log is stderr and says it once.
    ...(options.terminal ? { onRedisWait: (line: string) => process.stderr.write(`xenops bot: ${line}\n`) } : {}),
    metrics,
    skipped,
  });
  // Listening before start(): while the bot waits for Redis, /healthz answers and /readyz says what it waits for.
  let ops: OpsServer | null;
  try {
    ops = await maybeStartOps(config.bot.http, options.httpPort, metrics.registry, () => bot.readiness(), logger);
  } catch (error) {
    process.stderr.write(`xenops bot: ${error instanceof Error ? error.message : String(error)}\n`);
    await boundedStop(() => bot.stop(), logger);
    return 1;
  }
  // A quiet bot gives a burst's memory back (src/app/idle-collector.ts).
  const collector = startIdleCollector({
    onCollect: (c) =>
      logger.debug(
        { kind: c.kind, heapMiB: [c.beforeBytes, c.afterBytes].map((b) => Math.round(b / 2 ** 20)), ms: Math.round(c.ms) },
        'idle collection',
      ),
  });
  if (collector === null) logger.warn("node gives no way to collect garbage here: the bot keeps a burst's memory at rest");
  const stopAll = async () => {
    collector?.stop();
    await bot.stop();
    await ops?.close();
  };
  const started = bot.start();
  // A signal while waiting for Redis stops the bot too. A start that fails (a chat platform that cannot be reached, a
  // token it refuses) ends it with 1: left up, it would serve nothing, and its supervisor would never start it again.
  const first = await Promise.race([
    started.then(
      () => 'started' as const,
      (error: unknown) => ({ failed: error }),
    ),
    signal,
  ]);
  if (first !== 'started') {
    await boundedStop(stopAll, logger);
    if (typeof first === 'string') return 0;
    const why = redactSecrets(String(first.failed));
    logger.error({ err: why }, 'bot could not start; exiting');
    // The terminal bot's log is a file: said where its user looks too.
    if (options.terminal) process.stderr.write(`xenops bot: could not start: ${why}\n`);
    return 1;
  }
  logger.info({ adapters: adapters.map((a) => a.platform), skipped: skipped.map((s) => s.platform) }, 'bot started');
  await (terminalDone && !wanted.discord && !wanted.telegram ? Promise.race([terminalDone, signal]) : signal);
  await boundedStop(stopAll, logger);
  return 0;
}

const TOKEN_SOURCES = { discord: 'discord.token or DISCORD_TOKEN', telegram: 'telegram.token or TELEGRAM_BOT_TOKEN' } as const;

/** `--available`: the chosen platforms without a token are dropped from `wanted`, each with a warning. */
function skipPlatformsWithoutToken(
  config: Config,
  wanted: { discord: boolean; telegram: boolean },
  logger: Logger,
): { platform: string; reason: string }[] {
  const tokens = {
    discord: config.discord?.token ?? process.env['DISCORD_TOKEN'],
    telegram: config.telegram?.token ?? process.env['TELEGRAM_BOT_TOKEN'],
  };
  const skipped: { platform: string; reason: string }[] = [];
  for (const platform of ['discord', 'telegram'] as const) {
    if (!wanted[platform] || tokens[platform]) continue;
    wanted[platform] = false;
    const reason = `no token: set ${TOKEN_SOURCES[platform]}`;
    skipped.push({ platform, reason });
    logger.warn({ platform }, `${platform} skipped: ${reason}`);
  }
  return skipped;
}

/** The ops endpoints when the config enables them or a port is given on the command line; null otherwise. */
async function maybeStartOps(
  http: OpsHttpConfig,
  portOverride: number | undefined,
  registry: Registry,
  readiness: () => Promise<ReadinessCheck[]>,
  logger: Logger,
): Promise<OpsServer | null> {
  if (!http.enabled && portOverride === undefined) return null;
  return startOpsServer({ host: http.host, port: portOverride ?? http.port, registry, readiness, logger });
}

/** SIGTERM must stop a process within 5 s: whatever has not closed by then is abandoned. */
async function boundedStop(stop: () => Promise<void>, logger: Logger, ms = 4_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), ms);
  });
  // A stop that fails is said and the exit goes on: thrown from here, it would leave the process up instead.
  const stopped = stop().then(
    () => 'done' as const,
    (error: unknown) => {
      logger.warn({ err: redactSecrets(String(error)) }, 'stopping failed; exiting anyway');
      return 'done' as const;
    },
  );
  const outcome = await Promise.race([stopped, expired]);
  clearTimeout(timer);
  if (outcome === 'expired') logger.warn(`did not stop within ${ms} ms; exiting anyway`);
}

/**
 * With a terminal chat on stdout, logs go to a file: a raw log line must never look like a reply. Otherwise to
 * stderr, as a service's logs should.
 */
function chatSafeLogger(level: string, terminal: boolean, name: string): Logger {
  if (!terminal) return createLogger(level);
  const file = process.env['XENOPS_LOG_FILE'] ?? `var/xenops-${name}.log`;
  mkdirSync(dirname(file), { recursive: true });
  return createLogger(level, pino.destination({ dest: file, sync: false, mkdir: true }));
}

export async function runAgent(options: {
  configPath: string | undefined;
  hosts: string[] | undefined;
  /** Serve /healthz, /readyz, /metrics on this port (0 = any free one), whatever agent.http.enabled says. */
  httpPort?: number | undefined;
}): Promise<number> {
  const loaded = await loadToRun(options.configPath, 'agent');
  if (!loaded) return 1;
  const { config } = loaded;
  const logger = createLogger(logLevelOf(config));
  keepAliveOnStrayErrors(logger);
  logConfigWarnings(logger, loaded);
  const [{ startAgent }, { AgentMetrics }, { MeteredRunner }, { SshPool }, { privateKeyProblems }] = await Promise.all([
    import('../agent/agent.ts'),
    import('../agent/metrics.ts'),
    import('../agent/ssh/metered-runner.ts'),
    import('../agent/ssh/pool.ts'),
    import('../agent/ssh/private-key.ts'),
  ]);
  const pool = new SshPool({ hosts: config.hosts, defaults: config.ssh, logger });
  const hosts = options.hosts ?? config.agent.hosts;
  const unknown = (hosts ?? []).filter((h) => !Object.hasOwn(config.hosts, h));
  if (unknown.length > 0) {
    process.stderr.write(`xenops agent: unknown host(s): ${unknown.join(', ')}\n`);
    return 1;
  }
  // The served hosts' SSH keys are read (and decrypted) now: a missing file or a wrong passphrase is the operator's to
  // hear at start-up, by path, not first from a chat user's command. The other hosts are served meanwhile, as sshd
  // goes on without a host key it cannot load.
  for (const problem of await privateKeyProblems(config.hosts, hosts ?? Object.keys(config.hosts)))
    logger.error(`${problem}: commands for that host will fail until it is fixed`);
  // The gauges of the hosts this agent serves: another agent's hosts, never connected from here, would read 0 for good
  // (an alert on xenops_ssh_connected == 0 firing when agents split the fleet).
  const served = new Set(hosts ?? Object.keys(config.hosts));
  const metrics = new AgentMetrics({ pool: () => Object.fromEntries(Object.entries(pool.stats()).filter(([h]) => served.has(h))) });
  // Every remote command is timed and its failures counted; connects are the pool's own count, read on scrape.
  const runner = new MeteredRunner(pool, metrics);
  let agent: Agent | null = null;
  let ops: OpsServer | null;
  try {
    // Listening before the workers start: /readyz says "starting" while they wait for Redis.
    ops = await maybeStartOps(
      config.agent.http,
      options.httpPort,
      metrics.registry,
      async () => (agent ? agent.readiness() : [{ name: 'started', ok: false, detail: 'starting (waiting for Redis)' }]),
      logger,
    );
  } catch (error) {
    process.stderr.write(`xenops agent: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const stopping = untilSignal();
  // A signal while it waits for Redis ends it at once, with 0; one later in the start lets the start finish and then
  // stops it as usual (its jobs handed back). A failure to start ends it with 1, so that its supervisor starts it again
  // rather than it staying up serving nothing.
  const abort = new AbortController();
  void stopping.then(() => abort.abort());
  try {
    agent = await startAgent({
      config,
      runner,
      onJobDone: (op, outcome, seconds) => metrics.jobDone(op, outcome, seconds),
      connection: config.redis,
      prefix: config.redis.prefix,
      logger,
      ...(hosts ? { hosts } : {}),
      signal: abort.signal,
    });
  } catch (error) {
    await ops?.close();
    await pool.close();
    if (error instanceof RedisWaitAborted) return 0;
    logger.error({ err: redactSecrets(String(error)) }, 'agent could not start; exiting');
    return 1;
  }
  logger.info({ hosts: hosts ?? Object.keys(config.hosts) }, 'agent started');
  const signal = await stopping;
  const graceMs = config.agent.closeGraceMs;
  logger.info(
    { signal },
    `agent stopping: finishing active jobs for up to ${Math.round(graceMs / 1000)} s, then leaving them to another agent`,
  );
  const running = agent;
  await boundedStop(
    async () => {
      await running.close(graceMs);
      await pool.close();
      await ops?.close();
    },
    logger,
    // The default grace (3 s) keeps SIGTERM under 5 s; a longer agent.closeGraceMs is honoured (systemd's TimeoutStopSec must exceed it).
    Math.max(4_500, graceMs + 1_500),
  );
  return 0;
}

export async function runDemo(options: {
  discord: boolean;
  telegram: boolean;
  terminal: boolean;
  available?: boolean;
  /** The simulator's control interface on 127.0.0.1 at this port; default 0, any free one. */
  simControlPort?: number;
}): Promise<number> {
  const logger = chatSafeLogger(logLevelOf({ logLevel: 'warn' }), options.terminal, 'demo');
  const signal = untilSignal();
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
  const { startDemoStack } = await import('./demo-stack.ts');
  let stack: Awaited<ReturnType<typeof startDemoStack>>;
  try {
    stack = await startDemoStack({
      redisUrl: redis.url,
      logger,
      prefix,
      controlPort: options.simControlPort ?? 0,
      makeAdapters: async (config, sim) => {
        // Where to take a host down or crash a guest while chatting, said once and before the terminal draws its
        // prompt (a line on stderr after it would land on the prompt's line). The log may be a file: stderr it is.
        if (sim.control) process.stderr.write(`xenops demo: ${simControlHint(sim.control.url, Object.keys(sim.hosts))}\n`);
        const wanted = { terminal: options.terminal, discord: options.discord, telegram: options.telegram };
        // --available: a platform without a token is left out (said on stderr too: the demo's log may be a file).
        if (options.available)
          for (const s of skipPlatformsWithoutToken(config, wanted, logger))
            process.stderr.write(`xenops demo: ${s.platform} skipped (${s.reason})\n`);
        const made = await makeAdapters(config, logger, wanted);
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
    // SIGTERM stops the demo even while stdin is still open.
    const done: Promise<unknown> = terminalDone !== null ? Promise.race([terminalDone, signal]) : signal;
    await done;
  } finally {
    await boundedStop(async () => {
      await stack.stop();
      await deleteKeysWithPrefix(redis.url, prefix);
      await redis.stop();
    }, logger);
  }
  return 0;
}

/** The demo's one line about its simulator control interface, with a command to try on one of its own hosts. */
export function simControlHint(url: string, hosts: readonly string[]): string {
  // The last host: in config/demo.yaml xen2, with only the file server on it; xen1 (gateway, web, mail) keeps answering.
  const host = hosts.at(-1);
  const tryIt = host === undefined ? '' : `try: curl -X POST ${url}/hosts/${host}/down; `;
  return `simulator control on ${url} (${tryIt}README: Simulator control)`;
}

export async function runRegisterCommands(configPath: string | undefined): Promise<number> {
  const config = loadOrReport(configPath);
  if (!config) return 1;
  const logger = createLogger(logLevelOf(config));
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

/** What `xenops audit verify` reads of the config: where the file is, and which Redis and prefix hold the stream. */
type AuditVerifyConfig = Pick<Config, 'audit' | 'redis'>;

/**
 * The config's `redis` and `audit` sections alone (see checkConfigSections): a problem elsewhere in the file (the
 * demo's simulator variables unset, a host's bad value) does not stop a check of the trail. Null when they are refused,
 * said as loadOrReport says it.
 */
async function loadAuditVerifyConfig(configPath: string | undefined): Promise<AuditVerifyConfig | null> {
  const { checkConfigSections } = await import('../config/load.ts');
  const { redisPasswords } = await import('../config/secrets.ts');
  const { registerSecret } = await import('../core/log.ts');
  const path = resolveConfigPath(configPath);
  const { config, issues } = checkConfigSections(path, ['audit', 'redis']);
  if (!config) {
    const [only] = issues;
    process.stderr.write(`${issues.length === 1 && only?.path === '' ? only.message : new ConfigError(path, issues).message}\n`);
    return null;
  }
  // The one secret those sections hold: kept out of what a refused connection's error says.
  for (const secret of [config.redis.url, ...config.redis.nodes].flatMap(redisPasswords)) registerSecret(secret);
  return config;
}

/**
 * `xenops audit verify`: checks the hash chain of the audit JSONL file and/or of the Redis stream (both unless
 * `file` or `stream` picks one; `file: true` = the config's file). One line per chain on stdout; exit 1 when a
 * chain is broken or cannot be read, or when there is no stream at the key (as for a file that is not there). A file
 * given by path needs no config.
 */
export async function runAuditVerify(options: {
  configPath: string | undefined;
  file?: string | true | undefined;
  stream: boolean;
}): Promise<number> {
  const { verifyAuditFile } = await import('./audit.ts');
  const { formatReport } = await import('./audit-chain.ts');
  const checkFile = options.file !== undefined || !options.stream;
  const checkStream = options.stream || options.file === undefined;
  let config: AuditVerifyConfig | null = null;
  if (checkStream || typeof options.file !== 'string') {
    config = await loadAuditVerifyConfig(options.configPath);
    if (!config) return 1;
  }
  let code = 0;
  if (checkFile) {
    const path = typeof options.file === 'string' ? options.file : (config as AuditVerifyConfig).audit.file;
    try {
      const report = await verifyAuditFile(path);
      process.stdout.write(`${formatReport(path, report)}\n`);
      if (report.broken) code = 1;
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      process.stderr.write(`xenops audit verify: ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}\n`);
      code = 1;
    }
  }
  if (checkStream && config && (await verifyStreamOf(config))) code = 1;
  return code;
}

/** The stream's line of `xenops audit verify`; true when it is broken, missing or cannot be read. */
async function verifyStreamOf(config: AuditVerifyConfig): Promise<boolean> {
  const { auditStreamPresence, verifyAuditStream } = await import('./audit.ts');
  const { formatReport } = await import('./audit-chain.ts');
  const { connectForOneRun } = await import('../queue/redis-connection.ts');
  const key = `${config.redis.prefix}:audit`;
  const head = `${key}:head`;
  const where = redactSecrets(config.redis.url);
  let redis: Awaited<ReturnType<typeof connectForOneRun>> | null = null;
  try {
    redis = await connectForOneRun(config.redis);
    const found = await auditStreamPresence(redis, key);
    // "OK: 0 entries" there was assurance about a trail that is not there (a wrong prefix or URL, the demo's own
    // per-run prefix gone): said as a file that is not there is.
    if (found.kind === 'missing') {
      process.stderr.write(
        `xenops audit verify: no audit stream at ${key} on ${where}: no bot has written one there (check redis.url and redis.prefix; --file checks the file alone)\n`,
      );
      return true;
    }
    const lost =
      found.kind === 'deleted'
        ? `the stream is gone but its head key ${head} names ${found.head.slice(0, 12)}…: the stream was deleted`
        : found.kind === 'emptied'
          ? `the stream exists but holds no entry, and there is no head key ${head}: its entries were deleted (xenops's own trimming always keeps the newest)`
          : null;
    if (lost !== null) {
      process.stdout.write(`stream ${key}: BROKEN: ${lost}\n`);
      return true;
    }
    const report = await verifyAuditStream(redis, key);
    const unanchored =
      found.kind === 'headless' && !report.broken
        ? ` (no head key ${head}, as an older xenops left it: newest entries deleted would go unnoticed)`
        : '';
    process.stdout.write(`${formatReport(`stream ${key}`, report)}${unanchored}\n`);
    return report.broken !== null;
  } catch (error) {
    process.stderr.write(
      `xenops audit verify: cannot read the stream ${key} at ${where}: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`,
    );
    return true;
  } finally {
    redis?.disconnect();
  }
}

export class AdapterUnavailableError extends Error {
  override readonly name = 'AdapterUnavailableError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const saidNotALevel = new Set<string>();

/**
 * `XENOPS_LOG_LEVEL` (debug for a while, without touching the config file) over the config's `logLevel`. One that is no
 * level is said once on stderr and the config's level used: ignored silently, the debug lines someone asked for never
 * came and nothing said why; refused, a typo in a knob for reading logs would keep the bot or agent down. An empty one
 * (an env file's `XENOPS_LOG_LEVEL=`) counts as unset.
 */
export function logLevelOf(
  config: Pick<Config, 'logLevel'>,
  env: NodeJS.ProcessEnv = process.env,
  say: (line: string) => void = (line) => process.stderr.write(line),
): string {
  const written = env['XENOPS_LOG_LEVEL'];
  const level = written?.trim().toLowerCase();
  if (level && LOG_LEVELS.includes(level)) return level;
  if (written !== undefined && level !== '' && !saidNotALevel.has(written)) {
    saidNotALevel.add(written);
    say(
      `xenops: XENOPS_LOG_LEVEL=${redactSecrets(echoValue(written))} is not a log level (${LOG_LEVELS.join(', ')}): logging at ${config.logLevel}\n`,
    );
  }
  return config.logLevel;
}
