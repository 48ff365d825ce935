import { CONSOLE_READ_BYTES, dom0ConsoleRefusal } from '../../core/console-snapshot.ts';
import type { DomainDetail } from '../../core/domain-detail.ts';
import { HostKeyError, OutcomeUnknownError, RemoteCommandError, TransportError, UserError } from '../../core/errors.ts';
import type { Logger } from '../../core/log.ts';
import { DOM0_NAME } from '../../core/names.ts';
import { PAUSED_CANNOT } from '../../core/xen.ts';
import { type ConsoleTail, consoleTail } from '../parsers/console.ts';
import { parseConfigFile } from '../parsers/domain-config.ts';
import { infoNotes, parseInfo } from '../parsers/info.ts';
import { parseListWithUuids } from '../parsers/list.ts';
import { parseXmListLong, type XmLongDomain, xmUuidOf } from '../parsers/list-long.ts';
import { classifyOutcome, parseMigrationLine } from '../parsers/outcome.ts';
import { domainStatusFromFlags, isUp } from '../parsers/state.ts';
import { stderrSaid } from '../parsers/stderr.ts';
import { parseUptime } from '../parsers/uptime.ts';
import { parseXentop, xentopNotes } from '../parsers/xentop.ts';
import { describeTimeout } from '../ssh/deadline.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { AUTOSTART_DIR, argv, autostartPath, checked, consoleLogPath, describeArgv } from './argv.ts';
import { inventoryFromListings, isAutostartDir } from './inventory.ts';
import { describeNoAnswer, readWithRetry } from './no-answer.ts';
import { assembleDetail } from './show.ts';
import type {
  AutostartResult,
  ConsoleResult,
  DomainSummary,
  HostInfo,
  Inventory,
  MigrateResult,
  MigrationTarget,
  OperationContext,
  PauseResult,
  RebootResult,
  StartResult,
  StopResult,
  Toolstack,
  ToolstackKind,
  TopTable,
  UptimeTable,
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

/** Timings of the driver; every one is a parameter so tests run fast. */
export interface DriverOptions {
  /** Read-back right after create / destroy / a returned shutdown. */
  readBack?: ReadBackPolicy;
  /**
   * Interval of the longer waits: a shutdown whose `-w` went unanswered (bounded by the host's
   * shutdownTimeoutSeconds from when it was sent), and a resumed job's verification.
   * @defaultValue 1000
   */
  pollMs?: number;
  /**
   * How long a resumed start waits for its domain to come up (and a resumed migration for leftovers to settle).
   * @defaultValue 30000
   */
  resumeWaitMs?: number;
  /**
   * While `xl migrate` runs, how often its target is read to tell the asker when it stops answering (and answers
   * again): a target gone silent mid-copy leaves xl migrate silent too, up to migrateTimeoutMs. @defaultValue 20000
   */
  migrateCheckMs?: number;
  /** How long `xl migrate` may run before its outcome is read back as unknown. @defaultValue 1800000 (30 min) */
  migrateTimeoutMs?: number;
  /** Where the driver says what it read but could not use, beyond a reply that may not mention it (UUIDs from xm list --long). */
  logger?: Pick<Logger, 'warn'>;
  /** Hears the running guests of every list read from a host (a job's, a read-back's, the sampler's). */
  onListed?: (host: string, running: readonly DomainSummary[]) => void;
}

const DEFAULT_READ_BACK: ReadBackPolicy = { attempts: 10, delayMs: 200 };

/** A mutating command sent without an answer: why, in words ("xl create did not finish within 30 s on xen1"). */
interface NoAnswer {
  noAnswer: string;
}

/**
 * xl and xm share one implementation: they differ in argv details, which argv.ts handles, and in how state
 * flags read (domainStatusFromFlags). Every mutation reads state first and reports only what it read back.
 * Read-only commands are retried once on a fresh connection when theirs was lost (not when they timed out) and never
 * report an unknown outcome (nothing was sent); a mutating command sent without an answer (timed out, connection lost)
 * is resolved by reading the state, never by sending it again, and the reply says which of the two it was.
 */
export class XenToolstack implements Toolstack {
  private readonly readBack: ReadBackPolicy;
  private readonly pollMs: number;
  private readonly resumeWaitMs: number;
  private readonly migrateCheckMs: number;
  private readonly migrateTimeoutMs: number;
  private readonly logger: Pick<Logger, 'warn'> | undefined;
  private readonly onListed: DriverOptions['onListed'];
  /** The last unreadable `xm list --long` logged: every list reads it, and a host stuck that way would flood the log. */
  private loggedUnreadLong: string | null = null;

  constructor(
    readonly kind: ToolstackKind,
    private readonly runner: RemoteRunner,
    private readonly host: DriverHost,
    options: DriverOptions = {},
  ) {
    this.readBack = options.readBack ?? DEFAULT_READ_BACK;
    this.pollMs = options.pollMs ?? 1000;
    this.resumeWaitMs = options.resumeWaitMs ?? 30_000;
    this.migrateCheckMs = options.migrateCheckMs ?? 20_000;
    this.migrateTimeoutMs = options.migrateTimeoutMs ?? 30 * 60_000;
    this.logger = options.logger;
    this.onListed = options.onListed;
  }

  private async run(
    words: readonly string[],
    ctx?: OperationContext,
    extra: { timeoutMs?: number; onStderr?: (s: string) => void } = {},
  ): Promise<RunResult> {
    return this.runner.run(this.host.name, words, {
      ...(ctx?.signal ? { signal: ctx.signal } : {}),
      ...(extra.timeoutMs ? { timeoutMs: extra.timeoutMs } : {}),
      ...(extra.onStderr ? { onStderr: extra.onStderr } : {}),
    });
  }

  /** A read-only command: retried once on a fresh connection when its connection was lost (see readWithRetry). */
  private async read(words: readonly string[], ctx?: OperationContext, extra: { timeoutMs?: number } = {}): Promise<RunResult> {
    return readWithRetry(this.host.name, () => this.run(words, ctx, extra), ctx?.signal);
  }

  /** Several read-only commands in one round trip where the runner can (runBatch), one after another otherwise. */
  private async readBatch(commands: readonly (readonly string[])[], ctx?: OperationContext): Promise<RunResult[]> {
    const runner = this.runner;
    const once = async (): Promise<RunResult[]> => {
      if (runner.runBatch) return runner.runBatch(this.host.name, commands, ctx?.signal ? { signal: ctx.signal } : {});
      const out: RunResult[] = [];
      for (const words of commands) out.push(await this.run(words, ctx));
      return out;
    };
    return readWithRetry(this.host.name, once, ctx?.signal);
  }

  /**
   * Sends a mutating command, once. When it ran without an answer (timed out, connection lost), its outcome is
   * unknown: the caller reads the state back, never sends it again, and says why with the words returned here.
   */
  private async issue(
    words: readonly string[],
    what: string,
    ctx: OperationContext | undefined,
    extra: { timeoutMs?: number; onStderr?: (s: string) => void; during?: string } = {},
  ): Promise<RunResult | NoAnswer> {
    try {
      return await this.run(words, ctx, extra);
    } catch (error) {
      if (!(error instanceof OutcomeUnknownError) || ctx?.signal?.aborted) throw error;
      return { noAnswer: describeNoAnswer(error, this.host.name, what, extra.during) };
    }
  }

  private async checkedRead(words: readonly string[], ctx?: OperationContext): Promise<RunResult> {
    const r = await this.read(words, ctx);
    if (r.code !== 0) throw new RemoteCommandError(this.host.name, words, r.code, r.stderr);
    return r;
  }

  /** Names what could not be read: "could not read the state of web on xen1: …". */
  private async reading<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof TransportError && !(error instanceof HostKeyError))
        throw new TransportError(this.host.name, `could not read ${what} on ${this.host.name}: ${error.message}`, { cause: error });
      throw error;
    }
  }

  /** Reads after a mutating command was sent: whatever fails here leaves the outcome unknown. */
  private async afterIssue<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof TransportError && !(error instanceof OutcomeUnknownError))
        throw new OutcomeUnknownError(this.host.name, `${what} was sent to ${this.host.name}, but ${error.message}; nothing was re-run`, {
          cause: error,
        });
      throw error;
    }
  }

  async list(ctx?: OperationContext): Promise<DomainSummary[]> {
    return this.reading('the domain list', () => this.listDomains(ctx));
  }

  async inventory(ctx?: OperationContext): Promise<Inventory> {
    return this.reading('the domain list', async () => {
      const { domains, notes } = await this.scan(ctx);
      return { domains, notes };
    });
  }

  private async listDomains(ctx?: OperationContext): Promise<DomainSummary[]> {
    return (await this.scan(ctx)).domains;
  }

  /**
   * The list, the config dirs, /etc/xen/auto (`ls -1` and `ls -l`) and (xm) `xm list --long` in one round trip:
   * they used to run one after another, each paying the SSH latency.
   */
  private async scan(
    ctx?: OperationContext,
    /** Commands a caller adds to the same round trip (/show's); their results come back as `more`, in order. */
    moreCommands: readonly (readonly string[])[] = [],
  ): Promise<Inventory & { autostartNames: Set<string> | null; viaLinkOnly: Set<string>; more: RunResult[] }> {
    const words = argv.list(this.kind);
    const dirs = this.host.configDirs;
    // The autostart dir's plain listing is the config dirs' one when configDirs names it (the default does).
    const autoAt = dirs.findIndex(isAutostartDir);
    // xm list has no UUID column: xm list --long comes along and only ever adds UUIDs (its failure is no failure).
    const withLong = this.kind === 'xm';
    const [r, ...all] = await this.readBatch(
      [
        words,
        ...dirs.map((d) => argv.listDir(d)),
        ...(autoAt < 0 ? [argv.listDir(AUTOSTART_DIR)] : []),
        argv.autostartListing(),
        ...(withLong ? [argv.listLong(this.kind)] : []),
        ...moreCommands,
      ],
      ctx,
    );
    const rest = all.slice(0, all.length - moreCommands.length);
    const more = all.slice(all.length - moreCommands.length);
    if (!r) throw new RemoteCommandError(this.host.name, words, 0, '', `${this.kind} list on ${this.host.name} gave no answer`);
    if (r.code !== 0) throw new RemoteCommandError(this.host.name, words, r.code, r.stderr);
    const parsed = parseListWithUuids(r.stdout);
    if (!parsed.sawHeader)
      throw new RemoteCommandError(this.host.name, words, 0, r.stdout, `${this.kind} list on ${this.host.name} printed no list header`);
    const extra = autoAt < 0 ? 1 : 0;
    const autoPlain = autoAt < 0 ? rest[dirs.length] : rest[autoAt];
    const autoLong = rest[dirs.length + extra];
    const longResult = withLong ? rest[dirs.length + extra + 1] : undefined;
    const long = longResult?.code === 0 ? this.readXmListLong(longResult.stdout) : { domains: null, note: null };
    const longDomains = long.domains;
    const running: DomainSummary[] = parsed.rows.map((row) => ({
      name: row.name,
      uuid: row.uuid ?? (longDomains ? xmUuidOf(longDomains, row) : null),
      id: row.id,
      // xm lists an inactive xend-managed domain (`xm new`, or shut down) with a blank ID and `------`: it is not running.
      status: row.id === null && this.kind === 'xm' ? 'defined' : domainStatusFromFlags(row.state, this.kind),
      flags: row.state,
      memoryMiB: row.memoryMiB,
      vcpus: row.vcpus,
      cpuSeconds: row.cpuSeconds,
      configPath: null,
    }));
    this.onListed?.(this.host.name, running);
    const inv = inventoryFromListings(dirs, rest.slice(0, dirs.length), autoPlain, autoLong);
    const { configs, autostart } = inv;
    for (const d of running) {
      d.configPath = configs.get(d.name) ?? null;
      if (autostart) d.autostart = autostart.get(d.name) ?? null;
    }
    const names = new Set(running.map((d) => d.name));
    for (const [name, path] of configs) {
      if (names.has(name)) continue;
      running.push({
        name,
        uuid: null,
        id: null,
        status: 'defined',
        flags: '',
        memoryMiB: null,
        vcpus: null,
        cpuSeconds: null,
        configPath: path,
        ...(autostart ? { autostart: autostart.get(name) ?? null } : {}),
      });
    }
    // Unread list rows are said too: a domain the list shows in a shape nobody expected is not silently left out.
    const notes = [
      ...parsed.unparsed.map((u) => `could not read this line of ${this.kind} list: ${JSON.stringify(u.line)}`),
      ...(long.note ? [long.note] : []),
      ...inv.notes,
    ];
    return { domains: running, notes, autostartNames: inv.autostartNames, viaLinkOnly: inv.viaLinkOnly, more };
  }

  /**
   * `xm list --long` only supplies UUIDs: output it cannot parse means no UUIDs, not a failed list. It is said (the
   * list's notes, and the log: the fleet checks read the list without a reply to carry it), as xenops then tells
   * guests apart by name alone.
   */
  private readXmListLong(text: string): { domains: XmLongDomain[] | null; note: string | null } {
    try {
      const domains = parseXmListLong(text);
      this.loggedUnreadLong = null;
      return { domains, note: null };
    } catch (error) {
      const why = excerpt(error instanceof Error ? error.message : String(error));
      const note = `could not read xm list --long, so its domains' UUIDs are unknown (they are matched by name): ${why}`;
      if (this.loggedUnreadLong !== why)
        this.logger?.warn({ host: this.host.name, err: why }, 'xm list --long could not be read: no UUIDs, domains matched by name');
      this.loggedUnreadLong = why;
      return { domains: null, note };
    }
  }

  async info(ctx?: OperationContext): Promise<{ info: HostInfo; notes: string[] }> {
    return this.reading(`${this.kind} info`, async () => {
      const r = await this.checkedRead(argv.info(this.kind), ctx);
      const info = parseInfo(r.stdout);
      return { info, notes: infoNotes(`${this.kind} info`, info, r.stdout, r.stderr) };
    });
  }

  async infoAndList(ctx?: OperationContext): Promise<{ info: HostInfo; domains: DomainSummary[]; notes: string[] }> {
    return this.reading('the host status', async () => {
      const words = argv.info(this.kind);
      // The list is checked first (scan throws on its failure), then the info, as when they ran apart.
      const { domains, notes, more } = await this.scan(ctx, [words]);
      const r = more[0];
      if (!r) throw new RemoteCommandError(this.host.name, words, 0, '', `${this.kind} info on ${this.host.name} gave no answer`);
      if (r.code !== 0) throw new RemoteCommandError(this.host.name, words, r.code, r.stderr);
      // Exit 0 with part of it failed (CPUs and memory left out): said beside the counts, or memory just reads unknown.
      const info = parseInfo(r.stdout);
      return { info, domains, notes: [...notes, ...infoNotes(`${this.kind} info`, info, r.stdout, r.stderr)] };
    });
  }

  async uptime(ctx?: OperationContext): Promise<{ seconds: Record<string, number>; unparsed: string[] }> {
    // A row it cannot read leaves that domain's uptime unknown (null in the digest), never guessed: it is said instead.
    return this.reading(`${this.kind} uptime`, async () => {
      const parsed = parseUptime((await this.checkedRead(argv.uptime(this.kind), ctx)).stdout);
      return {
        seconds: Object.fromEntries(parsed.rows.map((r) => [r.name, r.uptimeSeconds])),
        unparsed: parsed.unparsed.map((u) => u.line),
      };
    });
  }

  async uptimeTable(ctx?: OperationContext): Promise<UptimeTable> {
    return this.reading(`${this.kind} uptime`, async () => {
      const r = await this.checkedRead(argv.uptime(this.kind), ctx);
      const parsed = parseUptime(r.stdout);
      // xl uptime exits 0 with rows left out ("Could not list vms." after Domain-0; a guest whose start time it cannot
      // read is skipped, libxl saying why): said, never a short table alone. Every host lists Domain-0.
      const why = stderrSaid(r.stderr);
      const what = r.stdout.trim() === '' ? 'its output was empty' : parsed.unparsed.length > 0 ? 'none it could read' : 'only its header';
      const notes =
        parsed.rows.length === 0
          ? [`${this.kind} uptime printed no rows (${what}${why ? `; ${why}` : ''})`]
          : why
            ? [`${this.kind} uptime exited 0 but ${why}`]
            : [];
      return { rows: parsed.rows, unparsed: parsed.unparsed.map((u) => u.line), ...(notes.length > 0 ? { notes } : {}) };
    });
  }

  /**
   * One domain's page in one round trip: the list (state, id, config file, autostart), `list -l DOMAIN`,
   * `network-list`, `block-list`, `vcpu-list` and `uptime` of it, and `cat` of DIR/NAME.cfg for each config dir but
   * /etc/xen/auto (whose entries are links). Only a domain that is not running and whose config file is a plain file in
   * /etc/xen/auto costs a second read of that file. Commands that fail for a domain that is not running are expected.
   */
  async show(domain: string, ctx?: OperationContext): Promise<DomainDetail> {
    checked(domain, false);
    const k = this.kind;
    const dirs = [...new Set(this.host.configDirs.filter((d) => !isAutostartDir(d)).map((d) => d.replace(/\/+$/, '')))];
    const files = dirs.map((d) => `${d}/${domain}.cfg`);
    return this.reading(`the details of ${domain}`, async () => {
      const scan = await this.scan(ctx, [
        argv.listLongOf(k, domain),
        argv.networkList(k, domain),
        argv.blockList(k, domain),
        argv.vcpuList(k, domain),
        argv.uptimeOf(k, domain),
        ...dirs.map((d) => argv.readConfig(this.host.configDirs, d, domain)),
      ]);
      const [listLong, networkList, blockList, vcpuList, uptime, ...cats] = scan.more;
      const summary = scan.domains.find((d) => d.name === domain) ?? null;
      if (!summary)
        throw new UserError(
          'domain.notFound',
          `no domain ${domain} on ${this.host.name}: not running, and no ${domain}.cfg in ${this.configDirNames()}`,
        );
      const configFiles = new Map<string, RunResult | undefined>(files.map((f, i) => [f, cats[i]]));
      const path = summary.configPath;
      const auto = this.host.configDirs.find(isAutostartDir);
      if (summary.status === 'defined' && auto && path === `${AUTOSTART_DIR}/${domain}.cfg` && !configFiles.has(path))
        configFiles.set(path, await this.read(argv.readConfig(this.host.configDirs, auto, domain), ctx));
      return assembleDetail({
        kind: k,
        host: this.host.name,
        domain,
        configDirs: this.host.configDirs,
        summary,
        listLong,
        networkList,
        blockList,
        vcpuList,
        uptime,
        configFiles,
      });
    });
  }

  async topTable(ctx?: OperationContext): Promise<TopTable> {
    return this.reading('xentop', async () => {
      const words = argv.top();
      const r = await this.read(words, ctx);
      if (xentopMissing(r))
        throw new RemoteCommandError(
          this.host.name,
          words,
          r.code,
          r.stderr,
          `xentop is not installed on ${this.host.name} (it comes with the Xen tools)`,
        );
      if (r.code !== 0) throw new RemoteCommandError(this.host.name, words, r.code, r.stderr);
      const parsed = parseXentop(r.stdout);
      const { rows, previous } = parsed;
      // xentop truncates names to 10 characters; give back the full name where exactly one domain fits (one named with
      // exactly those 10 counts: `webserver1` beside `webserver10` — both printed `webserver1` — stays as printed).
      const all = [...rows, ...(previous ?? [])];
      const notes = xentopNotes(parsed, r.stdout);
      if (all.some((row) => row.name.length === 10)) {
        // xentop reads the hypervisor, not the toolstack: with xend down (every xm command fails) its rows still stand,
        // only the names stay as xentop cut them.
        const listed = await this.listDomains(ctx).catch((error: unknown) => {
          if (!(error instanceof RemoteCommandError)) throw error;
          notes.push(`names are as xentop cut them (10 characters): ${error.message}`);
          return [];
        });
        const names = listed.filter((d) => d.status !== 'defined').map((d) => d.name);
        const cut = new Set<string>();
        for (const row of all) {
          if (row.name.length !== 10) continue;
          const matches = names.filter((n) => n.length >= 10 && n.startsWith(row.name));
          if (matches.length === 1 && matches[0]) row.name = matches[0];
          else cut.add(row.name);
        }
        if (cut.size > 0) return { rows, previous, notes, cut: [...cut] };
      }
      return { rows, previous, notes };
    });
  }

  /**
   * xl's monitor is about to build this guest again by itself: forcing it now (the advice for other shut-down states)
   * would destroy a guest on its way back, so nothing is sent.
   */
  private refuseRebootingItself(domain: string, d: DomainSummary): void {
    if (rebootingItself(d, this.kind))
      throw new UserError(
        'domain.state',
        `${domain} is rebooting itself on ${this.host.name} (${d.flags}): wait for it to come back; nothing was sent`,
      );
  }

  /** The domain's current state ("could not read the state of web on xen1" when the host does not answer twice). */
  private async find(domain: string, ctx?: OperationContext): Promise<DomainSummary | undefined> {
    return this.reading(`the state of ${domain}`, async () => (await this.listDomains(ctx)).find((d) => d.name === domain));
  }

  /** Short read-back: a few quick reads until done. */
  private async poll(
    domain: string,
    done: (d: DomainSummary | undefined) => boolean,
    ctx?: OperationContext,
  ): Promise<DomainSummary | undefined> {
    let d = await this.find(domain, ctx);
    for (let i = 1; i < this.readBack.attempts && !done(d) && !ctx?.signal?.aborted; i++) {
      await pause(this.readBack.delayMs, ctx?.signal);
      d = await this.find(domain, ctx);
    }
    return d;
  }

  /** Longer wait: reads now, then every pollMs until done or the deadline (epoch ms) has passed. */
  private async pollUntil(
    domain: string,
    done: (d: DomainSummary | undefined) => boolean,
    deadline: number,
    ctx?: OperationContext,
  ): Promise<DomainSummary | undefined> {
    let d = await this.find(domain, ctx);
    while (!done(d) && Date.now() < deadline && !ctx?.signal?.aborted) {
      await pause(Math.min(this.pollMs, Math.max(0, deadline - Date.now())), ctx?.signal);
      d = await this.find(domain, ctx);
    }
    return d;
  }

  async start(domain: string, ctx?: OperationContext): Promise<StartResult> {
    checked(domain, true);
    const before = await this.find(domain, ctx);
    if (before && isUp(before.status)) return { outcome: 'already-running', domain: before };
    if (before) this.refuseRebootingItself(domain, before);
    if (before && before.status !== 'defined')
      // Crashed (kept by on_crash="preserve"), shut down but not cleared, or dying: not running, and its name is taken,
      // so a create would fail on it.
      throw new UserError(
        'domain.state',
        `${domain} is ${before.status} on ${this.host.name}${before.flags ? ` (${before.flags})` : ''}, not running: its name is taken until it is cleared — ${
          before.status === 'dying' ? 'try again once it is gone' : 'stop it with force (destroy), then start it'
        }; nothing was created`,
      );
    const configPath = before?.configPath;
    if (!configPath) {
      // xm lists an inactive xend-managed domain with no ID: xend keeps its config, `xm start` would start it.
      if (before && this.kind === 'xm' && before.id === null)
        throw new UserError(
          'domain.notFound',
          `${domain} on ${this.host.name} is an xend-managed domain (xm list shows it with no ID) with no config file in ${this.host.configDirs.join(', ')}: xenops starts guests from their config file and does not run xm start; start it on the host`,
        );
      throw new UserError(
        'domain.notFound',
        `no config for ${domain} on ${this.host.name} (looked for ${domain}.cfg in ${this.host.configDirs.join(', ')})`,
      );
    }
    await this.refuseOtherName(domain, configPath, ctx);
    const words = argv.create(this.kind, configPath);
    await ctx?.beforeIssue?.({ argv: words, before: before ?? null });
    ctx?.onProgress?.({ stage: 'create', message: `creating ${domain} from ${configPath}` });
    // No answer: whether the domain started is read back below, never by creating again.
    const sent = await this.issue(words, `${this.kind} create`, ctx);
    // The create was refused because the name is taken: checked free just before, so started meanwhile outside xenops.
    let taken: { message: string; sent: RunResult } | null = null;
    if ('noAnswer' in sent) ctx?.onProgress?.({ stage: 'verify', message: `${sent.noAnswer}; reading ${domain}'s state back` });
    else {
      const outcome = classifyOutcome('create', sent);
      if (outcome.kind === 'alreadyExists') taken = { message: outcome.message, sent };
      else if (outcome.kind !== 'ok') throw new RemoteCommandError(this.host.name, words, sent.code, sent.stderr, outcome.message);
    }
    ctx?.onProgress?.({ stage: 'verify', message: `waiting for ${domain} to show as running` });
    const after = await this.afterIssue(`${this.kind} create`, async () => {
      const seen = await this.poll(domain, started, ctx);
      return 'noAnswer' in sent ? this.watchBuild(domain, seen, ctx) : seen;
    });
    if (taken !== null) {
      if (started(after)) return { outcome: 'already-running', domain: after, startedMeanwhile: true };
      throw new RemoteCommandError(
        this.host.name,
        words,
        taken.sent.code,
        taken.sent.stderr,
        `${this.kind} create refused (${taken.message}): ${domain} was started on ${this.host.name} outside xenops meanwhile and is not running (now: ${stateOf(after)}); nothing was created`,
      );
    }
    if (started(after)) return { outcome: 'started', domain: after };
    if ('noAnswer' in sent)
      throw new OutcomeUnknownError(
        this.host.name,
        `${sent.noAnswer}; ${domain} is not up there (now: ${stateOf(after)}), and nothing was re-run`,
      );
    throw new RemoteCommandError(this.host.name, words, 0, '', `${domain} did not come up on ${this.host.name} (now: ${stateOf(after)})`);
  }

  /**
   * A create the pool stopped waiting for (timeout, lost connection) goes on on the host: a domain read back paused is
   * still being built (xl unpauses it last, or destroys it when the build fails), so it is watched until the build
   * ends either way — as long as a resumed start waits — rather than reported "not up" seconds before it runs.
   */
  private async watchBuild(domain: string, seen: DomainSummary | undefined, ctx?: OperationContext): Promise<DomainSummary | undefined> {
    if (seen?.status !== 'paused') return seen;
    const seconds = Math.round(this.resumeWaitMs / 1000);
    ctx?.onProgress?.({ stage: 'verify', message: `${domain} is still being built (paused): waiting up to ${seconds} s for it to run` });
    return this.pollUntil(domain, (d) => d?.status !== 'paused', Date.now() + this.resumeWaitMs, ctx);
  }

  /**
   * xenops knows a stopped guest by its config file's name, `create` starts the guest the file's `name =` says: a
   * web.cfg naming "webprod" would start webprod — unchecked against the other hosts, where it may run (shared
   * storage), and never seen come up as web. Refused. A name the file does not state plainly (Python code in an xm
   * config computes it) cannot be checked: for a start, said in the progress, and `create` goes on as before (it reads
   * an unreadable file too, and says why); `beforeDestroy` (a forced reboot) refuses both, since nothing would
   * bring the guest back.
   */
  private async refuseOtherName(domain: string, configPath: string, ctx?: OperationContext, beforeDestroy = false): Promise<void> {
    const r = await this.reading(`the config file of ${domain}`, () => this.read(argv.catConfig(configPath), ctx));
    const refuse = (why: string) => {
      throw new UserError(
        'domain.configName',
        `${why}: a forced reboot would destroy ${domain} and could not be sure to bring it back, so nothing was done`,
      );
    };
    if (r.code !== 0) {
      if (beforeDestroy) refuse(`${configPath} on ${this.host.name} cannot be read (cat exited ${r.code})`);
      // create reads it as root and may succeed where this cat did not (a sudo rule narrower than the file's place).
      ctx?.onProgress?.({
        stage: 'check',
        message: `could not read ${configPath} (cat exited ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''}): its name = is not checked against ${domain}`,
      });
      return;
    }
    const parsed = parseConfigFile(r.stdout);
    const name = parsed.values.get('name');
    if (typeof name !== 'string') {
      // Computed (a Python line the parser could not read sets it), or not there at all (create would refuse it).
      const computed = parsed.unparsed.some((u) => /^\s*name\s*=/.test(u.line));
      const what = computed ? "computes its domain's name" : 'has no name =';
      if (beforeDestroy) refuse(`${configPath} on ${this.host.name} ${what}`);
      ctx?.onProgress?.({ stage: 'check', message: `${configPath} ${what}: not checked against ${domain}` });
      return;
    }
    if (name !== domain)
      throw new UserError(
        'domain.configName',
        `${configPath} on ${this.host.name} names its domain "${name}", not ${domain}: ${this.kind} create would start "${name}", which xenops does not check for on the other hosts — rename the file to ${name}.cfg or set name = "${domain}" in it; nothing was run`,
      );
  }

  async verifyStart(domain: string, ctx?: OperationContext): Promise<StartResult> {
    checked(domain, true);
    ctx?.onProgress?.({ stage: 'verify', message: `resumed after an agent restart: reading ${domain}'s state back` });
    const deadline = Date.now() + this.resumeWaitMs;
    const after = await this.afterIssue(`${this.kind} create`, () => this.pollUntil(domain, started, deadline, ctx));
    if (started(after)) return { outcome: 'started', domain: after, resumed: true };
    throw new OutcomeUnknownError(
      this.host.name,
      `${this.kind} create for ${domain} was issued on ${this.host.name} before the agent restarted; ${domain} is not running there now (${stateOf(after)}), and nothing was re-run`,
    );
  }

  async stop(domain: string, options: { force: boolean; timeoutSeconds?: number }, ctx?: OperationContext): Promise<StopResult> {
    checked(domain, true);
    const before = await this.find(domain, ctx);
    if (!before || before.status === 'defined') return { outcome: 'already-stopped', domain: before ?? null };
    if (!options.force && before.status === 'paused')
      // The request would wait in xenstore: the wait runs out, and the guest powers off at its next unpause.
      throw new UserError(
        'domain.state',
        `${domain} is paused on ${this.host.name}: ${PAUSED_CANNOT.stop} — unpause it first, or stop it with force; nothing was sent`,
      );
    if (!options.force) this.refuseRebootingItself(domain, before);
    if (!options.force && !isUp(before.status))
      // Crashed (on_crash="preserve"), shut down and not cleared away, or dying: nothing in it runs to shut down.
      throw new UserError(
        'domain.state',
        `${domain} is ${before.status} on ${this.host.name}${before.flags ? ` (${before.flags})` : ''}: there is nothing running in it to shut down — ${
          before.status === 'dying' ? 'it is being torn down; look again in a moment' : 'stop it with force to clear it away'
        }; nothing was sent`,
      );
    const timeout = options.timeoutSeconds ?? this.host.shutdownTimeoutSeconds;
    const words = options.force ? argv.destroy(this.kind, domain) : argv.shutdown(this.kind, domain, timeout);
    const what = `${this.kind} ${options.force ? 'destroy' : 'shutdown'}`;
    await ctx?.beforeIssue?.({ argv: words, before });
    ctx?.onProgress?.({
      stage: options.force ? 'destroy' : 'shutdown',
      message: options.force ? `destroying ${domain}` : `asking ${domain} to shut down (up to ${timeout} s)`,
    });
    const issuedAt = Date.now();
    const sent = await this.issue(words, what, ctx, {
      timeoutMs: (timeout + 15) * 1000,
      ...(options.force ? {} : { during: `${domain} was shutting down` }),
    });
    // The command found no such domain: it was there at the check, so it went away meanwhile, not by xenops' doing.
    let vanished = false;
    if (!('noAnswer' in sent) && sent.code !== 0 && sent.code !== 124) {
      const outcome = classifyOutcome(options.force ? 'destroy' : 'shutdown', sent);
      vanished = outcome.kind === 'notFound' || outcome.kind === 'invalidDomain';
      if (outcome.kind === 'noPvControl')
        // A guest without PV drivers: xl refused before asking it anything (its text alone says neither).
        throw new RemoteCommandError(
          this.host.name,
          words,
          sent.code,
          sent.stderr,
          `${domain} on ${this.host.name} cannot be asked to shut down (${outcome.message}): nothing was sent to it — stop it with force (a hard power-off) if it must go down`,
        );
      if (outcome.kind !== 'notFound' && outcome.kind !== 'invalidDomain')
        throw new RemoteCommandError(this.host.name, words, sent.code, sent.stderr, 'message' in outcome ? outcome.message : undefined);
    }
    const gone = (d: DomainSummary | undefined) => stopped(d, options.force);
    if ('noAnswer' in sent && !options.force) {
      // The guest may still be on its way down: watch it for as long as the shutdown was given, never destroy it.
      ctx?.onProgress?.({ stage: 'verify', message: `${sent.noAnswer}; watching ${domain}'s state (up to ${timeout} s)` });
      const after = await this.afterIssue(what, () => this.pollUntil(domain, gone, issuedAt + timeout * 1000, ctx));
      if (gone(after)) return { outcome: 'shut-down', domain: after ?? null };
      throw new OutcomeUnknownError(
        this.host.name,
        `${sent.noAnswer}; ${domain} is still ${stateOf(after)} ${secondsSince(issuedAt)} s after the shutdown was sent and may still be shutting down — check its console`,
      );
    }
    const after = await this.afterIssue(what, () => this.poll(domain, gone, ctx));
    if (gone(after) && vanished) return { outcome: 'already-stopped', domain: after ?? null, stoppedMeanwhile: true };
    if (gone(after)) return { outcome: options.force ? 'destroyed' : 'shut-down', domain: after ?? null };
    if ('noAnswer' in sent)
      throw new OutcomeUnknownError(this.host.name, `${sent.noAnswer}; ${domain} is still ${stateOf(after)} there, and nothing was re-run`);
    const exit = sent.code;
    if (exit === 124) {
      // Only here did the shutdown really run out of time; force is an option for an operator who saw the console. Not
      // a failure: `timeout` ended xl's wait, not the request, which stays in xenstore — a slow guest goes down later.
      throw new OutcomeUnknownError(
        this.host.name,
        `${domain} has not shut down within ${timeout} s on ${this.host.name} (now: ${stateOf(after)}): the shutdown request stays with the guest, which may still be shutting down — check its console; if it is hung, an operator may stop it with force (a hard power-off)`,
      );
    }
    throw new RemoteCommandError(
      this.host.name,
      words,
      exit,
      '',
      `${what} ${domain} returned, but ${domain} is still ${stateOf(after)} on ${this.host.name}; check its console`,
    );
  }

  async verifyStop(domain: string, options: { force: boolean; issuedAt: number }, ctx?: OperationContext): Promise<StopResult> {
    checked(domain, true);
    const what = `${this.kind} ${options.force ? 'destroy' : 'shutdown'}`;
    ctx?.onProgress?.({ stage: 'verify', message: `resumed after an agent restart: reading ${domain}'s state back` });
    const gone = (d: DomainSummary | undefined) => stopped(d, options.force);
    const deadline = options.force
      ? Date.now() + this.readBack.attempts * this.readBack.delayMs
      : options.issuedAt + this.host.shutdownTimeoutSeconds * 1000;
    const after = await this.afterIssue(what, () => this.pollUntil(domain, gone, deadline, ctx));
    if (gone(after)) return { outcome: options.force ? 'destroyed' : 'shut-down', domain: after ?? null, resumed: true };
    throw new OutcomeUnknownError(
      this.host.name,
      options.force
        ? `${what} ${domain} was issued on ${this.host.name} before the agent restarted; ${domain} is still ${stateOf(after)} there, and nothing was re-run`
        : `${what} ${domain} was issued on ${this.host.name} before the agent restarted; ${domain} is still ${stateOf(after)} ${secondsSince(options.issuedAt)} s later and may still be shutting down (nothing was re-run) — check its console`,
    );
  }

  /** readlink and test -e of the domain's autostart path, in one round trip. */
  private async readAutostart(domain: string, ctx?: OperationContext): Promise<{ target: string | null; exists: boolean }> {
    const [link, exists] = await this.readBatch([argv.readLink(domain), argv.autostartExists(domain)], ctx);
    return { target: link?.code === 0 ? link.stdout.replace(/\n$/, '') : null, exists: exists?.code === 0 };
  }

  async autostart(domain: string, enable: boolean, ctx?: OperationContext): Promise<AutostartResult> {
    const path = autostartPath(domain);
    const host = this.host.name;
    const scan = await this.reading(`the autostart entries of ${domain}`, () => this.scan(ctx));
    const before = scan.domains.find((d) => d.name === domain);
    if (!before)
      throw new UserError(
        'domain.notFound',
        `no domain ${domain} on ${host}: it is not running there and has no config file in ${this.configDirNames()}`,
      );
    if (before.autostart === undefined || scan.autostartNames === null)
      throw new RemoteCommandError(host, argv.autostartListing(), 0, '', `${scan.notes.join('; ')}; nothing was changed`);
    const entry = before.autostart;
    if (enable) {
      if (entry) return { outcome: 'already-enabled', domain, path: entry.path, target: entry.target };
      const config = before.configPath;
      if (!config || config.startsWith(`${AUTOSTART_DIR}/`))
        throw new UserError(
          'domain.notFound',
          `${domain} has no config file on ${host} (looked for ${domain}.cfg in ${this.configDirNames()}): autostart links to one, so nothing was changed`,
        );
      if (scan.autostartNames.has(`${domain}.cfg`))
        throw new UserError(
          'domain.state',
          `${path} already exists on ${host} and is not ${domain}'s link to ${config}: nothing was changed — look at it on the host`,
        );
      // xendomains boots the guest the file's `name =` names: another one would escape the fleet-wide check for domain.
      await this.refuseOtherName(domain, config, ctx);
      const words = argv.autostartOn(config, domain);
      return this.changeAutostart(domain, words, before, ctx, (back) =>
        back.target === config ? { outcome: 'enabled', domain, path, target: back.target } : null,
      );
    }
    if (!entry) return { outcome: 'already-disabled', domain, path, target: null };
    if (entry.target === null)
      throw new UserError(
        'domain.state',
        `${entry.path} on ${host} is ${domain}'s config file itself, not a link: xenops never removes a config file — move it to ${this.configDirNames()} and link it, or remove it by hand`,
      );
    if (entry.path !== path)
      throw new UserError(
        'domain.state',
        `${domain} starts with ${host} through ${entry.path}, which xenops did not make (it only removes ${path}): nothing was changed`,
      );
    if (scan.viaLinkOnly.has(domain))
      throw new UserError(
        'domain.state',
        `${domain}'s config ${entry.target} on ${host} is outside the config dirs (${this.configDirNames()}): without the link xenops would lose track of it — add its directory to hosts.${host}.configDirs first; nothing was changed`,
      );
    return this.changeAutostart(domain, argv.autostartOff(domain), before, ctx, (back) =>
      back.target === null && !back.exists ? { outcome: 'disabled', domain, path, target: null } : null,
    );
  }

  /** Sends ln/unlink (journaled by beforeIssue) and reads the entry back: done(back) says whether it took. */
  private async changeAutostart(
    domain: string,
    words: string[],
    before: DomainSummary,
    ctx: OperationContext | undefined,
    done: (back: { target: string | null; exists: boolean }) => AutostartResult | null,
  ): Promise<AutostartResult> {
    const host = this.host.name;
    const what = words[0] ?? 'ln';
    await ctx?.beforeIssue?.({ argv: words, before });
    ctx?.onProgress?.({ stage: 'autostart', message: describeArgv(words) });
    const sent = await this.issue(words, what, ctx);
    const seenAs = (back: { target: string | null; exists: boolean }) =>
      back.target !== null ? `a link to ${back.target}` : back.exists ? 'something that is no link' : 'nothing';
    if (!('noAnswer' in sent) && sent.code !== 0) {
      const failed = `${describeArgv(words)} failed on ${host}: ${firstLine(sent.stderr)}`;
      // Someone at the host may have made or removed the entry since it was read (File exists, No such file): what is
      // there now is the answer, and the command is not sent again. A failed read-back leaves the failure as it was.
      const back = await this.readAutostart(domain, ctx).catch(() => null);
      const meanwhile = back && done(back);
      if (meanwhile) return { ...meanwhile, outcome: meanwhile.outcome === 'enabled' ? 'already-enabled' : 'already-disabled' };
      throw new RemoteCommandError(
        host,
        words,
        sent.code,
        sent.stderr,
        back ? `${failed}; ${autostartPath(domain)} now reads back as ${seenAs(back)}, and nothing was re-run` : failed,
      );
    }
    const back = await this.afterIssue(what, () => this.readAutostart(domain, ctx));
    const result = done(back);
    if (result) return result;
    const seen = seenAs(back);
    if ('noAnswer' in sent)
      throw new OutcomeUnknownError(host, `${sent.noAnswer}; ${autostartPath(domain)} now reads back as ${seen}, and nothing was re-run`);
    throw new RemoteCommandError(host, words, 0, '', `${describeArgv(words)} returned, but ${autostartPath(domain)} reads back as ${seen}`);
  }

  async verifyAutostart(domain: string, enable: boolean, ctx?: OperationContext): Promise<AutostartResult> {
    const path = autostartPath(domain);
    ctx?.onProgress?.({ stage: 'verify', message: `resumed after an agent restart: reading ${path} back` });
    const back = await this.afterIssue(enable ? 'ln' : 'unlink', () => this.readAutostart(domain, ctx));
    // xenops links only to DIR/NAME.cfg in a config dir: a link to anything else (another guest's config) is not its own.
    const own = this.host.configDirs.filter((d) => !isAutostartDir(d)).map((d) => `${d.replace(/\/+$/, '')}/${domain}.cfg`);
    if (enable && back.target !== null && own.includes(back.target))
      return { outcome: 'enabled', domain, path, target: back.target, resumed: true };
    if (!enable && back.target === null && !back.exists) return { outcome: 'disabled', domain, path, target: null, resumed: true };
    throw new OutcomeUnknownError(
      this.host.name,
      `autostart ${enable ? 'on' : 'off'} for ${domain} was issued on ${this.host.name} before the agent restarted; ${path} reads back as ${
        back.target !== null ? `a link to ${back.target}` : back.exists ? 'something that is no link' : 'nothing'
      }, and nothing was re-run`,
    );
  }

  async reboot(domain: string, options: { force: boolean }, ctx?: OperationContext): Promise<RebootResult> {
    checked(domain, true);
    const host = this.host.name;
    const before = await this.find(domain, ctx);
    if (!before || before.status === 'defined') return { outcome: 'not-running', previousId: null, domain: before ?? null };
    if (options.force) return this.recreate(domain, before, ctx);
    this.refuseRebootingItself(domain, before);
    if (before.status === 'paused')
      throw new UserError(
        'domain.state',
        `${domain} is paused on ${host}: ${PAUSED_CANNOT.reboot} — unpause it first, or reboot with force (destroy and create again)`,
      );
    if (!isUp(before.status))
      throw new UserError(
        'domain.state',
        `${domain} is ${before.status} on ${host}: it cannot reboot itself — reboot with force destroys it and creates it again from its config file`,
      );
    const words = argv.reboot(this.kind, domain);
    await ctx?.beforeIssue?.({ argv: words, before });
    ctx?.onProgress?.({ stage: 'reboot', message: `asking ${domain} to reboot` });
    const issuedAt = Date.now();
    const sent = await this.issue(words, `${this.kind} reboot`, ctx);
    if (!('noAnswer' in sent)) {
      const outcome = classifyOutcome('shutdown', sent);
      if (sent.code !== 0 || outcome.kind !== 'ok') {
        const message = 'message' in outcome ? outcome.message : `exit ${sent.code}`;
        throw new RemoteCommandError(
          host,
          words,
          sent.code,
          sent.stderr,
          outcome.kind === 'noPvControl'
            ? `${domain} on ${host} cannot be asked to reboot (${message}): reboot with force destroys it and creates it again`
            : `${this.kind} reboot ${domain} failed on ${host}: ${message}`,
        );
      }
    }
    const timeout = this.host.shutdownTimeoutSeconds;
    ctx?.onProgress?.({ stage: 'verify', message: `waiting for ${domain} to come back with a new id (up to ${timeout} s)` });
    return this.afterIssue(`${this.kind} reboot`, () =>
      this.awaitReboot(domain, before.id, issuedAt, issuedAt + timeout * 1000, ctx, 'noAnswer' in sent ? sent : 'sent'),
    );
  }

  /**
   * Up again with another domid = rebooted. Past the deadline with the same domid, `xl uptime` decides: an uptime
   * shorter than the time since the request means it restarted in place.
   */
  private async awaitReboot(
    domain: string,
    previousId: number | null,
    issuedAt: number,
    deadline: number,
    ctx: OperationContext | undefined,
    how: 'sent' | 'resumed' | NoAnswer,
  ): Promise<RebootResult> {
    const host = this.host.name;
    // Running again under a new id: not merely there, paused, as xl's monitor builds the new domain before it runs.
    const back = (d: DomainSummary | undefined) => started(d) && d.id !== previousId;
    const after = await this.pollUntil(domain, back, deadline, ctx);
    const resumed = how === 'resumed' ? { resumed: true } : {};
    if (after && back(after)) return { outcome: 'rebooted', previousId, domain: after, evidence: 'new-id', ...resumed };
    if (started(after)) {
      const up = (await this.uptimeTable(ctx)).rows.find((r) => r.name === domain && r.id === after.id);
      if (up && up.uptimeSeconds < secondsSince(issuedAt))
        return { outcome: 'rebooted', previousId, domain: after, evidence: 'uptime', uptimeSeconds: up.uptimeSeconds, ...resumed };
    }
    const waited = secondsSince(issuedAt);
    const state = after ? `${stateOf(after)}${after.id === null ? '' : ` (id ${after.id})`}` : 'absent';
    // Still up with its old id: the request stays with the guest, which may be slow to act on it — not a failure.
    const stillUp = started(after) && after.id === previousId;
    const message = stillUp
      ? `${domain} did not reboot within ${waited} s on ${host}: still ${state}, up since before the request — it may still be shutting down for the reboot, or it ignored the request; check its console`
      : `${domain} went down for the reboot but is not running again ${waited} s later on ${host} (now: ${state}) — its config may say on_reboot="destroy"; start it again`;
    if (how === 'sent' && stillUp) throw new OutcomeUnknownError(host, message);
    if (how === 'sent') throw new RemoteCommandError(host, argv.reboot(this.kind, domain), 0, '', message);
    throw new OutcomeUnknownError(
      host,
      `${how === 'resumed' ? `${this.kind} reboot was issued before the agent restarted` : how.noAnswer}: ${message}; nothing was re-run`,
    );
  }

  /** reboot --force: destroy, then create from the config file, each read back; one journal entry before the destroy. */
  private async recreate(domain: string, before: DomainSummary, ctx?: OperationContext): Promise<RebootResult> {
    const host = this.host.name;
    if (before.status === 'dying')
      throw new UserError('domain.state', `${domain} is dying on ${host} (being torn down already): wait for it to go, then start it`);
    const config = before.configPath;
    if (!config)
      throw new UserError(
        'domain.notFound',
        `no config file for ${domain} on ${host} (looked for ${domain}.cfg in ${this.configDirNames()}): a forced reboot would destroy it and could not create it again, so nothing was done`,
      );
    // Before anything is destroyed: the create after it must bring back this guest, not another.
    await this.refuseOtherName(domain, config, ctx, true);
    const destroy = argv.destroy(this.kind, domain);
    const create = argv.create(this.kind, config);
    await ctx?.beforeIssue?.({ argv: destroy, before });
    ctx?.onProgress?.({ stage: 'destroy', message: `destroying ${domain} (id ${before.id})` });
    const destroyed = await this.issue(destroy, `${this.kind} destroy`, ctx);
    if (!('noAnswer' in destroyed) && destroyed.code !== 0) {
      const outcome = classifyOutcome('destroy', destroyed);
      if (outcome.kind !== 'notFound' && outcome.kind !== 'invalidDomain')
        throw new RemoteCommandError(host, destroy, destroyed.code, destroyed.stderr, 'message' in outcome ? outcome.message : undefined);
    }
    const gone = (d: DomainSummary | undefined) => !d || d.status === 'defined' || d.id !== before.id;
    const down = await this.afterIssue(`${this.kind} destroy`, () => this.poll(domain, gone, ctx));
    if (!gone(down)) {
      const message = `${domain} is still ${stateOf(down)} (id ${before.id}) on ${host} after ${this.kind} destroy; nothing was created`;
      if ('noAnswer' in destroyed) throw new OutcomeUnknownError(host, `${destroyed.noAnswer}: ${message}`);
      throw new RemoteCommandError(host, destroy, 0, '', message);
    }
    ctx?.onProgress?.({ stage: 'create', message: `creating ${domain} again from ${config}` });
    const created = await this.issue(create, `${this.kind} create`, ctx).catch((error: unknown) => {
      // Not sent (no connection, no session): said as a bare transport failure, the reply would hide that the guest
      // was destroyed and is down.
      if (!(error instanceof TransportError) || ctx?.signal?.aborted) throw error;
      throw new RemoteCommandError(
        host,
        create,
        0,
        '',
        `${domain} was destroyed on ${host} but ${this.kind} create ${config} could not be sent (${error.message}) — it is down now; start it`,
      );
    });
    // Refused as already existing: it was gone after the destroy, so someone started it meanwhile, not xenops.
    let taken = false;
    if (!('noAnswer' in created)) {
      const outcome = classifyOutcome('create', created);
      taken = outcome.kind === 'alreadyExists';
      if (outcome.kind !== 'ok' && !taken)
        throw new RemoteCommandError(
          host,
          create,
          created.code,
          created.stderr,
          `${domain} was destroyed on ${host} but could not be created again: ${'message' in outcome ? outcome.message : `exit ${created.code}`} — it is down now`,
        );
    }
    const back = (d: DomainSummary | undefined) => started(d) && d.id !== before.id;
    const after = await this.afterIssue(`${this.kind} create`, async () => {
      const seen = await this.poll(domain, back, ctx);
      return 'noAnswer' in created ? this.watchBuild(domain, seen, ctx) : seen;
    });
    if (after && back(after))
      return {
        outcome: 'recreated',
        previousId: before.id,
        domain: after,
        evidence: 'new-id',
        configPath: config,
        ...(taken ? { startedMeanwhile: true } : {}),
      };
    const message = taken
      ? `${domain} was destroyed on ${host}, then started again outside xenops (${this.kind} create ${config} was refused: it already exists), but it is not up (now: ${stateOf(after)})`
      : `${domain} was destroyed on ${host} and ${this.kind} create ${config} was sent, but it is not up (now: ${stateOf(after)})`;
    if ('noAnswer' in created) throw new OutcomeUnknownError(host, `${created.noAnswer}: ${message}; nothing was re-run`);
    throw new RemoteCommandError(host, create, 0, '', message);
  }

  async verifyReboot(
    domain: string,
    options: { force: boolean; issuedAt: number; previousId: number | null },
    ctx?: OperationContext,
  ): Promise<RebootResult> {
    checked(domain, true);
    ctx?.onProgress?.({ stage: 'verify', message: `resumed after an agent restart: reading ${domain}'s state back` });
    if (!options.force) {
      const deadline = Math.max(Date.now(), options.issuedAt + this.host.shutdownTimeoutSeconds * 1000);
      return this.afterIssue(`${this.kind} reboot`, () =>
        this.awaitReboot(domain, options.previousId, options.issuedAt, deadline, ctx, 'resumed'),
      );
    }
    const back = (d: DomainSummary | undefined) => started(d) && d.id !== options.previousId;
    const after = await this.afterIssue(`${this.kind} destroy`, () => this.pollUntil(domain, back, Date.now() + this.resumeWaitMs, ctx));
    if (after && back(after))
      return {
        outcome: 'recreated',
        previousId: options.previousId,
        domain: after,
        evidence: 'new-id',
        ...(after.configPath ? { configPath: after.configPath } : {}),
        resumed: true,
      };
    const stillOld = after && isUp(after.status) && after.id === options.previousId;
    throw new OutcomeUnknownError(
      this.host.name,
      stillOld
        ? `a forced reboot of ${domain} was begun on ${this.host.name} before the agent restarted; ${domain} still runs with its old id ${options.previousId}, and nothing was re-run`
        : `a forced reboot of ${domain} was begun on ${this.host.name} before the agent restarted; ${domain} is ${stateOf(after)} there now (destroyed, not created again?) — nothing was re-run: start it`,
    );
  }

  async pause(domain: string, pause: boolean, ctx?: OperationContext): Promise<PauseResult> {
    checked(domain, true);
    const host = this.host.name;
    const before = await this.find(domain, ctx);
    if (!before || before.status === 'defined') return { outcome: 'not-running', domain: before ?? null };
    // Xen counts controller pauses: a second pause would need a second unpause, so a paused domain is left alone.
    if (pause && before.status === 'paused') return { outcome: 'already-paused', domain: before };
    if (!pause && (before.status === 'running' || before.status === 'blocked')) return { outcome: 'not-paused', domain: before };
    this.refuseRebootingItself(domain, before);
    if (pause ? !isUp(before.status) : before.status !== 'paused')
      throw new UserError(
        'domain.state',
        `${domain} is ${before.status} on ${host}${before.flags ? ` (${before.flags})` : ''}: it cannot be ${pause ? 'paused' : 'unpaused'} — stop it with force, then start it`,
      );
    const words = pause ? argv.pause(this.kind, domain) : argv.unpause(this.kind, domain);
    const what = `${this.kind} ${pause ? 'pause' : 'unpause'}`;
    await ctx?.beforeIssue?.({ argv: words, before });
    ctx?.onProgress?.({ stage: pause ? 'pause' : 'unpause', message: `${pause ? 'pausing' : 'unpausing'} ${domain}` });
    const sent = await this.issue(words, what, ctx);
    // xl ignores libxl's answer here (exit 0 even when it failed): the flags read back decide, not the exit code.
    if (!('noAnswer' in sent) && sent.code !== 0) {
      const outcome = classifyOutcome('shutdown', sent);
      throw new RemoteCommandError(
        host,
        words,
        sent.code,
        sent.stderr,
        `${what} ${domain} failed on ${host}: ${'message' in outcome ? outcome.message : `exit ${sent.code}`}`,
      );
    }
    const done = (d: DomainSummary | undefined) =>
      !!d && (pause ? d.status === 'paused' : d.status === 'running' || d.status === 'blocked');
    const after = await this.afterIssue(what, () => this.poll(domain, done, ctx));
    if (after && done(after)) return { outcome: pause ? 'paused' : 'unpaused', domain: after };
    const state = `${stateOf(after)}${after?.flags ? ` (${after.flags})` : ''}`;
    if ('noAnswer' in sent)
      throw new OutcomeUnknownError(host, `${sent.noAnswer}; ${domain} reads back as ${state}, and nothing was re-run`);
    throw new RemoteCommandError(host, words, 0, '', `${what} ${domain} returned, but ${domain} reads back as ${state} on ${host}`);
  }

  async verifyPause(domain: string, pause: boolean, ctx?: OperationContext): Promise<PauseResult> {
    checked(domain, true);
    ctx?.onProgress?.({ stage: 'verify', message: `resumed after an agent restart: reading ${domain}'s state back` });
    const done = (d: DomainSummary | undefined) =>
      !!d && (pause ? d.status === 'paused' : d.status === 'running' || d.status === 'blocked');
    const after = await this.afterIssue(`${this.kind} ${pause ? 'pause' : 'unpause'}`, () => this.poll(domain, done, ctx));
    if (after && done(after)) return { outcome: pause ? 'paused' : 'unpaused', domain: after, resumed: true };
    throw new OutcomeUnknownError(
      this.host.name,
      `${this.kind} ${pause ? 'pause' : 'unpause'} ${domain} was issued on ${this.host.name} before the agent restarted; ${domain} reads back as ${stateOf(after)}, and nothing was re-run`,
    );
  }

  private configDirNames(): string {
    return this.host.configDirs.filter((d) => !isAutostartDir(d)).join(', ') || this.host.configDirs.join(', ');
  }

  async consoleSnapshot(domain: string, lines: number, ctx?: OperationContext): Promise<ConsoleResult> {
    checked(domain, false);
    // xenconsole refuses it ("Can't specify Domain-0") and xenconsoled logs no guest console for it: nothing to run.
    if (domain === DOM0_NAME) throw new UserError('domain.protected', dom0ConsoleRefusal(this.host.name));
    return this.reading(`the console of ${domain}`, async () => {
      const [exists, listed] = await this.readBatch(
        [argv.consoleLogExists(this.host.consoleLogDir, domain), argv.consoleState(this.kind, domain)],
        ctx,
      );
      const status = listed ? this.consoleStatus(domain, listed) : undefined;
      const state = status === undefined ? {} : { status };
      if (exists?.code === 0) {
        // One byte past the limit: a log of exactly the limit is whole, its first line not one the read began inside.
        const r = await this.checkedRead(argv.consoleTail(this.host.consoleLogDir, domain, CONSOLE_READ_BYTES + 1), ctx);
        const recent = consoleTail(r.stdout, lines);
        if (recent.lines.length >= lines || recent.full) return { source: 'log' as const, ...snapshotOf(recent, lines), ...state };
        // Just rotated, the log holds few lines or none: "(no output)" would hide what the guest printed before.
        const room = CONSOLE_READ_BYTES - Buffer.byteLength(r.stdout);
        const older = await this.read(argv.consoleTailRotated(this.host.consoleLogDir, domain, room + 1), ctx);
        if (older.code !== 0) return { source: 'log' as const, ...snapshotOf(recent, lines), ...state };
        const before = consoleTail(older.stdout, lines - recent.lines.length, room);
        const both = { lines: [...before.lines, ...recent.lines], longLines: before.longLines + recent.longLines, full: before.full };
        return { source: 'log' as const, ...snapshotOf(both, lines), ...state };
      }
      const words = argv.consoleAttach(this.kind, domain);
      const r = await this.read(words, ctx, { timeoutMs: 15_000 });
      // `timeout` ending the attach (124) is the normal way it stops.
      if (r.code !== 0 && r.code !== 124) {
        const outcome = classifyOutcome('shutdown', r);
        if (outcome.kind === 'invalidDomain' || outcome.kind === 'notFound')
          throw new UserError('domain.notFound', `${domain} is not running on ${this.host.name}`);
        throw new RemoteCommandError(this.host.name, words, r.code, r.stderr);
      }
      const captured = consoleTail(r.stdout, lines);
      // A client that quit by itself with nothing captured never listened: `xm console` and xenconsole before Xen
      // 4.6 exit at once when stdin is not a terminal (the session gives /dev/null). "(no output)" would claim the
      // guest was quiet for the whole attach.
      if (r.code === 0 && captured.lines.every((l) => l.trim() === ''))
        throw new RemoteCommandError(
          this.host.name,
          words,
          0,
          r.stderr,
          `no console snapshot of ${domain} could be taken on ${this.host.name}: there is no readable xenconsoled log (${consoleLogPath(this.host.consoleLogDir, domain)}), and ${describeArgv(words)} ended by itself with nothing captured (${this.kind === 'xm' ? 'xm console' : 'xl console before Xen 4.6'} quits when not on a terminal); enable xenconsoled logging (XENCONSOLED_TRACE=guest, i.e. xenconsoled --log=guest) or use a console that stays attached (xl on Xen 4.6 or later)`,
        );
      return { source: 'attach' as const, ...snapshotOf(captured, lines), ...state };
    });
  }

  /** The domain's state from `list DOMAIN`; undefined when that answer says nothing certain. */
  private consoleStatus(domain: string, r: RunResult): ConsoleResult['status'] {
    if (r.code !== 0) {
      const kind = classifyOutcome('shutdown', r).kind;
      return kind === 'invalidDomain' || kind === 'notFound' ? 'absent' : undefined;
    }
    const row = parseListWithUuids(r.stdout).rows.find((d) => d.name === domain);
    if (!row) return undefined;
    // xm lists an inactive xend-managed domain with a blank ID: defined, not running.
    return row.id === null && this.kind === 'xm' ? 'defined' : domainStatusFromFlags(row.state, this.kind);
  }

  /** The target's domains, named as the target's state when it does not answer. */
  private async readTarget(domain: string, target: Pick<MigrationTarget, 'host' | 'verify'>): Promise<DomainSummary[]> {
    try {
      return await target.verify();
    } catch (error) {
      if (error instanceof TransportError && !(error instanceof HostKeyError))
        throw new TransportError(target.host, `could not read the state of ${domain} on ${target.host}: ${error.message}`, {
          cause: error,
        });
      throw error;
    }
  }

  /**
   * Reads after a migration was sent. A list that answers with an error (xl list exiting 1) says no more about where
   * the guest is than a lost connection: the migration may well have moved it, so it is never "failed". Either way
   * the reply says how xl migrate ended (`sent`): timed out, it may still be running.
   */
  private async migrationReadBack<T>(sent: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof RemoteCommandError || (error instanceof TransportError && !(error instanceof OutcomeUnknownError)))
        throw new OutcomeUnknownError(this.host.name, `${sent}, but ${error.message}; nothing was re-run — check both hosts`, {
          cause: error,
        });
      throw error;
    }
  }

  async migrate(domain: string, target: MigrationTarget, ctx?: OperationContext): Promise<MigrateResult> {
    const words = argv.migrate(this.kind, domain, target.address);
    const [sourceBefore, destBefore] = await Promise.all([
      this.reading(`the state of ${domain}`, () => this.listDomains(ctx)),
      this.readTarget(domain, target),
    ]);
    const here = sourceBefore.find((d) => d.name === domain);
    if (!here || here.status === 'defined') {
      const onTarget = upIn(destBefore, domain);
      if (started(onTarget)) return { outcome: 'already-on-target', target: target.host, domain: onTarget, transcript: [] };
      throw new UserError(
        'domain.notFound',
        `${domain} is not running on ${this.host.name}${onTarget ? ` (on ${target.host} it is ${stateOf(onTarget)})` : ''}`,
      );
    }
    if (here.status === 'paused')
      throw new UserError(
        'domain.state',
        `${domain} is paused on ${this.host.name}: ${this.kind} migrate would leave it running on ${target.host} — unpause it first if it should run there; nothing was run`,
      );
    if (!started(here))
      throw new UserError(
        'domain.state',
        `${domain} is ${stateOf(here)} on ${this.host.name}: only a running guest can be migrated; nothing was run`,
      );
    // The target already lists that name (powered off and not cleared away, or another guest): xl would copy the
    // whole guest there, then fail to rename it.
    const taken = upIn(destBefore, domain);
    if (taken)
      throw new UserError(
        'domain.state',
        `${target.host} already has a domain named ${domain} (${stateOf(taken)}${taken.flags ? `, ${taken.flags}` : ''}): clear it there first; nothing was run`,
      );
    // Left by an earlier migration that failed badly: this one could not be told apart from it.
    const stale = [upIn(sourceBefore, `${domain}--migratedaway`), upIn(destBefore, `${domain}--incoming`)].filter((d) => d !== undefined);
    if (stale.length > 0)
      throw new UserError(
        'domain.state',
        `${stale.map((d) => d.name).join(' and ')} ${stale.length > 1 ? 'are' : 'is'} left from an earlier migration of ${domain} (${this.host.name}, ${target.host}): check both hosts and clear ${stale.length > 1 ? 'them' : 'it'} first; nothing was run`,
      );
    await ctx?.beforeIssue?.({ argv: words, before: here });
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
    // Only said, never acted on: xl migrate is left to end (or time out) on its own. Stopped mid-stream it cannot
    // resume the guest it suspended for the last pages (renamed NAME--migratedaway once the target acknowledged),
    // which xl alone does when it sees the stream fail ("Migration failed, resuming at sender"): killing it could
    // leave the guest suspended on the source, worse than the wait.
    const running = `${this.kind} migrate is still running on ${this.host.name}`;
    const sentAt = Date.now();
    const stopWatching = watchTarget(
      () => target.verify(),
      this.migrateCheckMs,
      ({ answering, why }) =>
        ctx?.onProgress?.({
          stage: 'migrate',
          message: answering
            ? `${target.host} answers again — ${running}`
            : `${target.host} stopped answering (${why}) — ${running}, left to end on its own (stopping it mid-copy could leave ${domain} suspended on ${this.host.name}); both hosts are read once it ends, at the latest in ${describeWait(Math.max(0, sentAt + this.migrateTimeoutMs - Date.now()))} (its timeout)`,
        }),
    );
    const sent = await this.issue(words, `${this.kind} migrate`, ctx, { timeoutMs: this.migrateTimeoutMs, onStderr }).finally(stopWatching);
    if ('noAnswer' in sent) failure = sent.noAnswer;
    else {
      if (buffer) transcript.push(buffer);
      const outcome = classifyOutcome('migrate', sent);
      if (outcome.kind !== 'ok') failure = 'message' in outcome ? outcome.message : `exit ${sent.code}`;
    }
    ctx?.onProgress?.({ stage: 'verify', message: `checking ${target.host} for ${domain}` });
    const [dest, source] = await this.migrationReadBack(
      `${this.kind} migrate was sent to ${this.host.name}${failure ? ` (${failure}${'noAnswer' in sent ? '; it may still be running there' : ''})` : ' and reported success'}`,
      async () =>
        [await this.readTarget(domain, target), await this.reading(`the state of ${domain}`, () => this.listDomains(ctx))] as const,
    );
    const arrived = upIn(dest, domain);
    const left = source.find((d) => d.name === domain);
    // xl's temporary names: a migration that failed in its final handshake leaves NAME--migratedaway (suspended) on
    // the source, NAME--incoming on the target, or both; xl says "Domain state is now undefined" — so does this.
    const away = upIn(source, `${domain}--migratedaway`);
    const incoming = upIn(dest, `${domain}--incoming`);
    if (away || incoming)
      throw new OutcomeUnknownError(
        this.host.name,
        `the migration of ${domain} to ${target.host} did not end cleanly${failure ? ` (${failure})` : ''}: ${this.host.name}: ${sideOf(left && left.status !== 'defined' ? left : undefined, away)}, ${target.host}: ${sideOf(arrived, incoming)} — check both hosts before resuming or renaming either`,
      );
    // Moved, whatever state it is in there (crashed as soon as it ran, paused): a result saying where it is, never a
    // failure — "failed" would have the guest still on the source, where it no longer is.
    if (arrived && (!left || left.status === 'defined'))
      return {
        outcome: started(arrived) ? 'migrated' : 'arrived-not-running',
        target: target.host,
        domain: arrived,
        ...(left?.autostart ? { sourceAutostart: true } : {}),
        transcript,
      };
    // Reported done, and running on neither host (no temporary name left either): destroyed on the target by its
    // on_crash as soon as it crashed there (xl's default), or removed by something else. Not "failed" — the guest is
    // not on the source to retry — and no record of it on the target is made up: each side says what its list showed.
    if (!failure && !('noAnswer' in sent) && !arrived && (!left || left.status === 'defined'))
      return {
        outcome: 'running-nowhere',
        target: target.host,
        domain: null,
        name: domain,
        onSource: left ? 'defined' : 'absent',
        onTarget: dest.some((d) => d.name === domain) ? 'defined' : 'absent',
        ...(left?.autostart ? { sourceAutostart: true } : {}),
        transcript,
      };
    // Unanswered (connection lost, or timed out): its channel closing does not stop xl migrate at once, and one not yet
    // at the target's migrate-receive leaves no trace there — "not moved" now is no failure, as it is for a create.
    if ('noAnswer' in sent)
      throw new OutcomeUnknownError(
        this.host.name,
        `${sent.noAnswer}; read back now: ${domain} ${stateOf(left)} on ${this.host.name}, ${stateOf(arrived)} on ${target.host} — ${this.kind} migrate may still be running on ${this.host.name}, so whether ${domain} moves is not known yet: check both hosts (${this.kind} list) before retrying; nothing was re-run`,
      );
    throw new RemoteCommandError(
      this.host.name,
      words,
      1,
      transcript.join('\n'),
      `migration of ${domain} to ${target.host} failed${failure ? `: ${failure}` : ''} (now on ${this.host.name}: ${stateOf(left)}, on ${target.host}: ${stateOf(arrived)})`,
    );
  }

  async verifyMigrate(domain: string, target: Omit<MigrationTarget, 'address'>, ctx?: OperationContext): Promise<MigrateResult> {
    checked(domain, true);
    ctx?.onProgress?.({
      stage: 'verify',
      message: `resumed after an agent restart: reading ${domain}'s state on ${this.host.name} and ${target.host}`,
    });
    const deadline = Date.now() + this.resumeWaitMs;
    for (;;) {
      const [source, dest] = await this.migrationReadBack(
        `${this.kind} migrate was sent to ${this.host.name} before the agent restarted`,
        () => Promise.all([this.reading(`the state of ${domain}`, () => this.listDomains(ctx)), this.readTarget(domain, target)]),
      );
      const here = upIn(source, domain);
      const away = upIn(source, `${domain}--migratedaway`);
      const there = upIn(dest, domain);
      const incoming = upIn(dest, `${domain}--incoming`);
      // xl renames both ends while it moves a domain: wait (bounded) for it to settle one way or the other.
      if ((away || incoming) && Date.now() < deadline && !ctx?.signal?.aborted) {
        await pause(this.pollMs, ctx?.signal);
        continue;
      }
      // Moved: running there, or settled there (no temporary name left) but not running (crashed or paused as it arrived).
      if (there && !here && !away && (started(there) || !incoming)) {
        // As in migrate(): the source's /etc/xen/auto link stays behind, and would boot the guest there a second time.
        const left = source.find((d) => d.name === domain);
        return {
          outcome: started(there) ? 'migrated' : 'arrived-not-running',
          target: target.host,
          domain: there,
          ...(left?.autostart ? { sourceAutostart: true } : {}),
          transcript: [],
          resumed: true,
        };
      }
      const states = `${this.host.name}: ${sideOf(here, away)}, ${target.host}: ${sideOf(there, incoming)}`;
      if (here && !away && !there && !incoming)
        throw new RemoteCommandError(
          this.host.name,
          [this.kind, 'migrate', domain, target.host],
          1,
          '',
          `the migration of ${domain} to ${target.host} was interrupted when the agent restarted: ${domain} is still running on ${this.host.name} and nothing moved (${states}); nothing was re-run`,
        );
      throw new OutcomeUnknownError(
        this.host.name,
        `the migration of ${domain} to ${target.host} was interrupted when the agent restarted and did not end cleanly (${states}); nothing was re-run — check both hosts`,
      );
    }
  }
}

