import { existsSync, readFileSync } from 'node:fs';
import { Argument, Command, type CommanderError, InvalidArgumentError, Option } from 'commander';

/** package.json's version: `xenops --version`. One level up from src/cli.ts, two from the build's dist/src/cli.js. */
const packageJson = ['../package.json', '../../package.json'].map((p) => new URL(p, import.meta.url)).find((u) => existsSync(u));
const { version } = JSON.parse(packageJson ? readFileSync(packageJson, 'utf8') : '{"version":"unknown"}') as { version: string };

/**
 * The `xenops` command line. Subcommands import their modules lazily so `xenops parse` stays fast and never
 * loads discord.js, BullMQ or SSH.
 */
const program = new Command()
  .name('xenops')
  .description('ChatOps for Xen hosts: watch and control Dom0 guest domains from Discord, Telegram or a terminal.')
  .version(version, '-V, --version', 'print the xenops version and exit')
  // The reason, then the usage of the command it was for; set before the subcommands, which inherit both.
  .showHelpAfterError(true)
  .exitOverride(exitForUsage);

/**
 * Bad usage (an unknown subcommand or option, a missing or invalid argument) exits 2, as Unix tools do, so a script can
 * tell it from a refused config or a failed run (1); commander exits 1 for both. --help and --version exit 0.
 */
function exitForUsage(error: CommanderError): never {
  process.exit(error.exitCode === 0 ? 0 : 2);
}

const configOption = () =>
  new Option('-c, --config <path>', 'config file (default: $XENOPS_CONFIG or config/xenops.yaml)').argParser(parseConfigPath);

/** `-c ""` (an unset variable in `-c "$CONF"`) named the working directory: read as a file, it failed with EISDIR. */
export function parseConfigPath(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected the path of a config file, got an empty one');
  return value;
}

/**
 * `--hosts xen1,xen2`. An empty name (`xen1,`) was passed on and refused at start as an unknown host named nothing; a
 * name given twice started two workers on one host queue, doubling agent.concurrency there.
 */
export function parseHostList(value: string): string[] {
  const names = value.split(',').map((h) => h.trim());
  if (names.some((h) => h === '')) throw new InvalidArgumentError('expected host names separated by commas, with no empty one');
  const twice = names.find((h, i) => names.indexOf(h) !== i);
  if (twice !== undefined) throw new InvalidArgumentError(`${twice} is named twice`);
  return names;
}

/** A TCP port on the command line (0 = any free one); anything else is bad usage (exit 2). */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('expected a port number (0-65535)');
  return n;
}

/** `--http-port N`: the ops endpoints on N (0 = any free port), overriding the config's `enabled` and `port`. */
const httpPortOption = (section: 'bot' | 'agent') =>
  new Option(
    '--http-port <port>',
    `serve /healthz, /readyz and /metrics on this port (0 = any free one) at ${section}.http.host (default 127.0.0.1), even if ${section}.http.enabled is false`,
  ).argParser(parsePort);

program
  .command('parse')
  .description('Parse real xl/xm/xentop output from stdin and print JSON (list: xl/xm list; top: xentop -b; info: xl/xm info)')
  .addArgument(new Argument('<kind>', 'what the input is').choices(['list', 'top', 'info']))
  .action(async (kind: 'list' | 'top' | 'info') => {
    const { runParse } = await import('./cli/parse-command.ts');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const out = runParse(kind, Buffer.concat(chunks).toString('utf8'));
    process.stdout.write(out.stdout);
    process.stderr.write(out.stderr);
    process.exitCode = out.exitCode;
  });

program
  .command('check-config')
  .description(
    'Validate a config file: every problem with its path, plus unknown permission names, placeholder host keys and ' +
      'the dev-only dangerouslyAcceptAnyHostKey (a warning); exit 1 on any error',
  )
  .addOption(configOption())
  .option('--strict', 'warnings fail too (exit 1)')
  .action(async (opts: { config?: string; strict?: boolean }) => {
    const { runCheckConfig } = await import('./app/main.ts');
    process.exitCode = await runCheckConfig(opts.config, { strict: !!opts.strict });
  });

program
  .command('bot')
  .description('Run the chat bot (enqueues jobs, relays results); choose the adapters')
  .addOption(configOption())
  .option('--terminal', 'chat on this terminal')
  .option('--discord', 'connect to Discord (token: discord.token or DISCORD_TOKEN)')
  .option('--telegram', 'connect to Telegram (token: telegram.token or TELEGRAM_BOT_TOKEN)')
  .option(
    '--available',
    'start only those of --discord/--telegram (both when neither is given) that have a token, skipping the others with a ' +
      'warning; with none, stay up but not ready (/readyz says why) instead of exiting',
  )
  .addOption(httpPortOption('bot'))
  .action(
    async (
      opts: {
        config?: string;
        terminal?: boolean;
        discord?: boolean;
        telegram?: boolean;
        available?: boolean;
        httpPort?: number;
      },
      command: Command,
    ) => {
      // Bad usage, said before any config is read: exit 2, as for an unknown option.
      if (!opts.terminal && !opts.discord && !opts.telegram && !opts.available)
        command.error('error: choose at least one adapter: --terminal, --discord, --telegram (or --available)', { exitCode: 2 });
      const { runBot } = await import('./app/main.ts');
      exitSoon(
        await runBot({
          configPath: opts.config,
          terminal: !!opts.terminal,
          discord: !!opts.discord,
          telegram: !!opts.telegram,
          available: !!opts.available,
          httpPort: opts.httpPort,
        }),
      );
    },
  );

