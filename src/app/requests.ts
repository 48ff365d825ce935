import type { ActionClick, BotCore, ReplyTarget } from '../adapters/types.ts';
import type { Config } from '../config/schema.ts';
import { parseArgs } from '../core/args.ts';
import { authorize, mayReadAbout, type Person } from '../core/authorize.ts';
import { type AnyCommand, commandSpec, commandSpecs } from '../core/define-command.ts';
import { type DomainRef, onConfiguredHost } from '../core/domain-ref.ts';
import { UserError } from '../core/errors.ts';
import { describeFreeze } from '../core/freeze.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import {
  type ApprovalRule,
  type Decision,
  decide,
  describeTargets,
  isRejection,
  lookupFoundOn,
  mayRunHere,
  type PipelineContext,
  type Rejection,
  reject,
} from '../core/pipeline.ts';
import { type Reply, reply } from '../core/reply.ts';
import type { ChatRequest } from '../core/request.ts';
import type { Clock } from '../queue/shared-clock.ts';
import type { ActionStore } from './actions.ts';
import type { ApprovalDesk } from './approval-desk.ts';
import type { AuditLog } from './audit.ts';
import { autocompleteChoices } from './autocomplete.ts';
import type { CommandOutcome } from './bot-metrics.ts';
import { viewFor } from './capacity.ts';
import { type Dispatcher, QueueingFailed, Refusal } from './dispatch.ts';
import type { FleetCache } from './fleet-cache.ts';
import type { FleetRefresher } from './fleet-refresh.ts';
import type { FreezeBook } from './freezes.ts';
import type { OnCallStore } from './oncall-store.ts';
import type { PendingStore } from './pending-store.ts';
import { isRedisDown, RedisUnavailableError, redisRefusal } from './redis-wait.ts';
import { scheduleAccess } from './schedule-access.ts';
import { type ScheduleBook, schedulePostKey } from './schedules.ts';

/**
 * How long a lookup that found its domain running waits for the hosts yet to answer: a healthy fleet's lists (1,000
 * hosts' within about a second) all come in meanwhile, so a second copy of the name is still said to be ambiguous,
 * while a host that hangs or is down no longer holds every lookup for the whole read timeout.
 */
const FOUND_GRACE_MS = 2_000;

/** A request xenops makes itself (a schedule, an approved request resuming): no chat event behind it. */
export interface SystemRequest {
  command: string;
  /** Text as typed after the command, or structured options. */
  args?: string | Record<string, string | number | boolean>;
  /** The config person it acts as: identified and authorized as that person. */
  as: string;
  /** Where the replies go. */
  channel: { platform: ChatRequest['platform']; id: string };
  /** Stable id (a schedule tick's id makes a re-run harmless); generated when absent. */
  requestId?: string;
  /** Set by a schedule's tick. */
  schedule?: { id: string; mode: 'post' | 'edit' };
}

export interface RequestDeps {
  config: Config;
  commands: readonly AnyCommand[];
  ctx: PipelineContext;
  approval: ApprovalRule;
  instance: string;
  isRedisReady: () => boolean;
  fleet: FleetCache;
  refresher: FleetRefresher;
  dispatcher: Dispatcher;
  desk: ApprovalDesk;
  freezes: FreezeBook;
  oncall: OnCallStore;
  actions: ActionStore;
  audit: AuditLog;
  schedules: ScheduleBook;
  /** Dispatch's record of requests: whether a chat request was delivered before. */
  pending: Pick<PendingStore, 'firstDelivery' | 'actedOn'>;
  deliver: (target: ReplyTarget, r: Reply) => Promise<ReplyTarget>;
  /** Counts how a request ended here (refused, needs approval, a local command's answer, an error); queued ones end in the relay. */
  onCommand?: (command: string, outcome: CommandOutcome) => void;
  /** The deployment's shared clock: audit entries' times are in it (shared-clock.ts). */
  clock: Clock;
  logger: Logger;
}

/**
 * One request, start to answer: the pure pipeline (with one fleet lookup when a name is not in the cache), then
 * what its decision asks for — a refusal, a local command, an approval request, or the dispatcher — and the audit of
 * each step. Chat events, button clicks and system requests all come through here; it never throws.
 */
