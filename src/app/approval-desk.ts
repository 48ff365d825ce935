import type { ReplyTarget } from '../adapters/types.ts';
import type { ApprovalPolicy } from '../config/approvals-schema.ts';
import type { Config, Platform } from '../config/schema.ts';
import { APPROVE_ANY, type ApproverAnswer, mayApprove, policyFor } from '../core/approval-policy.ts';
import { authorize, channelAllowsCommand, channelPolicy, identify, type Person } from '../core/authorize.ts';
import { showControls } from '../core/control-chars.ts';
import { type AnyCommand, type JobSpec, riskOf } from '../core/define-command.ts';
import type { Logger } from '../core/log.ts';
import { type AnyJobCommand, checkPlanJobs, type Decision, hostsTouched } from '../core/pipeline.ts';
import { type Block, type Reply, reply } from '../core/reply.ts';
import type { ChatRequest } from '../core/request.ts';
import type { JobMeta } from '../queue/jobs.ts';
import { isMutating } from '../queue/ops.ts';
import { REDIS_COMMAND_TIMEOUT_MS } from '../queue/redis-connection.ts';
import type { ActionStore } from './actions.ts';
import { type ApprovalNews, type ApprovalRecord, type ApprovalStore, approvalAction, type BoundState, type Reach } from './approvals.ts';
import type { AuditEntry } from './audit.ts';
import { QueueingFailed, Refusal } from './dispatch.ts';
import type { FleetCache } from './fleet-cache.ts';
import { previewJob } from './preview.ts';
import { isRedisDown, isRedisSilent } from './redis-wait.ts';

type NeedsApproval = Extract<Decision, { kind: 'needsApproval' }>;
/** A user's platform roles now, or why they cannot be known. */
export type RolesNow = { ok: true; roleIds: string[] } | { ok: false; reason: string };
type Enqueue = Extract<Decision, { kind: 'enqueue' }>;

export interface ApprovalDeskDeps {
  config: Config;
  store: ApprovalStore;
  fleet: FleetCache;
  actions: ActionStore;
  commands: ReadonlyMap<string, AnyCommand>;
  /**
   * Platforms this bot can post to now (a standby's leased ones are not: see DeliverablePlatforms); approval channels
   * of others are left to the bots that have them.
   */
  platforms: ReadonlySet<string>;
  /**
   * Platforms whose messages only the process that received the request can reach (the terminal: its own screen);
   * default: the terminal. Another bot's cards there are never this bot's to post or update.
   */
  local?: ReadonlySet<string>;
  /** Re-reads the targets' hosts so the request binds the state as it is now. */
  refresh: (hosts: string[]) => Promise<void>;
  /**
   * Queues an approved request exactly as it was requested (jobs get `meta.expect`); 'unanswered': Redis did not
   * answer the queueing in time, so whether it was queued is not known yet (it is followed as queued); anything else:
   * queued.
   */
  enqueue: (req: ChatRequest, target: ReplyTarget, d: Enqueue, extraMeta: (job: JobSpec) => Partial<JobMeta>) => Promise<unknown>;
  deliver: (target: ReplyTarget, r: Reply) => Promise<ReplyTarget>;
  /** As deliver, but throws when the reply reached nobody (absent: deliver, taken as delivered). */
  deliverOrThrow?: (target: ReplyTarget, r: Reply) => Promise<ReplyTarget>;
  audit: (entry: AuditEntry) => Promise<void>;
  /** Who is on call now (people ids). */
  onCall: () => Promise<string[]>;
  /** Who is on call next, if anyone. */
  nextOnCall: () => Promise<string | null>;
  /**
   * The roles a requester holds on their platform now (ChatAdapter.currentRoles): null when that platform's adapter
   * has none to look up (roles come with a request there). Absent: nothing is looked up, the stored roles stand.
   */
  currentRoles?: (platform: Platform, userId: string) => Promise<RolesNow> | null;
  /** Whether a request was queued (it is in flight, or its final reply was claimed): dispatch's record of it. */
  wasQueued: (requestId: string) => Promise<boolean>;
  logger: Logger;
  now?: () => number;
}

/**
 * The two-person rule: a risky request becomes an approval request bound to the exact operation and the state it
 * was made in; another person who may approve it (on call, or with approval.grant, and in scope on every target)
 * approves or denies it from any platform; approved, it runs exactly as requested, once; expired, it never runs.
 */
/** How long an approved request may go unrecorded as run before another bot takes it that its approver died. */
const STARTING_GRACE_MS = 60_000;
/** How often, and how many times, an approval whose write Redis did not answer is looked at again (15 min at least). */
const UNANSWERED_RETRY_MS = 5_000;
const UNANSWERED_TRIES = 180;
/** How often a bot looks for news it did not hear (published as it was cut off, or never published: see catchUp). */
const CATCH_UP_MS = 60_000;

export class ApprovalDesk {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly escalations = new Map<string, NodeJS.Timeout>();
  /** Approvals whose timers this bot armed when its term began (start), not because it took them: release() drops those. */
  private readonly adopted = new Set<string>();
  /** Approvals whose write Redis did not answer: each is looked at again (settleUnanswered). */
  private readonly unanswered = new Map<string, NodeJS.Timeout>();
  /** Listening for decisions other bots publish (see decidedElsewhere), from this bot's first request or term. */
  private watching: Promise<void> | null = null;
  private unwatch: (() => void) | null = null;
  /** Looking now and then for what other bots' news did not bring (catchUp). */
  private sweep: NodeJS.Timeout | null = null;
  /** Stopped (the bot is shutting down): a request still being handled opens no connection nothing would close. */
  private stopped = false;

  constructor(private readonly deps: ApprovalDeskDeps) {}

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * This bot leads (after a restart, or taking over): arms the timers of every pending approval it can post about —
   * one whose requester's card is on a platform it has; a bot of another platform (bot.ha off, a bot per platform)
   * leaves it to that one, whose cards would otherwise keep their buttons. The bot that takes a request arms its own.
   */
  async start(): Promise<void> {
    this.stopped = false;
    await this.watchDecisions();
    await this.tellUntold();
    for (const id of await this.deps.store.pendingIds()) {
      const rec = await this.deps.store.get(id);
      // Approval channels left to a bot of their platform that no bot could post to yet (none led when it was asked).
      if (rec?.status === 'pending' && (rec.unposted ?? []).some((ch) => this.deps.platforms.has(ch.platform))) await this.postUnposted(id);
      if (rec?.status === 'pending' && this.deps.platforms.has(rec.target.platform) && !this.timers.has(id)) {
        this.armExpiry(rec);
        this.armEscalation(rec);
        this.adopted.add(id);
      }
    }
    for (const id of await this.deps.store.startingIds()) {
      const rec = await this.deps.store.get(id);
      if (!rec) await this.deps.store.forgetStarting(id);
      if (rec?.status === 'approved' && !rec.run && this.deps.platforms.has(rec.target.platform) && !this.timers.has(id)) {
        const t = setTimeout(
          () => void this.startedOrNot(id).catch((e: unknown) => this.deps.logger.error({ err: String(e) }, 'approval recovery failed')),
          Math.max(0, (rec.decidedAt ?? 0) + STARTING_GRACE_MS - this.now()),
        );
        t.unref();
        this.timers.set(id, t);
        this.adopted.add(id);
      }
    }
  }

  /**
   * An approved request the bot that approved it never recorded as run: it died between the approval and the queue's
   * answer: the requester's card says it is being checked, the others still ask for a decision. Dispatch's record tells
   * whether it was queued (then its result goes to the requester as any other's, and the other cards are told it runs);
   * if not, nothing ran — never queued now, minutes later and unseen: the requester, the approvers and the cards are
   * told so. Never before the grace: the approving bot may be queueing it.
   */
  private async startedOrNot(id: string): Promise<void> {
    this.timers.delete(id);
    this.adopted.delete(id);
    await this.settleNotRun(id, 'the bot stopped as it was starting it; nothing ran — ask again if it is still needed');
  }

  /** An approved request nobody will queue (see startedOrNot): recorded and said as not run, unless it was queued. */
  private async settleNotRun(id: string, why: string): Promise<void> {
    const rec = await this.deps.store.get(id);
    if (rec?.status !== 'approved' || rec.run) return;
    const queued = await this.deps.wasQueued(rec.requestId);
    const run: NonNullable<ApprovalRecord['run']> = queued ? { queued: true } : { queued: false, why };
    const { changed } = await this.deps.store.update(id, (r) => (r.status === 'approved' && !r.run ? { ...r, run } : null));
    if (!changed) return;
    // Queued, its bot stopped before it told the other cards, which still ask for a decision (see run): told now.
    if (queued) return this.announce({ ...rec, run }, this.outcomeCard({ ...rec, run }), null);
    this.deps.logger.warn({ approval: id, requestId: rec.requestId }, 'an approved request was never queued (its bot stopped): told');
    await this.notRun(rec, rec.target, why);
  }

  /** This bot's term ends: the timers it adopted go (the next leader arms them); those of requests it took stay. */
  release(): void {
    for (const id of this.adopted) this.clearExpiry(id);
    this.adopted.clear();
  }