/**
 * Started: running or blocked. Not paused: `xl create` builds a domain paused and unpauses it last, so a read-back
 * after a lost connection that catches it paused has caught a build that may still fail.
 */
function started(d: DomainSummary | undefined): d is DomainSummary {
  return !!d && (d.status === 'running' || d.status === 'blocked');
}

/**
 * Down as a stop asked: gone, or only defined. `xl shutdown -w` returns once the guest has shut down, before the
 * toolstack clears it away (never, with on_poweroff="preserve"): for a graceful stop, powered off (`---s--`, no other
 * reason letter) is down too — watched live or read back by a resumed job alike.
 */
function stopped(d: DomainSummary | undefined, force: boolean): boolean {
  return !d || d.status === 'defined' || (!force && d.status === 'shutdown' && d.flags.charAt(4) === '-');
}

/**
 * Its own OS asked for a reboot: xl flags position 4 `s` (shut down) with reason letter `r` at position 5
 * (shared/xen-toolstack.md §1.1), dying or not — `---srd` is the old domain torn down for that reboot. xm's 5th flag
 * means crashed and is never `r`.
 */
function rebootingItself(d: DomainSummary, kind: ToolstackKind): boolean {
  return kind === 'xl' && d.flags.charAt(3) === 's' && d.flags.charAt(4) === 'r';
}