export class RequestHandler {
  private systemCounter = 0;
  readonly core: BotCore;

  constructor(private readonly deps: RequestDeps) {
    const { config, commands, ctx, approval, fleet, logger } = deps;
    const byName = ctx.commands;
    this.core = {
      commandSpecs: () => commandSpecs(commands),
      precheck: (req) => {
        try {
          const d = decide(ctx, req, fleet, false, approval);
          // Only what needs no I/O: identity, channel, arguments, the permission dry run.
          if (!isRejection(d) || d.code === 'notFound') return null;
          // The adapter answers it at once (Discord's ephemeral reply); counted and audited as any refusal is.
          this.recordRefusal(req, d).catch((error: unknown) => logger.error({ err: String(error) }, 'could not record a refusal'));
          return d.reply;
        } catch (error) {
          logger.error({ err: String(error) }, 'precheck failed');
          return reply.error('Something went wrong', 'xenops hit an internal error');
        }
      },
      handle: (req, target) => this.handle(req, target),
      autocomplete: (actor, channel, commandName, option, partial) => {
        try {
          return autocompleteChoices(config, fleet, byName.get(commandName), actor, option, partial, channel);
        } catch (error) {
          logger.error({ err: String(error) }, 'autocomplete failed');
          return [];
        }
      },
      handleAction: (click, target) => this.handleAction(click, target),
    };
  }

  /** The system entry point: a command run as a person, replying in a channel. */
  async run(r: SystemRequest): Promise<void> {
    const id = r.requestId ?? `sys-${this.deps.instance}-${Date.now()}-${++this.systemCounter}`;
    const req: ChatRequest = {
      id,
      platform: r.channel.platform,
      actor: { platform: r.channel.platform, userId: `xenops:${r.as}`, roleIds: [], displayName: 'xenops' },
      channel: { id: r.channel.id, kind: 'group' },
      command: r.command,
      args: typeof r.args === 'string' ? { kind: 'text', text: r.args } : { kind: 'options', options: r.args ?? {} },
      receivedAt: Date.now(),
      source: 'system',
      asPerson: r.as,
      ...(r.schedule ? { schedule: r.schedule } : {}),
    };
    // A tick's replies are the posts its schedule's add said come now (Reply.due): marked as such for the adapter.
    const due = r.schedule ? { due: schedulePostKey(r.schedule.id) } : {};
    await this.handle(req, { platform: r.channel.platform, channelId: r.channel.id, requestId: id, state: {}, ...due });
  }

  private async handleAction(click: ActionClick, target: ReplyTarget): Promise<void> {
    let req: ChatRequest | null;
    try {
      // The click's request is kept in Redis: while Redis is down or silent it cannot be read, and the clicker is told
      // so as a typed command would be — nothing was run.
      if (!this.deps.isRedisReady()) throw new RedisUnavailableError('not connected');
      req = await this.deps.actions.toRequest(click);
    } catch (error) {
      // Nothing was decided yet: a refusal says nothing was queued, as for a typed command refused before its decision.
      const r =
        redisFailureReply(error, { decided: null, acting: false }) ?? reply.error('Something went wrong', 'xenops hit an internal error');
      this.deps.logger.error({ err: redactSecrets(String(error)) }, `action failed: ${r.title}`);
      // A click that ended here is counted too (its command unknown: it could not be read), as a typed one would be.
      this.deps.onCommand?.('unknown', 'error');
      await this.deps.deliver(target, r);
      return;
    }
    if (!req) {
      this.deps.onCommand?.('unknown', 'refused');
      await this.deps.deliver(target, reply.error('This button has expired', 'run the command again'));
      return;
    }
    await this.handle(req, target);
  }

  private auditBase(req: ChatRequest, person: string | null) {
    const args = req.args.kind === 'text' ? req.args.text : JSON.stringify(req.args.options);
    return {
      requestId: req.id,
      person,
      platform: req.platform,
      userId: req.actor.userId,
      channelId: req.channel.id,
      command: req.command,
      args,
    };
  }