  stop(): void {
    this.stopped = true;
    this.unwatch?.();
    this.unwatch = null;
    this.watching = null;
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
    this.adopted.clear();
    for (const t of [...this.timers.values(), ...this.escalations.values(), ...this.unanswered.values()]) clearTimeout(t);
    this.timers.clear();
    this.unanswered.clear();
    this.escalations.clear();
  }

  /**
   * Listens (once) for decisions made on bots that cannot post to some of the cards this one can (a Discord bot
   * beside a terminal one): without it, those cards would ask for an approval already given, for good.
   */
  private watchDecisions(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.watching !== null) return this.watching;
    const catchUp = () => void this.catchUp().catch((e: unknown) => this.deps.logger.warn({ err: String(e) }, 'approval catch-up failed'));
    if (!this.sweep) {
      this.sweep = setInterval(catchUp, CATCH_UP_MS);
      this.sweep.unref();
    }
    const watching: Promise<void> = this.deps.store
      .watchDecided((id, from, news) => {
        this.heard(id, from, news).catch((e: unknown) =>
          this.deps.logger.warn(
            { err: String(e), approval: id, news: news.kind },
            'could not update the cards of a request told of by another bot',
          ),
        );
      }, catchUp)
      .then((close) => {
        // Stopped meanwhile (and perhaps listening again since): this one hears nothing any more.
        if (this.watching === watching) this.unwatch = close;
        else close();
      })
      .catch((e: unknown) => {
        if (this.watching === watching) this.watching = null;
        this.deps.logger.warn({ err: String(e) }, 'cannot hear approval decisions made by other bots');
      });
    this.watching = watching;
    return watching;
  }

  /**
   * What other bots' news would have brought, from the records: news published while this bot was cut off from Redis
   * (it listens again: reconnected), or never published (the publisher's Redis failed after its write) — approval
   * channels left to this bot unposted, decided requests whose cards here still ask for a decision. Each card is
   * claimed on the record before it is drawn, so it is posted or told once, whether by the news or by this.
   */
  private async catchUp(): Promise<void> {
    if (this.stopped) return;
    for (const id of await this.deps.store.pendingIds()) {
      const rec = await this.deps.store.get(id);
      if (rec?.status === 'pending' && (rec.unposted ?? []).some((ch) => this.deps.platforms.has(ch.platform))) await this.postUnposted(id);
    }
    await this.tellUntold();
  }

  /** Decided requests with cards their decider left untold that this bot tells (see catchUp). */
  private async tellUntold(): Promise<void> {
    for (const id of await this.deps.store.untoldIds()) {
      const rec = await this.deps.store.get(id);
      if (!rec) await this.deps.store.forgetUntold(id);
      else if ((rec.untold ?? []).some((t) => this.tells(id, t, []))) await this.decidedElsewhere(id, []);
    }
  }

  /** What another bot told of a request (see ApprovalNews). */
  private async heard(id: string, from: readonly string[], news: ApprovalNews): Promise<void> {
    if (news.kind === 'requested') return this.postUnposted(id);
    if (news.kind === 'escalated') return this.escalatedElsewhere(id, from, news.title);
    return this.decidedElsewhere(id, from);
  }

  /**
   * Whether this bot tells the card `t` of request `id` what a bot posting to `from` could not: on a platform it can
   * post to now, and either shared (Discord, Telegram: the one bot serving it, the leader with bot.ha) or local to it
   * and the request its own (it took or adopted it: its timer marks it) — never another process's terminal.
   */
  private tells(id: string, t: ReplyTarget, from: readonly string[]): boolean {
    if (!this.deps.platforms.has(t.platform) || from.includes(t.platform)) return false;
    return this.timers.has(id) || !this.local.has(t.platform);
  }

  private get local(): ReadonlySet<string> {
    return this.deps.local ?? TERMINAL_ONLY;
  }

  /** The platforms this bot can post to now, as it tells the others (a standby's leased ones are not among them). */
  private postableNow(): string[] {
    return [...this.deps.platforms].filter((p) => this.deps.platforms.has(p));
  }

  /**
   * Posts the approval channels the requesting bot left to a bot of their platform (see request): each taken off the
   * record before it is posted, so one bot posts it once — of an HA pair only the leader (`platforms` says so), and a
   * bot taking over later finds it posted. Taken, then this bot stopped before posting, it is not posted at all (once
   * at most). The card joins the announcements, so decisions, expiry and escalations reach it (see heard).
   */
  private async postUnposted(id: string): Promise<void> {
    const listed = await this.deps.store.get(id);
    const mine = (listed?.unposted ?? []).filter((ch) => this.deps.platforms.has(ch.platform) && !this.local.has(ch.platform));
    if (listed?.status !== 'pending' || mine.length === 0) return;
    const same = (a: { platform: string; id: string }) => (b: { platform: string; id: string }) =>
      a.platform === b.platform && a.id === b.id;
    const onCall = await this.deps.onCall().catch(() => []);
    for (const ch of mine) {
      const { rec, changed } = await this.deps.store.update(id, (r) =>
        r.status === 'pending' && (r.unposted ?? []).some(same(ch))
          ? { ...r, unposted: (r.unposted ?? []).filter((x) => !same(ch)(x)) }
          : null,
      );
      if (!rec || !changed) continue;
      const at = freshTarget(ch.platform, ch.id, `${id}-${ch.platform}-${ch.id}`);
      const posted = await this.deps.deliver(at, this.cardFor(at, await this.requestCard(rec, onCall), id));
      const { rec: now } = await this.deps.store.update(id, (r) => ({ ...r, announcements: [...r.announcements, posted] }));
      // Decided while it was being posted (the decider did not know of this card): brought up to date at once.
      if (now && now.status !== 'pending') await this.remember(id, posted, await this.deps.deliver(posted, this.decidedCard(now, false)));
    }
  }

  /**
   * Another bot escalated a request and drew again the cards it could post to: this one draws those on the platforms
   * it serves (calling on whom it was escalated to), as announcePending does.
   */
  private async escalatedElsewhere(id: string, from: readonly string[], title: string): Promise<void> {
    const rec = await this.deps.store.get(id);
    if (rec?.status !== 'pending' || !rec.announcements.some((t) => this.tells(id, t, from))) return;
    const card = await this.requestCard(rec, await this.deps.onCall().catch(() => []));
    await this.announcePending(id, { ...card, title }, (t) => this.tells(id, t, from));
  }

  /**
   * Another bot decided a request and told the cards it could post to, not those on the platforms it lacks, which
   * this one (the bot that took it or adopted it: its timer marks it) tells now. The requester's card of a request
   * approved and started is left to its result, which the relay edits in ("running" drawn after could cover it).
   */
  private async decidedElsewhere(id: string, from: readonly string[]): Promise<void> {
    const rec = await this.deps.store.get(id);
    if (!rec || rec.status === 'pending') return;
    const escalation = this.escalations.get(id);
    if (escalation) clearTimeout(escalation);
    this.escalations.delete(id);
    const same = (a: ReplyTarget) => (b: ReplyTarget) =>
      a.platform === b.platform && a.channelId === b.channelId && a.requestId === b.requestId;
    for (const t of rec.announcements) {
      if (!this.tells(id, t, from)) continue;
      // Claimed first (a decider listing them: see announce), so the news and catchUp tell it once between them.
      if (rec.untold !== undefined) {
        const { changed } = await this.deps.store.update(id, (r) =>
          (r.untold ?? []).some(same(t)) ? { ...r, untold: (r.untold ?? []).filter((x) => !same(t)(x)) } : null,
        );
        if (!changed) continue;
      }
      const mine = t.platform === rec.target.platform && t.channelId === rec.target.channelId && t.requestId === rec.target.requestId;
      if (mine && rec.status === 'approved' && rec.run?.queued !== false) continue;
      await this.remember(id, t, await this.deps.deliver(t, this.decidedCard(rec, mine)));
    }
  }

  /** A request the pipeline held for approval: record it, bound to its state, and announce it. */
  async request(req: ChatRequest, target: ReplyTarget, d: NeedsApproval): Promise<void> {
    const { config, fleet } = this.deps;
    const watched = this.watchDecisions();
    const hosts = [...new Set(d.jobs.map((j) => j.host))];
    await this.deps.refresh(hosts).catch(() => {});
    const now = this.now();
    const reasonArg = d.evaluated.args['reason'];
    // Approval channels besides the requester's own: those on a platform this bot cannot post to now are left to a bot
    // that can (postUnposted); those local to another process (another terminal) are nobody's to post.
    const channels = config.approvals.channels.filter((ch) => !(ch.platform === req.platform && ch.id === req.channel.id));
    const unposted = channels.filter((ch) => !this.deps.platforms.has(ch.platform) && !this.local.has(ch.platform));
    const asked = await this.deps.store.ask({
      requestId: req.id,
      command: d.command.name,
      args: d.evaluated.args,
      requester: d.evaluated.person.id,
      platform: req.platform,
      userId: req.actor.userId,
      ...(req.actor.roleIds.length > 0 ? { roleIds: [...req.actor.roleIds] } : {}),
      ...(req.source === 'system' && req.asPerson !== undefined ? { system: true as const } : {}),
      channelId: req.channel.id,
      target,
      mode: d.mode,
      jobs: d.jobs,
      targets: d.targets,
      // A plan's migration targets too: the approver must be in scope on every host it acts on.
      touches: hostsTouched(d.command, d.evaluated.args, d.jobs),
      risk: d.evaluated.risk,
      // What will change, command by command (a plan's own reads, such as an evacuation's read-back, change nothing).
      preview: d.jobs.filter((j) => isMutating(j.op)).map((j) => previewJob(config, fleet, j)),
      ...(d.summary ? { summary: d.summary } : {}),
      state: d.jobs.flatMap((j) => ('domain' in j ? [boundState(fleet, j.host, j.domain)] : [])),
      ...(typeof reasonArg === 'string' && reasonArg !== '' ? { reason: reasonArg } : {}),
      policy: d.policy,
      createdAt: now,
      expiresAt: now + d.policy.expiresMinutes * 60_000,
      approvals: [],
      status: 'pending',
      announcements: [],
      ...(unposted.length > 0 ? { unposted: unposted.map((ch) => ({ platform: ch.platform, id: ch.id })) } : {}),
      action: approvalAction({ requester: d.evaluated.person.id, command: d.command.name, targets: d.targets, args: d.evaluated.args }, [
        d.command.scope === 'domain' ? 'domain' : 'host',
      ]),
    });
    // Asked again while the first waits (at this bot or another): a second card would ask the on-call twice for one thing.
    if (!asked.made) {
      const first = asked.rec;
      await this.deps.deliver(
        target,
        reply.result(
          `Already waiting for approval: ${first.id} (asked ${clock(first.createdAt, true)} UTC)`,
          [
            reply.text(`/${first.command} ${describeArgs(first)} was not asked again; /deny ${first.id} withdraws it`),
            ...reasonLeftOut(first, typeof reasonArg === 'string' ? reasonArg : ''),
          ],
          { tone: 'info' },
        ),
      );
      return;
    }
    const rec = asked.rec;
    const onCall = await this.deps.onCall().catch(() => []);
    const card = await this.requestCard(rec, onCall);
    // Each announcement is recorded as soon as it is out, so a decision made meanwhile still updates it; the
    // requester's card is also where the request's result will be edited in.
    const mine = await this.deps.deliver(target, this.cardFor(target, card, rec.id));
    // The cards as this bot posted them: what it can still tell if Redis loses the record (see expire).
    const announced = [mine];
    await this.deps.store.update(rec.id, (r) => ({ ...r, target: mine, announcements: [...r.announcements, mine] }));
    for (const ch of channels) {
      if (!this.deps.platforms.has(ch.platform)) continue;
      const at = freshTarget(ch.platform, ch.id, `${rec.id}-${ch.platform}-${ch.id}`);
      const posted = await this.deps.deliver(at, this.cardFor(at, card, rec.id));
      announced.push(posted);
      const { rec: now } = await this.deps.store.update(rec.id, (r) => ({ ...r, announcements: [...r.announcements, posted] }));
      // Decided while this one was being posted: bring it up to date at once.
      if (now && now.status !== 'pending') await this.deps.deliver(posted, this.outcomeCard(now));
    }
    await this.deps.audit({
      ...auditOf(rec),
      event: 'approval',
      decision: 'needsApproval',
      detail: `approval ${rec.id} requested: ${rec.preview.join('; ')}; expires ${clock(rec.expiresAt)} UTC`,
    });
    await watched;
    if (unposted.length > 0)
      await this.deps.store
        .publishNews(rec.id, this.postableNow(), { kind: 'requested' })
        .catch((e: unknown) =>
          this.deps.logger.warn({ err: String(e), approval: rec.id }, 'could not tell the other bots of approval channels left to them'),
        );
    this.armExpiry({ ...rec, target: mine, announcements: announced });
    this.armEscalation(rec);
  }

  /** `/approve ID` (or the Approve button) by `approver`. The reply is for the approver. */
  async approve(id: string, approver: Person, platform: string): Promise<Reply> {
    const rec = await this.deps.store.get(id);
    if (!rec) return reply.error('No such approval request', `there is no approval request ${id}`);
    const settled = this.settled(rec);
    if (settled) return settled;
    if (this.now() >= rec.expiresAt) return this.expire(rec.id);
    const judged = this.judge(rec, approver, await this.deps.onCall().catch(() => []));
    if (!judged) return reply.error('Cannot approve', `/${rec.command} is not a command here any more`);
    const { verdict, needed } = judged;
    if (!verdict.ok) {
      await this.deps.audit({
        ...auditOf(rec, approver.id),
        event: 'approval',
        decision: 'rejected',
        detail: `approve ${id} by ${approver.id} refused: ${verdict.reason}`,
      });
      return reply.notAllowed(verdict.reason);
    }
    const {
      rec: after,
      changed,
      before,
    } = await this.recordApproval(id, (r) => {
      // Read again here: the checks above took round trips (who is on call), and an expired request never runs.
      const at = this.now();
      if (r.status !== 'pending' || at >= r.expiresAt || r.approvals.some((a) => a.person === approver.id)) return null;
      const approvals = [...r.approvals, { person: approver.id, platform, at }];
      const policy = { ...r.policy, count: Math.max(r.policy.count, needed) };
      const done = approvals.length >= policy.count;
      return { ...r, policy, approvals, ...(done ? { status: 'approved' as const, decidedBy: approver.id, decidedAt: at } : {}) };
    });
    if (!after) return reply.error('No such approval request', `there is no approval request ${id}`);
    if (!changed) {
      if (before?.approvals.some((a) => a.person === approver.id) && before.status === 'pending')
        return reply.result(
          `You already approved ${id}`,
          [reply.text(`waiting for ${before.policy.count - before.approvals.length} more`)],
          { tone: 'info' },
        );
      if (after.status === 'pending' && this.now() >= after.expiresAt) return this.expire(id);
      return this.settled(after) ?? reply.error('Cannot approve', `${id} cannot be approved now`);
    }
    await this.deps.audit({
      ...auditOf(after, approver.id),
      event: 'approval',
      decision: 'allowed',
      detail: `approve ${id} by ${approver.id} (${after.approvals.length}/${after.policy.count})`,
    });
    if (after.status !== 'approved')
      return reply.result(
        `Approved by you (${after.approvals.length} of ${after.policy.count})`,
        [reply.text(`${id} waits for more approvals`)],
        { tone: 'info' },
      );
    this.clearExpiry(id);
    return this.run(after);
  }

  /**
   * Whether `approver` may approve `rec` now (`onCall`: who is on call; those it was escalated to count too), under
   * every policy it must meet, and how many approvals it needs. Null when its command is gone from this bot.
   */
  private judge(rec: ApprovalRecord, approver: Person, onCall: readonly string[]): { verdict: ApproverAnswer; needed: number } | null {
    const command = this.deps.commands.get(rec.command);
    if (!command || command.permission === null) return null;
    const policies = this.policiesFor(rec);
    const verdict = policies
      .map((policy) =>
        mayApprove({
          config: this.deps.config,
          approver,
          requester: rec.requester,
          policy,
          permission: command.permission as string,
          command: rec.command,
          targets: rec.targets,
          touches: rec.touches,
          jobs: rec.jobs,
          onCall: [...onCall, ...(rec.escalatedTo ?? [])],
        }),
      )
      .reduce((a, b) => (a.ok ? b : a));
    return { verdict, needed: Math.max(...policies.map((p) => p.count)) };
  }

  /**
   * `/approve` with no id: the pending requests `person` may approve now (not expired, not approved by them already),
   * soonest to expire first, and their own still waiting. An on-call person who missed a card (scrolled away, read
   * on another platform) finds it here; a request they may not decide is not named, so nobody learns of guests
   * outside their scope.
   */
  async waitingFor(person: Person): Promise<Reply> {
    const ids = await this.deps.store.pendingIds();
    const now = this.now();
    const pending = (await Promise.all(ids.map((id) => this.deps.store.get(id))))
      .filter((r): r is ApprovalRecord => r !== null && r.status === 'pending' && now < r.expiresAt)
      .sort((a, b) => a.expiresAt - b.expiresAt);
    const onCall = await this.deps.onCall().catch(() => []);
    const forThem = pending.flatMap((r) => {
      const judged = r.approvals.some((a) => a.person === person.id) ? null : this.judge(r, person, onCall);
      return judged?.verdict.ok ? [{ ...r, needed: judged.needed }] : [];
    });
    const named = (r: ApprovalRecord) => `/${r.command} ${describeArgs(r)}`;
    const own = pending.filter((r) => r.requester === person.id);
    const ownLine =
      own.length > 0 ? [reply.text(`your requests still waiting: ${own.map((r) => `${r.id} (${named(r)})`).join(', ')}`)] : [];
    if (forThem.length === 0) return reply.result('Nothing waits for your approval', ownLine, { tone: 'info' });
    const first = forThem[0] as ApprovalRecord;
    return reply.result(
      `${forThem.length} request${forThem.length === 1 ? ' waits' : 's wait'} for your approval`,
      [
        reply.table({
          columns: ['id', 'request', 'asked by', 'approvals', 'expires'],
          rows: forThem.map((r) => [
            r.id,
            named(r),
            r.requester,
            // As many as approving it needs: the config may have raised the bar since it was asked.
            `${r.approvals.length} of ${Math.max(r.policy.count, r.needed)}`,
            `${clock(r.expiresAt)} UTC`,
          ]),
        }),
        reply.text(`/approve ${first.id}   or   /deny ${first.id} [reason]`),
        ...ownLine,
      ],
      { tone: 'info' },
    );
  }

  /**
   * The policies an approval must meet: the one the request was asked under and, when the config changed since (a
   * restart with an edited file), the one that would apply to it now — an edit may raise the bar for a pending
   * request, never lower it.
   */
  private policiesFor(rec: ApprovalRecord): ApprovalPolicy[] {
    const hosts = [...rec.targets.map((t) => t.host), ...rec.jobs.map((j) => j.host), ...rec.touches];
    // The risk it would have now, as the pipeline reckons it: the config may have raised the command's (commands.*.risk).
    const command = this.deps.commands.get(rec.command);
    const risk = this.deps.config.commands[rec.command]?.risk ?? (command ? riskOf(command, rec.args) : rec.risk);
    const now = policyFor(this.deps.config.approvals, rec.command, risk, hosts);
    return now && JSON.stringify(now) !== JSON.stringify(rec.policy) ? [rec.policy, now] : [rec.policy];
  }

  /**
   * The approval's write. One Redis carried out without answering in time (a silent Redis, a lost reply) leaves the
   * request approved with nobody to run it — this /approve failed, and a later one is told "already approved": once
   * Redis answers it is settled as not run (never queued then, unseen), the cards and the requester told.
   */
  private async recordApproval(id: string, change: (rec: ApprovalRecord) => ApprovalRecord | null) {
    try {
      return await this.deps.store.update(id, change);
    } catch (error) {
      if (isRedisSilent(error)) this.settleUnanswered(id);
      throw error;
    }
  }

  private settleUnanswered(id: string, attempt = 0): void {
    const why = 'Redis did not answer as it was approved; nothing ran — ask again if it is still needed';
    const t = setTimeout(() => {
      this.unanswered.delete(id);
      this.settleNotRun(id, why).catch((e: unknown) => {
        // Still silent or down: asked again, for as long as the request could have run.
        if (attempt < UNANSWERED_TRIES && (isRedisSilent(e) || isRedisDown(e))) this.settleUnanswered(id, attempt + 1);
        else this.deps.logger.error({ err: String(e), approval: id }, 'could not settle an approval Redis did not answer');
      });
    }, UNANSWERED_RETRY_MS);
    t.unref();
    this.unanswered.set(id, t);
  }

  /** `/deny ID [reason]`: an approver refuses it, or the requester withdraws it. */
  async deny(id: string, person: Person, reason: string | undefined): Promise<Reply> {
    const rec = await this.deps.store.get(id);
    if (!rec) return reply.error('No such approval request', `there is no approval request ${id}`);
    const settled = this.settled(rec);
    if (settled) return settled;
    // Past its expiry (its timer not yet fired): it expired, and the record, the audit and the cards say so.
    if (this.now() >= rec.expiresAt) return this.expire(rec.id);
    const withdrawing = person.id === rec.requester;
    if (!withdrawing) {
      // Who may approve it may deny it, under the same policies (approve's check).
      const verdict = this.judge(rec, person, await this.deps.onCall().catch(() => []))?.verdict ?? {
        ok: false as const,
        reason: `/${rec.command} is not a command here any more: only ${rec.requester} may withdraw it, else it expires`,
      };
      if (!verdict.ok) {
        const why = verdict.reason.replace('approve', 'deny');
        // On record as a refused /approve is: someone tried to settle a request they may not.
        await this.deps.audit({
          ...auditOf(rec, person.id),
          event: 'approval',
          decision: 'rejected',
          detail: `deny ${id} by ${person.id} refused: ${why}`,
        });
        return reply.notAllowed(why);
      }
    }
    const { rec: after, changed } = await this.deps.store.update(id, (r) => {
      // Read again here, as an approval is: the checks above took round trips, and the expiry may have come meanwhile.
      const at = this.now();
      return r.status === 'pending' && at < r.expiresAt
        ? { ...r, status: 'denied', decidedBy: person.id, decidedAt: at, ...(reason ? { denyReason: reason } : {}) }
        : null;
    });
    if (!after) return reply.error('No such approval request', `there is no approval request ${id}`);
    if (!changed) {
      if (after.status === 'pending' && this.now() >= after.expiresAt) return this.expire(id);
      return this.settled(after) ?? reply.error('Cannot deny', `${id} cannot be denied now`);
    }
    this.clearExpiry(id);
    // A withdrawal's reason is kept as a denial's is: the cards say it, and the audit must not say less.
    const how = `${withdrawing ? 'withdrawn' : 'denied'} by ${person.id}${reason ? `: ${reason}` : ''}`;
    await this.deps.audit({ ...auditOf(after, person.id), event: 'approval', decision: 'rejected', detail: `${id} ${how}` });
    await this.announce(after, this.outcomeCard(after));
    // The requester withdrawing it is the one reading this: their own card says it was withdrawn.
    return reply.result(
      withdrawing ? `Withdrawn ${id}` : `Denied ${id}`,
      [reply.text(withdrawing ? 'nothing ran' : `${after.requester} is told; nothing ran`)],
      { tone: 'info' },
    );
  }

  /** Runs an approved request exactly as it was requested, bound to the state it was requested in. */
  private async run(rec: ApprovalRecord): Promise<Reply> {
    const command = this.deps.commands.get(rec.command) as AnyJobCommand | undefined;
    const roles = await this.requesterRolesNow(rec);
    const actor = {
      platform: rec.platform as Platform,
      userId: rec.userId,
      roleIds: roles.roleIds,
      displayName: rec.requester,
    };
    // The requester must still be allowed to run it now (a role may have been taken away meanwhile): identified again
    // under the config of now, with the platform roles they had when they asked and still hold (requesterRolesNow).
    const configured = this.deps.config.people[rec.requester];
    const personWith = (roleIds: string[]): Person | null => {
      const who = identify(this.deps.config, { ...actor, roleIds });
      // A request made by xenops itself for a person (a scheduled post) has no platform identity: the config's roles.
      // One asked from an account the config no longer gives the requester is not theirs to run now.
      return who.ok && who.person.id === rec.requester
        ? who.person
        : rec.system
          ? { id: rec.requester, displayName: configured?.displayName ?? rec.requester, roles: [...(configured?.roles ?? [])] }
          : null;
    };
    const person = personWith(roles.roleIds);
    const mayRun = (p: Person | null): p is Person =>
      !!command &&
      !!p &&
      rec.targets.every((t) => authorize(this.deps.config, p, command.permission ?? '', t).allowed) &&
      rec.touches.every((h) => authorize(this.deps.config, p, command.permission ?? '', { host: h }).allowed) &&
      (rec.mode !== 'sequence' ||
        checkPlanJobs(this.deps.config, { command, args: rec.args, person: p, risk: rec.risk }, rec.jobs) === null);
    // With every role they hold now too: a role given since grants nothing (the check above), but a deny it binds beats
    // every allow, as it would for a request asked now.
    const stillAllowed = mayRun(person) && (roles.heldNow === undefined || mayRun(personWith(roles.heldNow)));
    // A command the config has disabled since (a restart with an edited file) is not one anybody may run now.
    const disabled = !!this.deps.config.commands[rec.command]?.disabled;
    // Nor one the requester's channel no longer lets through (its filter narrowed, or the channel dropped).
    const channel = command ? channelRefusalNow(this.deps.config, rec, command) : null;
    if (!command || !stillAllowed || disabled || channel) {
      const why = disabled
        ? `/${rec.command} is disabled here now; nothing ran`
        : !stillAllowed
          ? roles.unknown
            ? `${rec.requester}'s Discord roles could not be checked now (${roles.unknown}); without the ones they had when they asked they may not run /${rec.command} there; nothing ran — ask again once they can be`
            : `${rec.requester} may no longer run /${rec.command} there; nothing ran`
          : `${channel}; nothing ran`;
      await this.ranAs(rec, { queued: false, why });
      await this.notRun(rec, rec.target, why);
      return reply.error('Approved, but not run', why);
    }
    const req: ChatRequest = {
      id: rec.requestId,
      platform: rec.platform as Platform,
      actor,
      channel: { id: rec.channelId, kind: 'group' },
      command: rec.command,
      args: { kind: 'options', options: {} },
      // This bot's own clock, as every request's (the dispatcher puts it on the shared one).
      receivedAt: Date.now(),
      source: 'system',
    };
    const d: Enqueue = {
      kind: 'enqueue',
      evaluated: { command, args: rec.args, person, risk: rec.risk },
      command,
      targets: rec.targets,
      mode: rec.mode,
      jobs: rec.jobs,
      mutating: true,
      ...(rec.summary ? { summary: rec.summary } : {}),
    };
    const expectOf = (job: JobSpec): Partial<JobMeta> => {
      if (!('domain' in job)) return {};
      const s = rec.state.find((b) => b.host === job.host && b.domain === job.domain);
      return s ? { expect: { up: s.up, id: s.id, uuid: s.uuid, approvalId: rec.id } } : {};
    };
    // The requester's card as the announcement left it (posted anew if someone deleted it): the result goes there.
    let target = rec.target;
    let queued: unknown;
    let reach: Reach = 'chat';
    try {
      // The requester's card shows progress and then the result itself (the relay edits it in); where it went — their
      // chat, their private chat when that one is gone, nowhere — is where the result goes, and what the approver and
      // the other cards are told. Before the dispatcher answers (a freeze, a silent agent or a held domain may still
      // refuse it), it says only that it is approved and checked: the other cards are told once it was queued, or that
      // it did not run — never "running" first, which a terminal, where no line said is taken back, would keep.
      reach = await this.tellRequester(rec, this.runningCard(rec));
      // Kept with the request: a card drawn again later (an escalation's, one posted as it was decided) and a later
      // /approve say the same.
      if (reach !== 'chat') await this.reachedAs(rec, reach);
      // Posting the card may have taken long (a platform's rate limits): another bot may have settled it as never
      // queued meanwhile (startedOrNot) and said so; then it must not run now.
      const now = await this.deps.store.get(rec.id);
      if (now?.run) return this.settled(now) ?? reply.error('Approved, but not run', 'it was settled meanwhile');
      target = now?.target ?? rec.target;
      queued = await this.deps.enqueue(req, target, d, expectOf);
    } catch (failure) {
      // Failed after its "queued" line: the answer replaces that line.
      const [error, at] = QueueingFailed.unwrap(failure, target);
      const why = error instanceof Refusal ? error.message : 'it could not be queued (see the bot log)';
      if (!(error instanceof Refusal))
        this.deps.logger.error({ err: String(error), approval: rec.id }, 'approved request could not be queued');
      await this.ranAs(rec, { queued: false, why });
      await this.notRun(rec, at, why);
      return reply.error('Approved, but not run', why);
    }
    await this.ranAs(rec, { queued: true });
    // Only now are the other cards told it runs (see above). A failure to tell them is no failure to queue it: it runs.
    await this.announce(rec, this.outcomeCard({ ...rec, run: { queued: true } }, reach), null).catch((e: unknown) =>
      this.deps.logger.warn({ err: String(e), approval: rec.id }, 'could not tell the approval cards that an approved request runs'),
    );
    // The requester's card says the same; "is running" would claim what Redis has not confirmed.
    if (queued === 'unanswered')
      return reply.result(
        `Approved ${rec.id}`,
        [
          reply.text(
            `Redis has not answered for ${REDIS_COMMAND_TIMEOUT_MS / 1000} s: whether /${rec.command} ${describeArgs(rec)} was queued is not known yet — ${rec.requester} gets the result if it was`,
          ),
        ],
        { tone: 'warning' },
      );
    const asker = rec.requester;
    const where =
      reach === 'chat'
        ? `is running; ${asker} gets the result`
        : reach === 'private'
          ? `is running; ${asker}'s chat cannot be reached, so ${asker} gets the result privately`
          : `is running, but ${asker}'s chat cannot be reached, nor ${asker} privately: the result will reach nobody — /audit shows it`;
    return reply.result(`Approved ${rec.id}`, [reply.text(`/${rec.command} ${describeArgs(rec)} ${where}`)], {
      tone: reach === 'none' ? 'warning' : 'success',
    });
  }

  /**
   * The requester's platform roles to check them with as it is about to run: those they had when they asked (nothing
   * else is what they asked with) that they still hold — a requester who left the guild or lost a bound role since
   * does not have it run on the roles of then. Only roles discord.roleBindings binds are looked up (others give
   * nothing). Their roles now unknown (Discord did not answer, or this bot has no Discord connection), the bound ones
   * are left out, with `unknown` saying why: it runs only if they may run it without them. `heldNow`: every role
   * Discord says they hold now, whose denies count as well (see run).
   */
  private async requesterRolesNow(rec: ApprovalRecord): Promise<{ roleIds: string[]; heldNow?: string[]; unknown?: string }> {
    const stored = rec.roleIds ?? [];
    const bindings = this.deps.config.discord?.roleBindings ?? {};
    const isBound = (r: string) => (bindings[r]?.length ?? 0) > 0;
    const bound = rec.platform === 'discord' && !rec.system ? stored.filter(isBound) : [];
    // Looked up whenever a role may be bound: one given since may bind a deny (see run), even to one who held none.
    const binds = rec.platform === 'discord' && !rec.system && Object.keys(bindings).some(isBound);
    const lookup = binds ? this.deps.currentRoles?.(rec.platform as Platform, rec.userId) : null;
    if (!lookup) return { roleIds: [...stored] };
    const now = await lookup.catch((e: unknown): RolesNow => ({ ok: false, reason: String(e) }));
    if (now.ok) return { roleIds: stored.filter((r) => now.roleIds.includes(r)), heldNow: now.roleIds };
    // Nothing bound when they asked: nothing to leave out (a role given since, unknown, cannot be counted).
    if (bound.length === 0) return { roleIds: [...stored] };
    this.deps.logger.warn(
      { err: now.reason, approval: rec.id, userId: rec.userId },
      "could not look up an approved request's requester's roles now: checked without their bound roles",
    );
    // The adapter's reason goes to the log only: it may be Discord's own error text.
    return { roleIds: stored.filter((r) => !bound.includes(r)), unknown: 'Discord did not tell them, or this bot is not connected to it' };
  }

  /**
   * Delivers `card` to the requester's own card, and says where it went: their chat, their private chat (the adapter
   * found the chat gone: deleted, the bot removed from it), or nowhere.
   */
  private async tellRequester(rec: ApprovalRecord, card: Reply): Promise<Reach> {
    const fresh = (await this.deps.store.get(rec.id)) ?? rec;
    const same = (t: ReplyTarget) =>
      t.platform === fresh.target.platform && t.channelId === fresh.target.channelId && t.requestId === fresh.target.requestId;
    const t = fresh.announcements.find(same);
    if (!t || !this.deps.platforms.has(t.platform)) return 'chat';
    let after: ReplyTarget;
    try {
      after = await (this.deps.deliverOrThrow ?? this.deps.deliver)(t, card);
    } catch (error) {
      this.deps.logger.error({ err: String(error), approval: rec.id }, "the requester's card could not be delivered, nor privately");
      return 'none';
    }
    await this.remember(rec.id, t, after);
    return after.privately === true ? 'private' : 'chat';
  }

  /**
   * Tells the requester (at `at`, their card) and the approval channels' cards, which said it was approved, that it
   * did not run; and the audit, where the approval alone would read as if it ran.
   */
  private async notRun(rec: ApprovalRecord, at: ReplyTarget, why: string): Promise<void> {
    await this.deps.audit({ ...auditOf(rec), event: 'approval', decision: 'rejected', detail: `${rec.id} approved but not run: ${why}` });
    const failed = notRunCard(rec, why);
    await this.deps.deliver(at, failed);
    await this.announce(rec, failed, null);
  }

  private async reachedAs(rec: ApprovalRecord, reach: Exclude<Reach, 'chat'>): Promise<void> {
    await this.deps.store
      .update(rec.id, (r) => ({ ...r, reach }))
      .catch((e: unknown) => this.deps.logger.warn({ err: String(e), approval: rec.id }, 'could not record where a result goes'));
  }

  /** Records what came of starting an approved request (what a later /approve of it is told). */
  private async ranAs(rec: ApprovalRecord, run: NonNullable<ApprovalRecord['run']>): Promise<void> {
    await this.deps.store
      .update(rec.id, (r) => ({ ...r, run }))
      .catch((e: unknown) => this.deps.logger.warn({ err: String(e), approval: rec.id }, 'could not record how an approved request ran'));
  }

  private settled(rec: ApprovalRecord): Reply | null {
    switch (rec.status) {
      case 'approved': {
        const by = `by ${rec.approvals.map((a) => a.person).join(', ')} at ${clock(rec.decidedAt ?? 0)} UTC`;
        if (rec.run?.queued === false) return reply.error(`${rec.id} was approved but did not run`, `${by}: ${rec.run.why}`);
        const who = rec.requester;
        const what = !rec.run?.queued
          ? 'not recorded as queued (it may be being queued now) — /audit shows what ran'
          : rec.reach === 'private'
            ? `it was queued once; ${who}'s chat cannot be reached: the result goes to ${who} privately`
            : rec.reach === 'none'
              ? `it was queued once, but ${who}'s chat cannot be reached, nor ${who} privately: /audit shows the result`
              : `it was queued once; the result goes to ${who}`;
        return reply.result(`${rec.id} was already approved`, [reply.text(`${by}; ${what}`)], { tone: 'info' });
      }
      case 'denied':
        return reply.result(
          `${rec.id} was ${rec.decidedBy === rec.requester ? 'withdrawn' : 'denied'}`,
          [reply.text(`by ${rec.decidedBy} at ${clock(rec.decidedAt ?? 0)} UTC; nothing ran`)],
          { tone: 'info' },
        );
      case 'expired':
        return reply.error(`${rec.id} expired`, `it expired at ${clock(rec.expiresAt)} UTC; nothing ran — ask again if it is still needed`);
      default:
        return null;
    }
  }

  private armExpiry(rec: ApprovalRecord): void {
    this.clearExpiry(rec.id);
    const t = setTimeout(
      () => void this.expire(rec.id, true, rec).catch((e: unknown) => this.deps.logger.error({ err: String(e) }, 'approval expiry failed')),
      Math.max(0, rec.expiresAt - this.now()),
    );
    t.unref();
    this.timers.set(rec.id, t);
  }

  private clearExpiry(id: string): void {
    for (const map of [this.timers, this.escalations]) {
      const t = map.get(id);
      if (t) clearTimeout(t);
      map.delete(id);
    }
  }

  /** Unanswered, a request goes to the next person on call, then to the admins: each step posted and audited. */
  private armEscalation(rec: ApprovalRecord): void {
    const level = rec.escalation ?? 0;
    if (level >= 2) return;
    const step = this.deps.config.approvals.escalateMinutes * 60_000;
    const due = rec.createdAt + step * (level + 1);
    const t = setTimeout(
      () =>
        void this.escalate(rec.id, level).catch((e: unknown) => this.deps.logger.error({ err: String(e) }, 'approval escalation failed')),
      Math.max(0, due - this.now()),
    );
    t.unref();
    this.escalations.set(rec.id, t);
  }

  /** `from`: the level the timer was armed at — a step another bot's timer took already is not taken again. */
  private async escalate(id: string, from: number): Promise<void> {
    const next = await this.deps.nextOnCall().catch(() => null);
    let added: string[] = [];
    const { rec, changed } = await this.deps.store.update(id, (r) => {
      if (r.status !== 'pending' || this.now() >= r.expiresAt || (r.escalation ?? 0) !== from) return null;
      const level = from + 1;
      // Never the requester, nor a next on call who may not approve it (out of scope there): escalating to them
      // reaches nobody, and their /approve would be refused.
      added = level === 1 ? (next && next !== r.requester && this.mayBeAble(r, next, true) ? [next] : []) : this.offCallApprovers(r);
      return { ...r, escalation: level, escalatedTo: [...new Set([...(r.escalatedTo ?? []), ...added])] };
    });
    if (!rec || !changed) {
      // Another bot took this step: this one waits for the next, from the record as it is now.
      if (rec?.status === 'pending' && (rec.escalation ?? 0) > from && this.timers.has(id)) this.armEscalation(rec);
      return;
    }
    const to =
      rec.escalation === 1
        ? added.length > 0
          ? `${added.join(', ')} (next on call)`
          : next && next !== rec.requester
            ? `nobody: ${next}, next on call, may not approve /${rec.command} there`
            : 'nobody else is on call next'
        : rec.policy.approvers !== 'oncall'
          ? added.length > 0
            ? `everyone with ${rec.policy.approvers.permission} or ${APPROVE_ANY} (${added.join(', ')})`
            : `nobody other than the requester has ${rec.policy.approvers.permission} or ${APPROVE_ANY}`
          : added.length > 0
            ? `the admins (${added.join(', ')})`
            : 'no admin other than the requester';
    await this.deps.audit({ ...auditOf(rec), event: 'approval', decision: 'needsApproval', detail: `${id} escalated to ${to}` });
    const title =
      added.length > 0
        ? `Escalated to ${to}: approval ${id} is still unanswered`
        : `Not escalated (${to}): approval ${id} is still unanswered`;
    await this.announcePending(rec.id, { ...(await this.requestCard(rec, await this.deps.onCall().catch(() => []))), title });
    // Cards on platforms this bot cannot post to are drawn again by a bot that can (escalatedElsewhere).
    const shown = (await this.deps.store.get(id))?.announcements ?? rec.announcements;
    if (shown.some((t) => !this.deps.platforms.has(t.platform)))
      await this.deps.store
        .publishNews(id, this.postableNow(), { kind: 'escalated', title })
        .catch((e: unknown) => this.deps.logger.warn({ err: String(e), approval: id }, 'could not tell the other bots of an escalation'));
    // Still this bot's to time (not expired, released or stopped meanwhile).
    if (this.timers.has(id)) this.armEscalation(rec);
  }

  /** `timed`: called by its timer (not by a late /approve), which knew the request as `known`. */
  private async expire(id: string, timed = false, known?: ApprovalRecord): Promise<Reply> {
    this.clearExpiry(id);
    const now = this.now();
    const { rec, changed } = await this.deps.store.update(id, (r) =>
      r.status === 'pending' && now >= r.expiresAt ? { ...r, status: 'expired', decidedAt: now } : null,
    );
    // A record is kept a day past its expiry: gone at its expiry, Redis lost it (restarted without its data, flushed)
    // while it was pending. Nobody could approve it since; its cards would ask for it for ever.
    if (timed && !rec && known) {
      await this.lost(known);
      return reply.error('No such approval request', `there is no approval request ${id}`);
    }
    // The timer came a moment early on the shared clock (a new reading of Redis's TIME set it back a few ms, or the
    // event loop's cached time): still pending, it is timed again for the rest, or it would never expire on its cards.
    if (timed && rec && !changed && rec.status === 'pending' && now < rec.expiresAt) {
      this.armExpiry(rec);
      return reply.error('Not expired yet', `${id} expires at ${clock(rec.expiresAt)} UTC`);
    }
    if (rec && changed) {
      await this.deps.audit({ ...auditOf(rec), event: 'approval', decision: 'rejected', detail: `${id} expired unanswered` });
      await this.announce(
        rec,
        reply.result(
          `Approval ${id} expired`,
          [reply.text(`/${rec.command} ${describeArgs(rec)} was not approved by ${clock(rec.expiresAt)} UTC; nothing ran`)],
          { tone: 'error' },
        ),
      );
    }
    return rec
      ? (this.settled(rec) ?? reply.error(`${id} expired`, 'nothing ran'))
      : reply.error('No such approval request', `there is no approval request ${id}`);
  }

  /** Tells the cards this bot knows of a pending request Redis lost that it is gone, and nothing ran. */
  private async lost(rec: ApprovalRecord): Promise<void> {
    this.deps.logger.warn({ approval: rec.id, requestId: rec.requestId }, 'a pending approval request was lost with Redis data: told');
    // Each bot timing it (the one that took it, one that adopted it) finds it gone: claimed, so it is audited once.
    // The cards are not part of the claim: each bot tells those it can post to, which the claimer may not.
    // A claim Redis could not write (down, at its maxmemory) is taken: the loss audited twice beats never, and the
    // audit keeps its entry (its file) while Redis refuses.
    const first = await this.deps.store.claimLost(rec.id, rec.requestId).catch((e: unknown) => {
      this.deps.logger.warn({ err: String(e), approval: rec.id }, 'could not claim the lost approval for the audit: audited anyway');
      return true;
    });
    if (first)
      await this.deps.audit({
        ...auditOf(rec),
        event: 'approval',
        decision: 'rejected',
        detail: `${rec.id} lost with Redis's data before it was decided; nothing ran`,
      });
    const card = reply.result(
      `Approval ${rec.id} was lost`,
      [
        reply.text(
          `/${rec.command} ${describeArgs(rec)}: Redis lost the request (restarted without its data, or flushed) before it was approved; nothing ran — ask again if it is still needed`,
        ),
      ],
      { tone: 'error' },
    );
    for (const t of rec.announcements) if (this.deps.platforms.has(t.platform)) await this.deps.deliver(t, card);
  }

  /**
   * Updates every message that announced the request (the buttons go: the card is replaced). With `requesterCard`,
   * the requester's own card gets that reply instead (it later receives the request's result in place); null: the
   * requester's card is left as it is.
   */
  private async announce(rec: ApprovalRecord, r: Reply, requesterCard?: Reply | null): Promise<void> {
    const fresh = (await this.deps.store.get(rec.id)) ?? rec;
    for (const t of fresh.announcements) {
      if (!this.deps.platforms.has(t.platform)) continue;
      const mine = t.platform === fresh.target.platform && t.channelId === fresh.target.channelId && t.requestId === fresh.target.requestId;
      if (mine && requesterCard === null) continue;
      await this.remember(rec.id, t, await this.deps.deliver(t, mine && requesterCard ? requesterCard : r));
    }
    // Cards on platforms this bot cannot post to are told by the bot that took the request (decidedElsewhere),
    // listed first on the record: a bot that does not hear the news finds them there (catchUp).
    const untold = fresh.announcements.filter((t) => !this.deps.platforms.has(t.platform));
    if (untold.length > 0)
      await this.deps.store
        .update(rec.id, (r) => (r.status === 'pending' ? null : { ...r, untold }))
        .then(() => this.deps.store.publishDecided(rec.id, this.postableNow()))
        .catch((e: unknown) => this.deps.logger.warn({ err: String(e), approval: rec.id }, 'could not tell the other bots of a decision'));
  }

  /**
   * Keeps what a delivery learnt about a message — whom it has pinged, the message a deleted card was posted anew as —
   * so the next delivery builds on it: a person called on at one escalation step is not pinged again at the next, and
   * a card posted anew is the one edited after.
   */
  private async remember(id: string, before: ReplyTarget, after: ReplyTarget): Promise<void> {
    if (JSON.stringify(after.state) === JSON.stringify(before.state)) return;
    const same = (t: ReplyTarget) => t.platform === before.platform && t.channelId === before.channelId && t.requestId === before.requestId;
    await this.deps.store
      .update(id, (r) =>
        r.announcements.some(same)
          ? { ...r, announcements: r.announcements.map((t) => (same(t) ? after : t)), ...(same(r.target) ? { target: after } : {}) }
          : null,
      )
      .catch((e: unknown) => this.deps.logger.warn({ err: String(e), approval: id }, 'could not record a delivered card'));
  }

  /**
   * Puts a pending request's card (with its buttons) on every message that announced it. Each delivery may wait long
   * (a platform's rate limits) and the request may be decided meanwhile, by any bot, whose own announcement then
   * covers the messages not yet reached here: those are skipped. The one being delivered as it was decided may have
   * been covered first and overwritten by this card after: it is put right — never Approve/Deny over a decided request.
   */
  private async announcePending(id: string, card: Reply, only: (t: ReplyTarget) => boolean = () => true): Promise<void> {
    const listed = await this.deps.store.get(id);
    for (const t of listed?.announcements ?? []) {
      if (!this.deps.platforms.has(t.platform) || !only(t)) continue;
      if ((await this.deps.store.get(id))?.status !== 'pending') return;
      await this.remember(id, t, await this.deps.deliver(t, this.cardFor(t, card, id)));
      let after = await this.deps.store.get(id);
      if (!after || after.status === 'pending') continue;
      // The decider may be telling this message something newer as this one goes (that it did not run): again, a
      // few times at most, until the record holds still across a delivery.
      for (let round = 0; round < 3 && after; round++) {
        const shown = decidedAs(after);
        const mine =
          t.platform === after.target.platform && t.channelId === after.target.channelId && t.requestId === after.target.requestId;
        await this.deps.deliver(t, this.decidedCard(after, mine));
        after = await this.deps.store.get(id);
        if (after && decidedAs(after) === shown) break;
      }
      return;
    }
  }

  /**
   * What a decided request's card says, on the requester's card (`mine`) or elsewhere. The requester's card of an
   * approved request shows its progress until the relay edits its result in (which the desk cannot tell has come).
   */
  private decidedCard(rec: ApprovalRecord, mine: boolean): Reply {
    if (rec.status === 'approved' && rec.run?.queued === false) return notRunCard(rec, rec.run.why);
    return mine && rec.status === 'approved' ? this.runningCard(rec) : this.outcomeCard(rec);
  }

  /**
   * The requester's card of an approved request until its result comes: "running" only once it was queued — before,
   * the dispatcher may still refuse it (a freeze, a silent agent), and on a terminal no line said is taken back.
   */
  private runningCard(rec: ApprovalRecord): Reply {
    return reply.progress(
      `/${rec.command} ${describeArgs(rec)}`,
      `approved by ${rec.approvals.map((a) => a.person).join(', ')}; ${rec.run?.queued ? 'running now' : 'checking it can still run'}`,
    );
  }

  /** What a settled request's cards say; `reach`: where an approved one's result goes (see tellRequester). */
  private outcomeCard(rec: ApprovalRecord, reach: Reach = rec.reach ?? 'chat'): Reply {
    const who = rec.requester;
    switch (rec.status) {
      case 'approved': {
        // Not recorded as queued yet (a card drawn as it is being started), it may still be refused: "running" is not said.
        const state = rec.run?.queued ? 'running' : 'checking it can still run';
        return reply.result(
          `/${rec.command} ${describeArgs(rec)} approved by ${rec.approvals.map((a) => a.person).join(', ')}`,
          [
            reply.text(
              reach === 'chat'
                ? `${state}; the result goes to ${who}'s chat`
                : reach === 'private'
                  ? `${state}; ${who}'s chat cannot be reached: the result goes to ${who} privately`
                  : `${state}; ${who}'s chat cannot be reached, nor ${who} privately: /audit shows the result`,
            ),
          ],
          { tone: 'info' },
        );
      }
      case 'denied':
        return reply.result(
          `/${rec.command} ${describeArgs(rec)} was ${rec.decidedBy === rec.requester ? 'withdrawn' : 'denied'} by ${rec.decidedBy}${rec.denyReason ? `: ${showControls(rec.denyReason)}` : ''}`,
          [reply.text('nothing ran')],
          { tone: 'error' },
        );
      case 'expired':
        return reply.result(
          `Approval ${rec.id} expired`,
          [reply.text(`/${rec.command} ${describeArgs(rec)} was not approved by ${clock(rec.expiresAt)} UTC; nothing ran`)],
          { tone: 'error' },
        );
      default:
        return reply.result(`Approval ${rec.id} is pending`, [], { tone: 'info' });
    }
  }

  /** Whether this person of the config may approve the request as things stand (`onCall`: they are on call). */
  private mayApproveIt(r: ApprovalRecord, person: string, onCall: boolean, policy = r.policy): boolean {
    const { config } = this.deps;
    return mayApprove({
      config,
      approver: { id: person, displayName: person, roles: [...(config.people[person]?.roles ?? [])] },
      requester: r.requester,
      policy,
      permission: this.deps.commands.get(r.command)?.permission ?? APPROVE_ANY,
      command: r.command,
      targets: r.targets,
      touches: r.touches,
      jobs: r.jobs,
      onCall: onCall ? [person] : [],
    }).ok;
  }

  /**
   * Whether a person may approve it, as far as can be told here: someone who may gain roles through a Discord role
   * binding cannot be judged (their Discord roles are known only when they click), so counts as able.
   */
  private mayBeAble(r: ApprovalRecord, person: string, onCall: boolean): boolean {
    const bound =
      !!this.deps.config.people[person]?.identities['discord'] && Object.keys(this.deps.config.discord?.roleBindings ?? {}).length > 0;
    return bound || this.mayApproveIt(r, person, onCall);
  }

  /**
   * Who may approve this one whether on call or not, the requester aside: those with approval.grant or, under a policy
   * whose approvers hold a permission, with that permission — on every host it touches, and the command's too.
   */
  private offCallApprovers(r: ApprovalRecord): string[] {
    return Object.keys(this.deps.config.people).filter((p) => p !== r.requester && this.mayApproveIt(r, p, false));
  }

  /**
   * A pending request's card as the channel `t` shows it: where the config's `channels` refuse /approve or /deny there
   * (not enabled in it, or a commands filter that leaves them out), their buttons would be refused at every click —
   * they go, and the card says so and what to do instead.
   */
  private cardFor(t: ReplyTarget, card: Reply, id: string): Reply {
    const { config } = this.deps;
    const here = channelPolicy(config, t.platform, { id: t.channelId, kind: 'group' });
    const answers = ['approve', 'deny'] as const;
    const refused = answers.filter(
      (name) => !here.allowed || !channelAllowsCommand(config, here.commands, name, this.deps.commands.get(name)?.permission ?? null),
    );
    if (refused.length === 0) return card;
    const typed = `/approve ${id}   or   /deny ${id} [reason]`;
    const named = refused.map((name) => `/${name} ${id}`).join(' and ');
    const left = answers
      .filter((name) => !refused.includes(name))
      .map((name) => (name === 'deny' ? `/deny ${id} [reason]` : `/approve ${id}`));
    const what =
      refused.length > 1
        ? 'are not allowed in this channel (config: channels): approve where they are, or allow them here'
        : 'is not allowed in this channel (config: channels): use it where it is, or allow it here';
    return {
      ...card,
      blocks: card.blocks.map((b) => (b.type === 'text' && b.text === typed ? reply.text([...left, `${named} ${what}`].join('   ')) : b)),
      actions: (card.actions ?? []).filter((a) => !refused.some((name) => a.label.toLowerCase() === name)),
    };
  }

  private async requestCard(rec: ApprovalRecord, onCall: string[]): Promise<Reply> {
    const ttl = Math.ceil((rec.expiresAt - this.now()) / 1000) + 86_400; // a late click is told it expired
    const approve = await this.deps.actions.create('approve', { id: rec.id }, ttl);
    const deny = await this.deps.actions.create('deny', { id: rec.id }, ttl);
    // The on-call people are called on every platform where they have an identity (never the requester: they
    // cannot approve their own request).
    // Those it was escalated to are called on too (an edited card notifies only people it did not mention before).
    // Only those who may approve it: someone on call who may not run the command there is named apart, never called
    // on (their /approve would be refused); with too few on call able to (none, or fewer than it needs), those who
    // may off call are too (approval.grant, or the policy's permission): nobody called on, it would wait unseen until
    // it expired. Those who approved it already are not called on again.
    const given = new Set(rec.approvals.map((a) => a.person));
    const needed = Math.max(1, rec.policy.count - given.size);
    const others = (p: string) => p !== rec.requester && !given.has(p);
    const able = [...new Set([...onCall, ...(rec.escalatedTo ?? [])])].filter(
      (p) => others(p) && this.mayBeAble(rec, p, rec.policy.approvers === 'oncall'),
    );
    const unable = onCall.filter((p) => others(p) && !able.includes(p));
    const more = able.length < needed ? this.offCallApprovers(rec).filter((p) => others(p) && !able.includes(p)) : [];
    const mentions: NonNullable<Reply['mentions']> = [...able, ...more].flatMap((person) => {
      const identities = Object.entries(this.deps.config.people[person]?.identities ?? {}).flatMap(([platform, userId]) =>
        (platform === 'terminal' || platform === 'discord' || platform === 'telegram') && typeof userId === 'string' && userId !== ''
          ? [{ platform, userId } as const]
          : [],
      );
      return identities.length ? [{ person, identities }] : [];
    });
    const who = approversLine({
      approvers: rec.policy.approvers,
      command: rec.command,
      onCallAble: onCall.filter((p) => able.includes(p)),
      able: able.length,
      unable,
      more,
      needed,
      escalatedTo: rec.escalatedTo ?? [],
    });
    const card = reply.result(
      `Approval needed: /${rec.command} ${describeArgs(rec)} — ${rec.id}`,
      [
        reply.fields([
          { name: 'requested by', value: `${rec.requester} (${rec.platform})`, inline: true },
          { name: 'expires', value: `${clock(rec.expiresAt)} UTC`, inline: true },
          { name: 'approvers', value: `${who}; ${rec.policy.count} needed`, inline: true },
          // Typed in chat and shown on every platform's card: a bidi override would make it read as something else.
          ...(rec.reason ? [{ name: 'reason', value: showControls(rec.reason) }] : []),
          ...rec.state.map((s) => ({ name: `${s.domain} on ${s.host}`, value: describeState(s) })),
        ]),
        ...(rec.summary ?? []),
        reply.code(rec.preview.join('\n')),
        reply.text(`/approve ${rec.id}   or   /deny ${rec.id} [reason]`),
      ],
      {
        tone: 'warning',
        actions: [
          { id: approve, label: 'Approve', style: 'success' },
          { id: deny, label: 'Deny', style: 'danger' },
        ],
      },
    );
    return mentions.length ? { ...card, mentions } : card;
  }
}