/**
 * The shell found no xentop (exit 127 naming it: a 127 naming another command is not about xentop), or `sudo -n --`
 * did (sudo says so itself, and exits 1).
 */
function xentopMissing(r: RunResult): boolean {
  if (r.code === 127) return r.stderr.trim() === '' || /\bxentop\b/.test(r.stderr);
  return r.code !== 0 && /^sudo: xentop: command not found/m.test(r.stderr);
}

/** The domain of that name if it is present (running, paused, crashed…: not merely defined). */
function upIn(domains: readonly DomainSummary[], name: string): DomainSummary | undefined {
  return domains.find((d) => d.name === name && d.status !== 'defined');
}

/** "absent", "not running (defined)", or the status. */
function stateOf(d: DomainSummary | undefined): string {
  if (!d) return 'absent';
  return d.status === 'defined' ? 'not running (defined)' : d.status;
}

/**
 * Reads a migration's target every `everyMs` while xl migrate runs, one read at a time, and tells when it stops
 * answering (a read still out at the next tick, or one that could not reach it) and when it answers again — once each:
 * a line repeated would crowd out the other (the bot drops a progress line that comes too soon after the one before).
 * A target powered off or cut off mid-copy leaves xl's ssh transport waiting on TCP, and xl migrate silent, until TCP
 * gives up or the command's timeout ends. Returns what stops it; a read still out then is left to its own timeout.
 */