  /** The pure pipeline, with one fleet lookup when a name is not in the cache. */
  private async decideWithLookup(req: ChatRequest): Promise<Decision> {
    const { ctx, approval, refresher, config } = this.deps;
    // Plans that place guests (/evacuate) decide on capacity read now; everything else on the cache as it is.
    const fleet = await viewFor({ ...this.deps, waitMs: Math.min(config.bot.readTimeoutMs, 15_000) }, req);
    const first = decide(ctx, req, fleet, false, approval);
    if (first.kind !== 'lookup') return first;
    const { unanswered } = await refresher.refresh(first.hosts, Math.min(config.bot.readTimeoutMs, 15_000), {
      found: (host) => lookupFoundOn(ctx, first.evaluated, fleet, host),
      graceMs: FOUND_GRACE_MS,
    });
    const second = decide(ctx, req, fleet, true, approval);
    if (second.kind === 'lookup') return reject('Something went wrong', 'the fleet lookup did not settle', first.evaluated.person.id);
    // "No such domain" is only true when every host answered.
    if (isRejection(second) && second.code === 'notFound' && unanswered.length > 0)
      return reject('Cannot look that up', unansweredText(unanswered), second.person);
    return second;
  }

  /**
   * A UserError while deciding or previewing is the argv builders' own check saying no (they refuse what no host may
   * be sent): its message is the answer, as a refusal — nothing was queued or recorded yet.
   */
  private async deciding<T>(step: () => Promise<T>, person: string | null): Promise<T | Rejection> {
    try {
      return await step();
    } catch (error) {
      if (error instanceof UserError) return reject('Cannot do that', error.message, person);
      throw error;
    }
  }

  private async refuse(req: ChatRequest, target: ReplyTarget, r: Rejection): Promise<void> {
    await this.recordRefusal(req, r);
    await this.deps.deliver(target, r.reply);
  }

  /** A refusal counted and on record, wherever it was answered (here, or by an adapter's precheck). */
  private async recordRefusal(req: ChatRequest, r: Rejection): Promise<void> {
    this.deps.onCommand?.(req.command, 'refused');
    const { config, ctx } = this.deps;
    await this.deps.audit.append({
      ...this.auditBase(req, r.person),
      // What it refused: its targets once resolved, else what was typed — never where the fleet view, as it happens to
      // be (cold after a restart, or knowing hosts the asker may not use), places a guest named alone.
      ...refusedAsTyped(ctx, req, !r.targets),
      event: 'decision',
      decision: 'rejected',
      detail: r.reason,
      // xenops' own words may name other hosts ("not considered: xen1 is frozen"): the entry is about them too.
      targets: [...(r.targets ?? []), ...hostsIn(config, r.reason).map((host) => ({ host }))],
    });
  }