program
  .command('agent')
  .description('Run the Dom0 agent: consume the per-host job queues and drive xl/xm over SSH')
  .addOption(configOption())
  .addOption(
    new Option('--hosts <names>', 'serve only these hosts (comma-separated; default: agent.hosts or all)').argParser(parseHostList),
  )
  .addOption(httpPortOption('agent'))
  .action(async (opts: { config?: string; hosts?: string[]; httpPort?: number }) => {
    const { runAgent } = await import('./app/main.ts');
    exitSoon(await runAgent({ configPath: opts.config, hosts: opts.hosts, httpPort: opts.httpPort }));
  });

program
  .command('sim')
  .description('Run simulated Dom0 hosts over SSH on loopback (for the demo and tests)')
  .addOption(
    new Option('-c, --config <path>', 'config file whose simulator section describes the fleet')
      .default('config/demo.yaml')
      .argParser(parseConfigPath),
  )
  .option('--state-dir <dir>', 'where the client key and sim.env are written', 'var/sim')
  .addOption(new Option('--control-port <port>', 'HTTP control interface on 127.0.0.1 (0 = a free port)').default(0).argParser(parsePort))
  .action(async (opts: { config: string; stateDir: string; controlPort: number }) => {
    const { runSimCli } = await import('./sim/cli.ts');
    const { ConfigError } = await import('./core/errors.ts');
    try {
      exitSoon(await runSimCli(['--config', opts.config, '--state-dir', opts.stateDir, '--control-port', String(opts.controlPort)]));
    } catch (error) {
      // A fleet file that is missing or has no simulator section: one line saying so, not a stack trace.
      const e = error as NodeJS.ErrnoException;
      const why =
        error instanceof ConfigError ? error.message : e.code === 'ENOENT' && e.path ? `${e.path}: no such file` : String(e.message ?? e);
      process.stderr.write(`xenops sim: ${why}\n`);
      exitSoon(1);
    }
  });

program
  .command('demo')
  .description('Simulator + agent + bot in one process on config/demo.yaml; no tokens, no Xen host needed')
  .option('--discord', 'also connect the Discord adapter (DISCORD_TOKEN, DISCORD_API_ROOT)')
  .option('--telegram', 'also connect the Telegram adapter (TELEGRAM_BOT_TOKEN, TELEGRAM_API_ROOT)')
  .option('--no-terminal', 'no terminal chat: run until SIGTERM')
  .option('--available', 'of --discord/--telegram, connect only those that have a token (the others are skipped with a warning)')
  .addOption(
    new Option(
      '--sim-control-port <port>',
      'simulator control interface on 127.0.0.1 at this port (0 = any free one; its URL is said on stderr at start): take a host down, crash a guest, arm faults (README: Simulator control)',
    )
      .default(0)
      .argParser(parsePort),
  )
  .action(async (opts: { discord?: boolean; telegram?: boolean; terminal: boolean; available?: boolean; simControlPort: number }) => {
    const { runDemo } = await import('./app/main.ts');
    exitSoon(
      await runDemo({
        discord: !!opts.discord,
        telegram: !!opts.telegram,
        terminal: opts.terminal,
        available: !!opts.available,
        simControlPort: opts.simControlPort,
      }),
    );
  });

program
  .command('register-commands')
  .description('Register the Discord slash commands (per guild when discord.guildIds is set, else globally) and exit')
  .addOption(configOption())
  .action(async (opts: { config?: string }) => {
    const { runRegisterCommands } = await import('./app/main.ts');
    process.exitCode = await runRegisterCommands(opts.config);
  });

program
  .command('audit')
  .description('The audit trail (see `xenops audit verify --help`)')
  .command('verify')
  .description(
    'Check the hash chains of the audit trail: the JSONL file (every link from the first line) and the Redis stream ' +
      '(from its oldest entry kept); print "OK: N entries, chain intact" per chain, or name the first broken entry ' +
      'and exit 1. Checks both unless --file or --stream picks one',
  )
  .addOption(configOption())
  .option('--file [path]', 'check this JSONL file (no path: audit.file of the config)')
  .option('--stream', 'check the Redis stream (redis.url and redis.prefix of the config)')
  .action(async (opts: { config?: string; file?: string | true; stream?: boolean }) => {
    const { runAuditVerify } = await import('./app/main.ts');
    process.exitCode = await runAuditVerify({ configPath: opts.config, file: opts.file, stream: !!opts.stream });
  });

program
  .command('hosts-left-behind')
  .description(
    'List the hosts whose keys are still in Redis though no bot (this config, or one running on the prefix) and no ' +
      'live agent serves them any more (a host taken out of the config leaves its job queue and heartbeat for good); ' +
      'with --prune, delete them — a queue with a job still waiting or running there is never deleted',
  )
  .addOption(configOption())
  .option('--prune', 'delete what those hosts left behind')
  .action(async (opts: { config?: string; prune?: boolean }) => {
    const { runHostsLeftBehind } = await import('./app/hosts-left-behind.ts');
    exitSoon(await runHostsLeftBehind({ configPath: opts.config, prune: !!opts.prune }));
  });

/**
 * Long-running subcommands end when they have stopped their work: a library handle left open (a socket in its
 * close handshake, a timer) must not keep the process alive for seconds after the last reply.
 */
function exitSoon(code: number): void {
  process.exitCode = code;
  setTimeout(() => process.exit(code), 250).unref();
}

await program.parseAsync(process.argv);
