import { OutcomeUnknownError, RemoteCommandError, TransportError, UserError } from '../../core/errors.ts';
import { lastLines, sanitizeConsole } from '../parsers/console.ts';
import { parseInfo } from '../parsers/info.ts';
import { parseList } from '../parsers/list.ts';
import { classifyOutcome, parseMigrationLine } from '../parsers/outcome.ts';
import { domainStatusFromFlags, isUp } from '../parsers/state.ts';
import { parseXentop } from '../parsers/xentop.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { argv, checked } from './argv.ts';
import type {
  ConsoleResult,
  DomainSummary,
  HostInfo,
  MigrateResult,
  OperationContext,
  StartResult,
  StopResult,
  Toolstack,
  ToolstackKind,
  TopRow,
} from './types.ts';

export interface DriverHost {
  name: string;
  configDirs: readonly string[];
  consoleLogDir: string;
  shutdownTimeoutSeconds: number;
}

/** Read-back polling: the toolstack reports "started" before the domain shows; bounded, with a small backoff. */
export interface ReadBackPolicy {
  attempts: number;
  delayMs: number;
}

const DEFAULT_READ_BACK: ReadBackPolicy = { attempts: 10, delayMs: 200 };

/**
 * xl and xm share one implementation: they differ in argv details, which argv.ts handles, and in how state
 * flags read (domainStatusFromFlags). Every mutation reads state first and reports only what it read back.
 */
export class XenToolstack implements Toolstack {
  constructor(
    readonly kind: ToolstackKind,
    private readonly runner: RemoteRunner,
    private readonly host: DriverHost,
    private readonly readBack: ReadBackPolicy = DEFAULT_READ_BACK,
  ) {}

  private async run(
    words: string[],
    ctx?: OperationContext,
    extra: { timeoutMs?: number; onStderr?: (s: string) => void } = {},
  ): Promise<RunResult> {
    return this.runner.run(this.host.name, words, {
      ...(ctx?.signal ? { signal: ctx.signal } : {}),
      ...(extra.timeoutMs ? { timeoutMs: extra.timeoutMs } : {}),
      ...(extra.onStderr ? { onStderr: extra.onStderr } : {}),
    });
  }

  private async checkedRun(words: string[], ctx?: OperationContext): Promise<RunResult> {
    const r = await this.run(words, ctx);
    if (r.code !== 0) throw new RemoteCommandError(this.host.name, words, r.code, r.stderr);
    return r;
  }

  async list(ctx?: OperationContext): Promise<DomainSummary[]> {
    const r = await this.checkedRun(argv.list(this.kind), ctx);
    const parsed = parseList(r.stdout);
    if (!parsed.sawHeader)
      throw new RemoteCommandError(
        this.host.name,
        argv.list(this.kind),
        0,
        r.stdout,
        `${this.kind} list on ${this.host.name} printed no list header`,
      );
    const running: DomainSummary[] = parsed.rows.map((row) => ({
      name: row.name,
      id: row.id,
      status: domainStatusFromFlags(row.state, this.kind),
      flags: row.state,
      memoryMiB: row.memoryMiB,
      vcpus: row.vcpus,
      cpuSeconds: row.cpuSeconds,
      configPath: null,
    }));
    const configs = await this.definedConfigs(ctx);
    for (const d of running) d.configPath = configs.get(d.name) ?? null;
    const names = new Set(running.map((d) => d.name));
    for (const [name, path] of configs) {
      if (names.has(name)) continue;
      running.push({ name, id: null, status: 'defined', flags: '', memoryMiB: null, vcpus: null, cpuSeconds: null, configPath: path });
    }
    return running;
  }