function watchTarget(
  read: () => Promise<unknown>,
  everyMs: number,
  tell: (change: { answering: boolean; why: string }) => void,
): () => void {
  let stopped = false;
  let silent = false;
  let out = false;
  const heard = (answering: boolean, why = '') => {
    if (stopped || silent === !answering) return;
    silent = !answering;
    tell({ answering, why });
  };
  const timer = setInterval(() => {
    // A read still out is not silence yet: it has its own timeout, and one that ends so says it (a TransportError).
    // Counted as silence, a target slow to answer (or whose command slots are busy) flipped between the two lines.
    if (out) return;
    out = true;
    read().then(
      () => {
        out = false;
        heard(true);
      },
      (error: unknown) => {
        out = false;
        // An error it answered with (xl list exiting 1) is an answer: only the transport failing is silence.
        heard(!(error instanceof TransportError), error instanceof Error ? error.message : String(error));
      },
    );
  }, everyMs);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** A wait as a progress line says it: minutes from two on, else as timeouts are ("20 s"). */
function describeWait(ms: number): string {
  return ms >= 120_000 ? `${Math.round(ms / 60_000)} min` : describeTimeout(ms);
}

/** One side of a migration: the domain, or its leftover under xl's temporary name. */
function sideOf(d: DomainSummary | undefined, leftover: DomainSummary | undefined): string {
  if (d && leftover) return `${d.status}, and ${leftover.name} ${leftover.status}`;
  if (d) return d.status;
  if (leftover) return `${leftover.name} ${leftover.status}`;
  return 'absent';
}

function secondsSince(t: number): number {
  return Math.max(0, Math.round((Date.now() - t) / 1000));
}

/** Waits ms, or less when the signal aborts (the caller's next read then fails with the abort). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `toolstack: auto`: `xl info` works → xl, unless it shows a Xen before 4.5 and `xm info` works too (xend runs) → xm;
 * else `xm info` works → xm. Reads, retried and worded as the driver's own are: a hung or dropped `xl info` is "could
 * not detect the toolstack", never an unknown outcome — the job it runs for has sent nothing yet.
 */
export async function detectToolstack(runner: RemoteRunner, host: string): Promise<ToolstackKind> {
  const info = async (words: string[]) => {
    try {
      return await readWithRetry(host, () => runner.run(host, words));
    } catch (error) {
      if (error instanceof TransportError && !(error instanceof HostKeyError))
        throw new TransportError(host, `could not detect the toolstack on ${host}: ${error.message}; nothing else was run`, {
          cause: error,
        });
      throw error;
    }
  };
  const xl = await info(['xl', 'info']);
  // Xen before 4.5 ships xl beside xm, and `xl info` answers while xend runs (xl refuses only what modifies, "xend is
  // running…"): there xend, answering `xm info`, is the toolstack that made and manages the domains.
  if (xl.code === 0 && !mayRunXend(parseInfo(xl.stdout))) return 'xl';
  const xm = await info(['xm', 'info']);
  if (xm.code === 0) return 'xm';
  if (xl.code === 0) return 'xl';
  throw new TransportError(
    host,
    `no working toolstack on ${host}: xl info exited ${xl.code} (${firstLine(xl.stderr)}), xm info exited ${xm.code} (${firstLine(xm.stderr)})`,
  );
}

/** xend was removed in Xen 4.5; an info without a version says nothing either way and is taken as xl's. */
function mayRunXend(info: HostInfo): boolean {
  const major = Number(info['xen_major']);
  const minor = Number(info['xen_minor']);
  return /^\d+$/.test(info['xen_major'] ?? '') && /^\d+$/.test(info['xen_minor'] ?? '') && (major < 4 || (major === 4 && minor < 5));
}

/** How much of a parse error a note or log line quotes: its message may hold a whole atom of host output. */
const EXCERPT_CHARS = 200;

function excerpt(s: string): string {
  return s.length > EXCERPT_CHARS ? `${s.slice(0, EXCERPT_CHARS - 1)}…` : s;
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? 'no output'
  );
}

/** A bounded console read as a result: what was cut is said only where there is something to say. */
function snapshotOf(t: ConsoleTail, asked: number): Pick<ConsoleResult, 'lines' | 'longLines' | 'readLimitBytes'> {
  return {
    lines: t.lines,
    ...(t.longLines > 0 ? { longLines: t.longLines } : {}),
    ...(t.full && t.lines.length < asked ? { readLimitBytes: CONSOLE_READ_BYTES } : {}),
  };
}