/**
 * Who may approve a pending request, as its card says: those on call who may (`able` of them, counting those it was
 * escalated to), those on call who may not, those called on off call (`more`: too few could on call), and whether
 * that is enough for the approvals it still `needed` — a request fewer may approve than it needs will expire.
 */
function approversLine(o: {
  approvers: ApprovalPolicy['approvers'];
  command: string;
  onCallAble: string[];
  able: number;
  unable: string[];
  more: string[];
  needed: number;
  escalatedTo: string[];
}): string {
  const right = o.approvers === 'oncall' ? APPROVE_ANY : o.approvers.permission;
  const escalated = o.escalatedTo.length ? `; escalated to ${o.escalatedTo.join(', ')}` : '';
  const pool = o.able + o.more.length;
  if (pool === 0)
    return o.approvers === 'oncall'
      ? `nobody on call may approve this${cannot(o)}; approval.grant: nobody but the requester — it will expire`
      : `nobody but the requester may approve this (permission ${right} there): it will expire unless someone else is given it`;
  const short = pool < o.needed ? `; only ${pool} may approve it but the requester: it will expire unless more are given the right` : '';
  if (o.able === 0)
    return o.approvers === 'oncall'
      ? `nobody on call may approve this${cannot(o)}; approval.grant: ${o.more.join(', ')}${short}`
      : `nobody on call may approve this (permission ${right} there); called on those who may: ${o.more.join(', ')}${short}`;
  const also = o.more.length > 0 ? `; as ${o.needed} are needed, also called on: ${o.more.join(', ')}` : '';
  const onCall = `on call: ${o.onCallAble.join(', ') || 'nobody'}${escalated}`;
  return o.approvers === 'oncall'
    ? `${onCall} (or approval.grant)${cannot(o)}${also}${short}`
    : `permission ${right}, ${onCall}${also}${short}`;
}