  /** NAME.cfg files in the config dirs; the first dir holding a name wins. A missing dir is fine. */
  private async definedConfigs(ctx?: OperationContext): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    for (const dir of this.host.configDirs) {
      const r = await this.run(argv.listDir(dir), ctx);
      if (r.code !== 0) continue;
      for (const file of r.stdout.split('\n').map((l) => l.trim())) {
        const m = /^([A-Za-z0-9][A-Za-z0-9_.:+-]{0,63})\.cfg$/.exec(file);
        if (m?.[1] && !found.has(m[1]) && !/^\d+$/.test(m[1])) found.set(m[1], `${dir}/${file}`);
      }
    }
    return found;
  }

  async info(ctx?: OperationContext): Promise<HostInfo> {
    return parseInfo((await this.checkedRun(argv.info(this.kind), ctx)).stdout);
  }

  async top(ctx?: OperationContext): Promise<TopRow[]> {
    const r = await this.checkedRun(argv.top(), ctx);
    const rows = parseXentop(r.stdout).rows;
    // xentop truncates names to 10 characters; give back the full name where exactly one domain fits.
    if (rows.some((row) => row.name.length === 10)) {
      const names = (await this.list(ctx)).filter((d) => d.status !== 'defined').map((d) => d.name);
      for (const row of rows) {
        const matches = names.filter((n) => n.length > 10 && n.startsWith(row.name));
        if (matches.length === 1 && matches[0]) row.name = matches[0];
      }
    }
    return rows;
  }

  private async find(domain: string, ctx?: OperationContext): Promise<DomainSummary | undefined> {
    return (await this.list(ctx)).find((d) => d.name === domain);
  }

  private async poll(
    domain: string,
    done: (d: DomainSummary | undefined) => boolean,
    ctx?: OperationContext,
  ): Promise<DomainSummary | undefined> {
    let d = await this.find(domain, ctx);
    for (let i = 1; i < this.readBack.attempts && !done(d); i++) {
      await new Promise((r) => setTimeout(r, this.readBack.delayMs));
      d = await this.find(domain, ctx);
    }
    return d;
  }

  async start(domain: string, ctx?: OperationContext): Promise<StartResult> {
    checked(domain, true);
    const before = await this.find(domain, ctx);
    if (before && before.status !== 'defined') return { outcome: 'already-running', domain: before };
    const configPath = before?.configPath;
    if (!configPath) {
      throw new UserError(
        'domain.notFound',
        `no config for ${domain} on ${this.host.name} (looked for ${domain}.cfg in ${this.host.configDirs.join(', ')})`,
      );
    }
    ctx?.onProgress?.({ stage: 'create', message: `creating ${domain} from ${configPath}` });
    try {
      const r = await this.run(argv.create(this.kind, configPath), ctx);
      const outcome = classifyOutcome('create', r);
      if (outcome.kind !== 'ok' && outcome.kind !== 'alreadyExists')
        throw new RemoteCommandError(this.host.name, argv.create(this.kind, configPath), r.code, r.stderr, outcome.message);
    } catch (error) {
      // Lost mid-command: whether the domain started is read back below, never by creating again.
      if (!(error instanceof OutcomeUnknownError)) throw error;
      ctx?.onProgress?.({ stage: 'verify', message: `lost contact while creating ${domain}; reading its state back` });
    }
    ctx?.onProgress?.({ stage: 'verify', message: `waiting for ${domain} to show as running` });
    const after = await this.poll(domain, (d) => !!d && isUp(d.status), ctx);
    if (!after || !isUp(after.status)) {
      throw new RemoteCommandError(
        this.host.name,
        ['xl', 'list'],
        0,
        '',
        `${domain} did not come up on ${this.host.name} (now: ${after?.status ?? 'absent'})`,
      );
    }
    return { outcome: 'started', domain: after };
  }

  async stop(domain: string, options: { force: boolean; timeoutSeconds?: number }, ctx?: OperationContext): Promise<StopResult> {
    checked(domain, true);
    const before = await this.find(domain, ctx);
    if (!before || before.status === 'defined') return { outcome: 'already-stopped', domain: before ?? null };
    const timeout = options.timeoutSeconds ?? this.host.shutdownTimeoutSeconds;
    const words = options.force ? argv.destroy(this.kind, domain) : argv.shutdown(this.kind, domain, timeout);
    ctx?.onProgress?.({
      stage: options.force ? 'destroy' : 'shutdown',
      message: options.force ? `destroying ${domain}` : `asking ${domain} to shut down (up to ${timeout} s)`,
    });
    try {
      const r = await this.run(words, ctx, { timeoutMs: (timeout + 15) * 1000 });
      if (r.code !== 0 && r.code !== 124) {
        const outcome = classifyOutcome(options.force ? 'destroy' : 'shutdown', r);
        if (outcome.kind !== 'notFound' && outcome.kind !== 'invalidDomain')
          throw new RemoteCommandError(this.host.name, words, r.code, r.stderr, 'message' in outcome ? outcome.message : undefined);
      }
    } catch (error) {
      if (!(error instanceof OutcomeUnknownError)) throw error;
    }
    const after = await this.poll(domain, (d) => !d || d.status === 'defined', ctx);
    if (after && after.status !== 'defined') {
      throw new RemoteCommandError(
        this.host.name,
        words,
        124,
        '',
        `${domain} did not stop within ${timeout} s on ${this.host.name} (now: ${after.status}); use force to destroy it`,
      );
    }
    return { outcome: options.force ? 'destroyed' : 'shut-down', domain: after ?? null };
  }

  async consoleSnapshot(domain: string, lines: number, ctx?: OperationContext): Promise<ConsoleResult> {
    const exists = await this.run(argv.consoleLogExists(this.host.consoleLogDir, domain), ctx);
    if (exists.code === 0) {
      const r = await this.checkedRun(argv.consoleTail(this.host.consoleLogDir, domain, lines), ctx);
      return { source: 'log', lines: lastLines(sanitizeConsole(r.stdout), lines) };
    }
    const r = await this.run(argv.consoleAttach(this.kind, domain), ctx, { timeoutMs: 15_000 });
    // `timeout` ending the attach (124) is the normal way it stops.
    if (r.code !== 0 && r.code !== 124) {
      const outcome = classifyOutcome('shutdown', r);
      if (outcome.kind === 'invalidDomain' || outcome.kind === 'notFound')
        throw new UserError('domain.notFound', `${domain} is not running on ${this.host.name}`);
      throw new RemoteCommandError(this.host.name, argv.consoleAttach(this.kind, domain), r.code, r.stderr);
    }
    return { source: 'attach', lines: lastLines(sanitizeConsole(r.stdout), lines) };
  }

  async migrate(
    domain: string,
    target: { host: string; address: string; verify: () => Promise<DomainSummary[]> },
    ctx?: OperationContext,
  ): Promise<MigrateResult> {
    const words = argv.migrate(this.kind, domain, target.address);
    const here = await this.find(domain, ctx);
    const there = () => target.verify().then((ds) => ds.find((d) => d.name === domain && d.status !== 'defined'));
    if (!here || here.status === 'defined') {
      const onTarget = await there();
      if (onTarget) return { outcome: 'already-on-target', target: target.host, domain: onTarget, transcript: [] };
      throw new UserError('domain.notFound', `${domain} is not running on ${this.host.name}`);
    }
    const transcript: string[] = [];
    let buffer = '';
    const onStderr = (chunk: string) => {
      buffer += chunk;
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const line of parts) {
        transcript.push(line);
        const p = parseMigrationLine(line);
        if (p) ctx?.onProgress?.({ stage: 'migrate', message: p.message, ...(p.percent === null ? {} : { percent: p.percent }) });
      }
    };
    ctx?.onProgress?.({ stage: 'migrate', message: `migrating ${domain} from ${this.host.name} to ${target.host}` });
    let failure: string | null = null;
    try {
      const r = await this.run(words, ctx, { timeoutMs: 30 * 60_000, onStderr });
      if (buffer) transcript.push(buffer);
      const outcome = classifyOutcome('migrate', r);
      if (outcome.kind !== 'ok') failure = 'message' in outcome ? outcome.message : `exit ${r.code}`;
    } catch (error) {
      if (!(error instanceof OutcomeUnknownError)) throw error;
      failure = 'the connection was lost during the migration';
    }
    ctx?.onProgress?.({ stage: 'verify', message: `checking ${target.host} for ${domain}` });
    const arrived = await there();
    const left = await this.find(domain, ctx);
    if (arrived && (!left || left.status === 'defined')) return { outcome: 'migrated', target: target.host, domain: arrived, transcript };
    throw new RemoteCommandError(
      this.host.name,
      words,
      1,
      transcript.join('\n'),
      `migration of ${domain} to ${target.host} failed${failure ? `: ${failure}` : ''} (now on ${this.host.name}: ${left?.status ?? 'absent'}, on ${target.host}: ${arrived?.status ?? 'absent'})`,
    );
  }
}

/** `toolstack: auto`: `xl info` works → xl; else `xm info` works → xm. */
export async function detectToolstack(runner: RemoteRunner, host: string): Promise<ToolstackKind> {
  const xl = await runner.run(host, ['xl', 'info']);
  if (xl.code === 0) return 'xl';
  const xm = await runner.run(host, ['xm', 'info']);
  if (xm.code === 0) return 'xm';
  throw new TransportError(
    host,
    `no working toolstack on ${host}: xl info exited ${xl.code} (${firstLine(xl.stderr)}), xm info exited ${xm.code} (${firstLine(xm.stderr)})`,
  );
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? 'no output'
  );
}