  /** The whole pipeline for one request. Never throws; every outcome reaches the user. */
  async handle(req: ChatRequest, target: ReplyTarget): Promise<void> {
    const { config, audit, deliver, dispatcher, desk, freezes, oncall, logger } = this.deps;
    const auditBase = (r: ChatRequest, p: string | null) => this.auditBase(r, p);
    let person: string | null = null;
    // How far it got: what a failure of Redis leaves undone depends on it.
    const progress: Progress = { decided: null, acting: false };
    // Audit entries are written in the order they are made (the stream's script calls leave in call order, the file
    // has its own queue); the request waits for them only at its end, never before its job is queued.
    const audits: Promise<void>[] = [];
    try {
      if (!this.deps.isRedisReady()) throw new RedisUnavailableError('not connected');
      const d = await this.deciding(() => this.decideWithLookup(req), null);
      progress.decided = d;
      if (d.kind === 'reject') {
        // A change delivered again after it was acted on is decided afresh on the state it made ("web is already on
        // xen1: nothing to move"): a refusal now would contradict the answer its first delivery got.
        if (req.source !== 'system' && (await this.deps.pending.actedOn(req.id))) {
          logger.info({ requestId: req.id }, 'the same request delivered again after it was acted on: ignored');
          return;
        }
        return await this.refuse(req, target, d);
      }
      person = d.evaluated.person.id || null;
      // A change delivered again is dropped here, before it is audited as a new request: a queued one, and one the bot
      // makes itself (/oncall set, /freeze), which would otherwise add a second override or freeze from the same event.
      const changes =
        d.kind === 'needsApproval' || (d.kind === 'enqueue' && d.mutating) || (d.kind === 'local' && d.evaluated.risk !== 'read');
      if (changes && !(await this.firstDelivery(req))) return;
      // A mutation is on record, in the file and the stream, before it can run (a crash right after queueing must not
      // leave it unaudited); only reads skip the wait.
      const onRecordFirst = d.kind === 'enqueue' && d.mutating;
      audits.push(
        audit.append(
          {
            ...auditBase(req, person),
            event: 'request',
            ...('jobs' in d ? { targets: d.jobs } : hostsNamed(config, req, this.deps.fleet)),
          },
          { now: onRecordFirst },
        ),
      );
      if (onRecordFirst) await Promise.all(audits);
      switch (d.kind) {
        case 'local': {
          const me = d.evaluated.person;
          progress.acting = true;
          // A refusal the command makes in its own run (not its arguments' schema: `/oncall set` with no person) is on
          // record as any other — once: what a store it asks records of this attempt says it already (on call under
          // this request; the approval desk under the request approved, `by` this person: a refused /approve, or one
          // approved and then not run, is not said again as a refused request).
          let attemptOnRecord = false;
          const stopWatching = audit.onAppend((e) => {
            if (e.requestId === req.id || (e.by !== undefined && e.by === me.id)) attemptOnRecord = true;
          });
          let r: Reply;
          try {
            r = await d.command.run(d.evaluated.args as never, {
              person: me.id || null,
              platformUserId: req.actor.userId,
              platform: req.platform,
              roles: me.roles,
              oncall: oncall.forRequest(req, me, auditBase(req, person)),
              freezes: {
                zone: config.oncall?.timezone ?? 'UTC',
                freeze: (hosts, until, why) => freezes.freeze(me, hosts, until, why, auditBase(req, person)),
                unfreeze: (hosts) => freezes.unfreeze(me, hosts, auditBase(req, person)),
                // Only hosts this person may freeze: a refusal naming one tells them of no host they may not see.
                isHost: (name) => Object.hasOwn(config.hosts, name) && authorize(config, me, 'host.freeze', { host: name }).allowed,
              },
              approvals: {
                // The answer is for the one who decided: private, so it never replaces the shared card.
                approve: async (id) => ({ ...(await desk.approve(id, me, req.platform)), private: true }),
                deny: async (id, why) => ({ ...(await desk.deny(id, me, why)), private: true }),
                waiting: async () => ({ ...(await desk.waitingFor(me)), private: true }),
              },
              allowedCommands: () => this.allowedFor(req).map(commandSpec),
              now: () => this.deps.clock.now(),
              readAudit: (query) =>
                audit.recent({
                  ...query,
                  // Unscoped (audit.read everywhere, as admins have it): nothing to hide, and no entry-by-entry check.
                  ...(readsEverything(config, me, d.command.permission)
                    ? {}
                    : {
                        visible: (e) => mayReadAbout(config, me, d.command.permission ?? 'audit.read', placesOf(e), listOf(e['domain'])),
                      }),
                }),
              auditNames: () => {
                const hosts = Object.keys(config.hosts);
                const permission = d.command.permission ?? 'audit.read';
                return {
                  hosts,
                  readableHosts: readsEverything(config, me, d.command.permission)
                    ? hosts
                    : hosts.filter((h) => mayReadAbout(config, me, permission, [h], [])),
                  people: Object.keys(config.people),
                  platformIds: Object.values(config.people).flatMap((p) => Object.values(p.identities).filter((id) => id !== undefined)),
                  commands: [...this.deps.ctx.commands.keys()],
                };
              },
              schedules: scheduleAccess(
                { config, book: this.deps.schedules, audit: (e) => audit.append(e), now: () => this.deps.clock.now() },
                me,
                { platform: req.platform, channelId: req.channel.id },
                { ...auditBase(req, person), ...hostsNamed(config, req, this.deps.fleet) },
              ),
            });
          } finally {
            stopWatching();
          }
          if (r.kind === 'error' && !attemptOnRecord) {
            const detail = reasonOf(r);
            audits.push(
              audit.append({
                ...auditBase(req, person),
                ...refusedAsTyped(this.deps.ctx, req, true),
                event: 'decision',
                decision: 'rejected',
                detail,
                // As recordRefusal's: an entry whose words name a host is about it (a reader scoped elsewhere never sees it).
                targets: hostsIn(config, detail).map((host) => ({ host })),
              }),
            );
          }
          this.deps.onCommand?.(req.command, r.kind === 'error' ? (r.refused ? 'refused' : 'error') : 'ok');
          await deliver(target, r);
          return;
        }
        case 'needsApproval': {
          // A frozen host is refused before anyone is asked to approve.
          const frozen = await freezes.frozen([
            ...new Set([...d.jobs.map((j) => j.host), ...(d.command.touches?.(d.evaluated.args) ?? [])]),
          ]);
          if (frozen.length > 0)
            return await this.refuse(req, target, {
              ...reject('Frozen', frozen.map((f) => describeFreeze(f, config.oncall?.timezone)).join('; '), person),
              targets: d.jobs,
            });
          // The preview is built from the argv the agent would run, before anything is recorded: an argv that refuses
          // (a name from a host's list, a config's address) is a refusal of the request, not a fault of xenops.
          progress.acting = true;
          const asked = await this.deciding(async () => {
            await desk.request(req, target, d);
            return null;
          }, person);
          if (asked) return await this.refuse(req, target, { ...asked, targets: d.jobs });
          this.deps.onCommand?.(req.command, 'needs-approval');
          return;
        }
        case 'enqueue':
          try {
            await dispatcher.enqueue(req, target, d);
          } catch (error) {
            if (error instanceof Refusal)
              return await this.refuse(req, target, { ...reject(error.title, error.message, person), targets: d.jobs });
            throw error;
          }
          audits.push(
            audit.append({
              ...auditBase(req, person),
              event: 'decision',
              decision: 'allowed',
              detail: `risk ${d.evaluated.risk}; ${describeTargets(d.targets)}`,
              targets: d.jobs,
            }),
          );
          return;
        default:
          return d satisfies never;
      }
    } catch (failure) {
      this.deps.onCommand?.(req.command, 'error');
      // Failed after its "queued" line: the answer replaces that line.
      const [error, at] = QueueingFailed.unwrap(failure, target);
      if (isRedisDown(error)) {
        logger.error({ err: redactSecrets(String(error)), requestId: req.id }, 'request refused: Redis is unreachable');
        const undone = leftUndone(progress);
        await audit.append({
          ...auditBase(req, person),
          ...hostsNamed(config, req, this.deps.fleet),
          event: 'decision',
          ...(undone ? { decision: 'rejected' as const } : {}),
          detail: `Redis unreachable${undone ? '' : ' (lost part-way: it may have been done in part)'}`,
        });
        await deliver(at, redisFailureReply(error, progress) as Reply);
        return;
      }
      const refused = redisRefusal(error);
      if (refused) {
        logger.error({ err: redactSecrets(String(error)), requestId: req.id }, `request refused: ${refused.title}`);
        const undone = leftUndone(progress);
        await audit.append({
          ...auditBase(req, person),
          ...hostsNamed(config, req, this.deps.fleet),
          event: 'decision',
          // Not "rejected" when part of it may have been done: the entry says what is known.
          ...(undone ? { decision: 'rejected' as const } : {}),
          detail: `${refused.title}: ${refused.why}${undone ? '' : ' (refused part-way: it may have been done in part)'}`,
        });
        await deliver(at, redisFailureReply(error, progress) as Reply);
        return;
      }
      logger.error(
        { err: redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error)), requestId: req.id },
        'request failed',
      );
      await deliver(at, reply.error('Something went wrong', 'xenops hit an internal error; the operators can find it in the bot log'));
    } finally {
      await Promise.all(audits);
    }
  }

  /**
   * A change asked for by chat is acted on once per request id; a read asked again is just answered again. What
   * xenops runs itself (an approved request, a schedule's tick) is not a delivery.
   */
  private async firstDelivery(req: ChatRequest): Promise<boolean> {
    if (req.source === 'system') return true;
    const first = await this.deps.pending.firstDelivery(req.id);
    if (!first) this.deps.logger.info({ requestId: req.id }, 'the same request delivered again: already acted on, ignored');
    return first;
  }

  private allowedFor(req: ChatRequest): AnyCommand[] {
    const { commands, ctx } = this.deps;
    return commands.filter((c) => mayRunHere(ctx, req, c));
  }
}