/** Those on call named apart: their /approve would be refused. */
function cannot(o: { approvers: ApprovalPolicy['approvers']; command: string; unable: string[] }): string {
  return o.approvers === 'oncall' && o.unable.length > 0 ? `; ${o.unable.join(', ')} on call may not run /${o.command} there` : '';
}

/** What a decided request's cards depend on. */
function decidedAs(rec: ApprovalRecord): string {
  return JSON.stringify([rec.status, rec.run ?? null]);
}

/**
 * Why the requester's channel would refuse the request now, as the pipeline refuses a typed one (the config may have
 * narrowed it since it was asked): null when it still lets it through. A request xenops made for a person (a
 * schedule's tick) was asked in no chat, so no channel filter applies to it, as when it was asked.
 */
function channelRefusalNow(config: Config, rec: ApprovalRecord, command: AnyCommand): string | null {
  if (rec.system) return null;
  const here = channelPolicy(config, rec.platform, { id: rec.channelId, kind: 'group' });
  const where = `${rec.requester}'s channel (${rec.channelId})`;
  if (!here.allowed) return `xenops is not enabled in ${where} now`;
  if (!channelAllowsCommand(config, here.commands, command.name, command.permission))
    return `/${command.name} is not allowed in ${where} now`;
  return null;
}

function notRunCard(rec: ApprovalRecord, why: string): Reply {
  return reply.result(`/${rec.command} ${describeArgs(rec)} was approved but did not run`, [reply.text(why)], { tone: 'error' });
}

function boundState(fleet: FleetCache, host: string, domain: string): BoundState {
  const d = fleet.domains(host).find((x) => x.name === domain);
  if (!d) return { host, domain, up: false, id: null, uuid: null, status: 'absent', memoryMiB: null };
  return { host, domain, up: d.status !== 'defined', id: d.id, uuid: d.uuid, status: d.status, memoryMiB: d.memoryMiB };
}

function describeState(s: BoundState): string {
  if (s.status === 'absent') return 'not on this host';
  const mem = s.memoryMiB === null ? '' : `, ${s.memoryMiB} MiB`;
  return `${s.status}${s.id === null ? '' : `, id ${s.id}`}${mem}${s.uuid ? `, uuid ${s.uuid}` : ''}`;
}

/**
 * A reason given when asking again for what already waits: not added to the pending request (its approvers may have
 * read its card already, and would approve what they did not read), but said to be left out, with the way to give it.
 */
function reasonLeftOut(first: ApprovalRecord, reason: string): Block[] {
  if (reason === '' || reason === first.reason) return [];
  const was = first.reason ? `it was asked for “${showControls(first.reason)}”` : 'it was asked with no reason';
  return [reply.text(`your reason “${showControls(reason)}” is not on it (${was}): /deny ${first.id} and ask again to give yours`)];
}