/** How far a request got before Redis failed it: what it can have left done depends on it. */
interface Progress {
  decided: Decision | null;
  /** A command the bot carries out itself (a freeze, an approval, asking for one) has begun its writes. */
  acting: boolean;
}

const MAYBE_DONE = 'it may not have been done, or not in full: check before trying again';

/**
 * What a request Redis kept from going through is answered (unreachable, or refusing writes: full, read-only, …), by
 * how far it got; null for any other failure. Typed commands and button clicks alike.
 */
function redisFailureReply(error: unknown, progress: Progress): Reply | null {
  const undone = leftUndone(progress);
  if (isRedisDown(error))
    return reply.error(
      'Redis is unreachable',
      undone ? `${undone}; try again when it is back` : 'it may have been done, or in part: check once it is back, before trying again',
    );
  const refused = redisRefusal(error);
  if (!refused) return null;
  return reply.error(refused.title, `${refused.why}; ${undone ?? MAYBE_DONE}`);
}

/**
 * What a request Redis failed certainly left undone, by how far it got: nothing queued (a job's transaction is
 * discarded whole), nothing changed (a read, or a command of the bot's own that had not begun its writes); null when
 * such a command may have written before the write that failed (/unfreeze lifted the freeze, then its read-back failed).
 */
function leftUndone({ decided, acting }: Progress): 'nothing was queued' | 'nothing was changed' | null {
  if (decided === null || decided.kind === 'enqueue') return 'nothing was queued';
  if (decided.kind === 'reject' || decided.evaluated.risk === 'read' || !acting) return 'nothing was changed';
  return null;
}

/**
 * The hosts a lookup could not hear from, the first few said in full: one agent serving the whole fleet being down
 * must not make every lookup's answer (and its audit entry) a clause per host.
 */
const UNANSWERED_NAMED = 5;
function unansweredText(unanswered: readonly { host: string; message: string }[]): string {
  const named = unanswered.slice(0, UNANSWERED_NAMED).map((u) => u.message);
  const rest = unanswered.slice(UNANSWERED_NAMED).map((u) => u.host);
  if (rest.length === 0) return named.join('; ');
  const some = rest.slice(0, 10).join(', ');
  return `${named.join('; ')}; and ${rest.length} more hosts did not answer either (${some}${rest.length > 10 ? ', …' : ''})`;
}

const listOf = (field: string | undefined): string[] => (field ? field.split(',') : []);

/** An error reply as one line for the audit, as a pipeline refusal's reason is: `title: what it says`. */
function reasonOf(r: Reply): string {
  const said = r.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));
  return said.length > 0 ? `${r.title}: ${said.join(' ')}` : r.title;
}

/** Matches only a rule that covers every host (as in readsEverything). */
const ANY_HOST = '\u0000every-host';

/**
 * The hosts an entry is about, for who may read it: a guest named without its host (a refusal before it was looked up)
 * may be on any host, so only a reader whose scope covers that guest everywhere reads it.
 */
const placesOf = (e: Readonly<Record<string, string>>): string[] => {
  const hosts = listOf(e['host']);
  return hosts.length === 0 && e['domain'] ? [ANY_HOST] : hosts;
};

/** The config's hosts that a text names, as words. */
const hostsIn = (config: Config, text: string): string[] =>
  [...new Set(text.split(/[^A-Za-z0-9_-]+/))].filter((w) => w !== '' && Object.hasOwn(config.hosts, w));

/** Whether a permission is held on every host and domain (no rule scoping it, no scoped deny taking any away). */
function readsEverything(config: Config, person: Person, permission: string | null): boolean {
  if (permission === null) return true;
  return mayReadAbout(config, person, permission, ['\u0000every-host'], ['\u0000every-domain']);
}