/** What a request's card names after its command: the target, or a plan's hosts and size. */
export function describeArgs(rec: ApprovalRecord): string {
  const t = rec.targets[0];
  const where = t ? (t.domain ? `${t.host}:${t.domain}` : t.host) : '';
  // A plan (an evacuation: one migration per guest, to several hosts) is named by its hosts and its size.
  if (rec.mode === 'sequence') {
    const steps = rec.jobs.filter((j) => isMutating(j.op)).length;
    return `${[...new Set(rec.targets.map((x) => x.host))].join(',')}${planOptions(rec.args ?? {})} (${steps} step${steps === 1 ? '' : 's'})`;
  }
  const extra =
    rec.jobs[0] && (rec.jobs[0].op === 'domain.stop' || rec.jobs[0].op === 'domain.reboot') && rec.jobs[0].force
      ? ' --force'
      : rec.jobs[0]?.op === 'domain.migrate'
        ? ` to ${rec.jobs[0].target}`
        : rec.jobs[0]?.op === 'domain.autostart'
          ? ` ${rec.jobs[0].enable ? 'on' : 'off'}`
          : '';
  return `${where}${extra}`;
}

/**
 * A plan's options that change what it does, as typed (an evacuation's `to …` and `--shutdown-rest`): the approver
 * approves exactly what they read, and two requests that differ must not get the same card. /rebalance's hosts are
 * its targets, named already.
 */
function planOptions(args: Record<string, unknown>): string {
  const to = Array.isArray(args['to']) && args['to'].length > 0 ? ` to ${args['to'].join(',')}` : '';
  return `${to}${args['shutdown-rest'] === true ? ' --shutdown-rest' : ''}`;
}

const TERMINAL_ONLY: ReadonlySet<string> = new Set(['terminal']);

function freshTarget(platform: Platform, channelId: string, requestId: string): ReplyTarget {
  return { platform, channelId, requestId, state: {} };
}

function clock(ms: number, seconds = false): string {
  return new Date(ms).toISOString().slice(11, seconds ? 19 : 16);
}

/**
 * An entry about an approval request: `person` is whose request it is (and platform, userId, channel theirs); `by`
 * who decided what the entry records (approved, denied, withdrew, or was refused), so /audit person: finds it under
 * them too, with the command and target.
 */
function auditOf(rec: ApprovalRecord, by?: string) {
  return {
    requestId: rec.requestId,
    person: rec.requester,
    ...(by === undefined ? {} : { by }),
    platform: rec.platform,
    userId: rec.userId,
    channelId: rec.channelId,
    command: rec.command,
    // So /audit host:… and domain:… find approval decisions too.
    targets: rec.jobs,
  };
}