/**
 * The config's hosts, and the domains the fleet knows, that the words of a request with no resolved targets name
 * (`/freeze xen1,xen2 …`, `/schedule add top xen1 …`, a refused `/stop xen1:payroll`): what its entries are about, so
 * a reader scoped to other hosts or domains does not see them (a refusal's args quote the guest it was about). Not a
 * reason's free text ("xen1 overloaded"), and not /audit's own arguments, which are filters.
 */
function hostsNamed(config: Config, req: ChatRequest, fleet: Pick<FleetCache, 'hostsOf'>): { host?: string; domain?: string } {
  if (req.command.toLowerCase() === 'audit') return {};
  const words = namingWords(req);
  const named = hostsTyped(config, words);
  // A domain as typed: bare, or after `host:` (a domain name may hold `.`, `:` and `+`, so not the split above).
  const domains = new Set<string>();
  for (const w of words.split(/[\s,]+/)) {
    const at = w.indexOf(':');
    const onHost = at > 0 && Object.hasOwn(config.hosts, w.slice(0, at));
    const name = onHost ? w.slice(at + 1) : w;
    const hosts = name === '' || Object.hasOwn(config.hosts, name) ? [] : fleet.hostsOf(name);
    if (hosts.length === 0) continue;
    domains.add(name);
    // Named alone, a guest is about the hosts that have it: a reader scoped to another host does not see it.
    if (!onHost) for (const h of hosts) named.add(h);
  }
  return {
    ...(named.size > 0 ? { host: [...named].join(',') } : {}),
    ...(domains.size > 0 ? { domain: [...domains].join(',') } : {}),
  };
}

/** A request's words that may name a host or a guest: not quoted text, not a reason. */
function namingWords(req: ChatRequest): string {
  return req.args.kind === 'text'
    ? req.args.text.replace(/"[^"]*"|'[^']*'/g, ' ').replace(/(?:--reason|reason:)\s*\S+/g, ' ')
    : Object.entries(req.args.options)
        .filter(([k]) => k !== 'reason')
        // Chat options arrive unvalidated here: only text and numbers can name a host (String() of an object whose
        // toString is not a function throws).
        .map(([, v]) => (typeof v === 'string' || typeof v === 'number' ? String(v) : ''))
        .join(' ');
}

/** The config's hosts among the words. */
const hostsTyped = (config: Config, words: string): Set<string> =>
  new Set(words.split(/[^A-Za-z0-9_-]+/).filter((w) => w !== '' && Object.hasOwn(config.hosts, w)));

/**
 * What a refused request named, as typed: the config's hosts among its words and, with `guest` (refused before its
 * targets were resolved), the guest of a domain command, read as the command reads its arguments, on the host typed
 * with it if any — never a host the fleet view puts it on.
 * Arguments that do not parse name no guest: /audit still finds the entry by its words (see audit.ts, about).
 */
function refusedAsTyped(ctx: PipelineContext, req: ChatRequest, guest: boolean): { host?: string; domain?: string } {
  const { config } = ctx;
  if (req.command.toLowerCase() === 'audit') return {};
  const hosts = hostsTyped(config, namingWords(req));
  const command = ctx.commands.get(req.command.toLowerCase());
  let domain: string | undefined;
  if (guest && command?.scope === 'domain') {
    const isHost = (h: string) => Object.hasOwn(config.hosts, h);
    try {
      const ref = parseArgs(command, req.args, isHost)['domain'] as DomainRef | undefined;
      const on = ref ? onConfiguredHost(ref, isHost) : undefined;
      domain = on?.domain;
      // The guest's host is the one typed with it (`xen1:web`) or none: another host typed beside it (/migrate's
      // target) is not where it runs, and would show it there and to a reader scoped to that host.
      if (domain) {
        hosts.clear();
        if (on?.host !== undefined && isHost(on.host)) hosts.add(on.host);
      }
    } catch {
      // Refused for its arguments: no guest is known to be named.
    }
  }
  return {
    ...(hosts.size > 0 ? { host: [...hosts].join(',') } : {}),
    ...(domain !== undefined && domain !== '' ? { domain } : {}),
  };
}
