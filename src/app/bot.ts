import { randomBytes } from 'node:crypto';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { splitDomainRef } from '../../commands/domain-ref.ts';
import { COMMANDS } from '../../commands/index.ts';
import type { ActionClick, BotCore, ChatAdapter, Choice, ReplyTarget } from '../adapters/types.ts';
import type { DomainSummary } from '../agent/toolstack/types.ts';
import type { Config } from '../config/schema.ts';
import { parseArgs } from '../core/args.ts';
import { authorize, channelAllowsCommand, channelPolicy, identify, type Person } from '../core/authorize.ts';
import { type AnyCommand, commandSpec, commandSpecs, type HostOutcome, type JobCommand, riskOf } from '../core/define-command.ts';
import { UserError } from '../core/errors.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import { type Reply, reply } from '../core/reply.ts';
import type { Actor, Channel, ChatRequest } from '../core/request.ts';
import { decodeJobFailure, type JobData, type JobOp, JobProgress, MUTATING_OPS } from '../queue/jobs.ts';
import { hostQueueName, jobIdFor } from '../queue/names.ts';
import { AuditLog } from './audit.ts';
import { FleetCache, resolveDomain } from './fleet-cache.ts';
import { type PendingRequest, PendingStore, type StoredOutcome } from './pending-store.ts';

export interface CreateBotOptions {
  config: Config;
  /** Redis URL. */
  redis: string;
  logger: Logger;
  adapters: ChatAdapter[];
  commands?: readonly AnyCommand[];
}

export interface Bot {
  core: BotCore;
  fleet: FleetCache;
  /** A button for a reply: the request it makes is kept in Redis under the returned opaque id. */
  createAction(command: string, args: Record<string, string | number | boolean>, ttlSeconds?: number): Promise<string>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A request that passed every pure check: only `evaluate` makes one. */
interface Evaluated {
  command: AnyCommand;
  args: Record<string, unknown>;
  person: Person;
}

/** The approval hook: the approvals issue plugs in here. Risky commands pass straight through for now. */
export type ApprovalHook = (
  request: ChatRequest,
  evaluated: Evaluated,
  targets: { host: string; domain?: string }[],
) => Promise<{ kind: 'proceed' } | { kind: 'needsApproval'; reply: Reply }>;
const proceedAlways: ApprovalHook = async () => ({ kind: 'proceed' });

const PROGRESS_MIN_INTERVAL_MS = 750;

interface StoredAction {
  command: string;
  args: Record<string, string | number | boolean>;
}

export async function createBot(options: CreateBotOptions): Promise<Bot> {
  const { config, logger } = options;
  const commands = options.commands ?? COMMANDS;
  const byName = new Map(commands.map((c) => [c.name, c]));
  const prefix = config.redis.prefix;
  const hostNames = Object.keys(config.hosts);
  const redis = new Redis(options.redis, { maxRetriesPerRequest: 3 });
  redis.on('error', (e) => logger.warn({ err: e.message }, 'redis error (bot)'));
  const connection = { url: options.redis };
  const queues = new Map(hostNames.map((h) => [h, new Queue(hostQueueName(h), { connection, prefix })]));
  for (const q of queues.values()) q.on('error', (e) => logger.warn({ err: e.message }, 'queue error'));
  const events = new Map<string, QueueEvents>();
  const audit = new AuditLog(redis, `${prefix}:audit`, config.audit.file, config.audit.streamMaxLen, logger);
  const pending = new PendingStore(redis, prefix);
  const fleet = new FleetCache(hostNames);
  const adapters = new Map(options.adapters.map((a) => [a.platform, a]));
  const timers = new Set<NodeJS.Timeout>();
  const lastProgress = new Map<string, number>();
  const approval: ApprovalHook = proceedAlways;
  const instance = randomBytes(3).toString('hex');

  const deliver = async (target: ReplyTarget, r: Reply): Promise<ReplyTarget> => {
    const adapter = adapters.get(target.platform);
    if (!adapter) {
      logger.warn({ platform: target.platform }, 'no adapter to deliver a reply to');
      return target;
    }
    try {
      return await adapter.deliver(target, r);
    } catch (error) {
      logger.error({ err: redactSecrets(String(error)), requestId: target.requestId }, 'delivery failed');
      return target;
    }
  };

  const auditBase = (req: ChatRequest, person: string | null) => ({
    requestId: req.id,
    person,
    platform: req.platform,
    userId: req.actor.userId,
    channelId: req.channel.id,
    command: req.command,
    args: req.args.kind === 'text' ? req.args.text : JSON.stringify(req.args.options),
  });

  /** Pure checks: command, person, channel, arguments, and a permission dry run. */
  function evaluate(req: ChatRequest): Evaluated | Reply {
    const command = byName.get(req.command.toLowerCase());
    const disabled = command && config.commands[command.name]?.disabled;
    if (!command || disabled) return reply.error(`Unknown command /${req.command}`, 'try /help for what you can run here');
    const who = identify(config, req.actor);
    if (!who.ok) {
      if (command.name === 'whoami') return { command, args: {}, person: { id: '', displayName: req.actor.displayName, roles: [] } };
      return reply.error('Not allowed', who.message);
    }
    const channel = channelPolicy(config, req.platform, req.channel);
    if (!channel.allowed)
      return reply.error('Not allowed here', `xenops is not enabled in this ${req.platform} channel (${req.channel.id})`);
    if (!channelAllowsCommand(config, channel.commands, command.name, command.permission))
      return reply.error('Not allowed here', `/${command.name} is not allowed in this channel`);
    let args: Record<string, unknown>;
    try {
      args = parseArgs(command, req.args);
    } catch (error) {
      if (error instanceof UserError) return reply.error(`Bad arguments for /${command.name}`, error.message, error.context.usage);
      throw error;
    }
    if (command.permission !== null) {
      const target =
        command.scope === 'host' || (command.scope === 'fleet' && typeof args['host'] === 'string') ? { host: args['host'] as string } : {};
      const decision = authorize(config, who.person, command.permission, target, `run /${command.name}`);
      if (!decision.allowed) return reply.error('Not allowed', decision.message);
    }
    return { command, args, person: who.person };
  }

  function isReply(x: Evaluated | Reply): x is Reply {
    return 'kind' in x && 'blocks' in x;
  }

  function allowedFor(actor: Actor, channel: Channel, platform: string) {
    const who = identify(config, actor);
    const policy = channelPolicy(config, platform, channel);
    return commands
      .filter((c) => !config.commands[c.name]?.disabled)
      .filter((c) => policy.allowed && channelAllowsCommand(config, policy.commands, c.name, c.permission))
      .filter((c) => c.permission === null || (who.ok && authorize(config, who.person, c.permission).allowed));
  }

  async function refreshFleet(hosts: readonly string[], waitMs: number): Promise<void> {
    const stamp = `${Date.now()}-${instance}`;
    await Promise.all(
      hosts.map(async (host) => {
        const queue = queues.get(host);
        const qe = events.get(host);
        if (!queue || !qe) return;
        const data: JobData = {
          op: 'domain.list',
          host,
          meta: {
            requestId: `fleet-${stamp}`,
            person: 'xenops',
            platform: 'system',
            userId: 'xenops',
            channelId: 'system',
            command: 'list',
          },
        };
        const job = await queue.add('domain.list', data, {
          jobId: jobIdFor(`fleet-${stamp}`, host),
          removeOnComplete: { age: 600 },
          removeOnFail: { age: 600 },
        });
        try {
          const result = (await job.waitUntilFinished(qe, waitMs)) as { domains: DomainSummary[] };
          fleet.update(host, result.domains);
        } catch (error) {
          logger.debug({ host, err: String(error) }, 'fleet refresh: no answer');
        }
      }),
    );
  }

  async function resolveTargets(ev: Evaluated): Promise<{ host: string; domain?: string }[]> {
    const { command, args } = ev;
    const checkHost = (h: string) => {
      if (!config.hosts[h]) throw new UserError('host.unknown', `no host named ${h} (hosts: ${hostNames.join(', ')})`);
      return h;
    };
    switch (command.scope) {
      case 'fleet':
        return typeof args['host'] === 'string' ? [{ host: checkHost(args['host']) }] : hostNames.map((host) => ({ host }));
      case 'host':
        return [{ host: checkHost(String(args['host'])) }];
      case 'domain': {
        const ref = splitDomainRef(String(args['domain']));
        if (ref.host) checkHost(ref.host);
        let resolved = resolveDomain(fleet, ref);
        // A cold cache or a domain started elsewhere since: ask the hosts before saying "not found".
        if (!resolved.ok && resolved.code === 'domain.notFound' && ref.host === null) {
          await refreshFleet(hostNames, Math.min(config.bot.readTimeoutMs, 15_000));
          resolved = resolveDomain(fleet, ref);
        }
        if (!resolved.ok) throw new UserError(resolved.code, resolved.message);
        return [{ host: resolved.host, domain: resolved.domain }];
      }
      default:
        return [];
    }
  }

  async function runLocal(req: ChatRequest, ev: Evaluated, target: ReplyTarget): Promise<void> {
    if (ev.command.scope !== 'local') return;
    const who = identify(config, req.actor);
    const r = await ev.command.run(ev.args, {
      person: who.ok ? who.person.id : null,
      platformUserId: req.actor.userId,
      platform: req.platform,
      roles: who.ok ? who.person.roles : [],
      allowedCommands: () => allowedFor(req.actor, req.channel, req.platform).map(commandSpec),
      readAudit: (n) => audit.recent(n),
    });
    await deliver(target, r);
  }

  async function handle(req: ChatRequest, target: ReplyTarget): Promise<void> {
    const started = Date.now();
    let person: string | null = null;
    try {
      const ev = evaluate(req);
      if (isReply(ev)) {
        await audit.append({ ...auditBase(req, identifyId(req.actor)), event: 'decision', decision: 'rejected', detail: flatten(ev) });
        await deliver(target, ev);
        return;
      }
      person = ev.person.id || null;
      await audit.append({ ...auditBase(req, person), event: 'request' });
      if (ev.command.scope === 'local') {
        await runLocal(req, ev, target);
        return;
      }
      const command = ev.command as JobCommand<never, JobOp>;
      const targets = await resolveTargets(ev);
      for (const t of targets) {
        const decision = authorize(config, ev.person, command.permission ?? '', t, `run /${command.name}`);
        if (!decision.allowed) throw new UserError('auth.denied', decision.message);
      }
      const gate = await approval(req, ev, targets);
      if (gate.kind === 'needsApproval') {
        await audit.append({ ...auditBase(req, person), event: 'decision', decision: 'needsApproval' });
        await deliver(target, gate.reply);
        return;
      }
      const risk = config.commands[command.name]?.risk ?? riskOf(command, ev.args);
      await audit.append({
        ...auditBase(req, person),
        event: 'decision',
        decision: 'allowed',
        detail: `risk ${risk}; hosts ${targets.map((t) => t.host).join(',')}`,
      });
      const jobs: PendingRequest['jobs'] = [];
      const datas: JobData[] = targets.map((t) => ({
        ...command.job(ev.args as never, t),
        meta: {
          requestId: req.id,
          person: ev.person.id,
          platform: req.platform,
          userId: req.actor.userId,
          channelId: req.channel.id,
          command: command.name,
        },
      })) as JobData[];
      const p: PendingRequest = {
        requestId: req.id,
        command: command.name,
        args: ev.args,
        person: ev.person.id,
        platform: req.platform,
        userId: req.actor.userId,
        channelId: req.channel.id,
        target,
        jobs: datas.map((d) => ({ jobId: jobIdFor(req.id, d.host), host: d.host })),
        deadline: MUTATING_OPS.has(command.op) ? null : Date.now() + config.bot.readTimeoutMs,
        createdAt: started,
      };
      // The "queued" reply goes out first, so the stored target already points at the message later updates
      // edit, however fast the jobs finish.
      const hosts = targets.map((t) => t.host).join(', ');
      p.target = await deliver(target, reply.progress(`/${command.name}`, `queued on ${hosts}`));
      await pending.save(p);
      for (const d of datas) {
        const queue = queues.get(d.host);
        if (!queue) continue;
        const mutating = MUTATING_OPS.has(d.op);
        // jobId from the request id: a redelivered chat event adds nothing.
        await queue.add(d.op, d, {
          jobId: jobIdFor(req.id, d.host),
          attempts: mutating ? 1 : 2,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 86_400 },
        });
        jobs.push({ jobId: jobIdFor(req.id, d.host), host: d.host });
      }
      armDeadline(p);
    } catch (error) {
      if (error instanceof UserError) {
        await audit.append({ ...auditBase(req, person), event: 'decision', decision: 'rejected', detail: error.message });
        await deliver(target, reply.error(error.code === 'auth.denied' ? 'Not allowed' : 'Cannot do that', error.message));
        return;
      }
      logger.error(
        { err: redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error)), requestId: req.id },
        'request failed',
      );
      await deliver(target, reply.error('Something went wrong', 'xenops hit an internal error; the operators can find it in the bot log'));
    }
  }

  function identifyId(actor: Actor): string | null {
    const who = identify(config, actor);
    return who.ok ? who.person.id : null;
  }

  function armDeadline(p: PendingRequest): void {
    if (p.deadline === null) return;
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        void finalize(p.requestId, true).catch((e: unknown) => logger.error({ err: String(e) }, 'finalize failed'));
      },
      Math.max(0, p.deadline - Date.now()),
    );
    timer.unref();
    timers.add(timer);
  }

  /** Delivers the final reply once every host answered (or, past the deadline, with "no answer" for the rest). */
  function finalize(requestId: string, deadlinePassed = false): Promise<void> {
    return serial(requestId, () => finalizeNow(requestId, deadlinePassed));
  }

  async function finalizeNow(requestId: string, deadlinePassed: boolean): Promise<void> {
    const p = await pending.get(requestId);
    if (!p) return;
    const outcomes = await pending.outcomes(requestId);
    const missing = p.jobs.filter((j) => !outcomes[j.host]);
    if (missing.length > 0 && !deadlinePassed) return;
    if (!(await pending.claimFinal(requestId))) return;
    finalized.add(requestId);
    for (const m of missing)
      outcomes[m.host] = {
        ok: false,
        failure: { code: 'noAnswer', message: `no answer from ${m.host}'s agent within ${Math.round(config.bot.readTimeoutMs / 1000)} s` },
      };
    const command = byName.get(p.command);
    if (!command || command.scope === 'local') return;
    const list: HostOutcome<JobOp>[] = p.jobs.map((j) => {
      const o = outcomes[j.host] as StoredOutcome;
      return o.ok ? { host: j.host, ok: true, result: o.result as never } : { host: j.host, ok: false, failure: o.failure };
    });
    let final: Reply;
    try {
      final = command.render(list as never, p.args as never);
    } catch (error) {
      logger.error({ err: String(error), requestId }, 'render failed');
      final = reply.error('Something went wrong', 'the result could not be shown; it is in the audit log');
    }
    await deliver(p.target, final);
    await audit.append({
      event: 'job.outcome',
      ...pendingAuditBase(p),
      args: JSON.stringify(p.args),
      detail: list.map((o) => `${o.host}: ${o.ok ? 'ok' : `${o.failure.code} ${o.failure.message}`}`).join('; '),
      durationMs: Date.now() - p.createdAt,
    });
    await pending.remove(p);
    lastProgress.delete(requestId);
    // Late events for this request may still arrive; keep the marker a while, then forget it.
    setTimeout(() => finalized.delete(requestId), 60_000).unref();
  }

  async function onCompleted(host: string, jobId: string, ok: boolean, value: unknown): Promise<void> {
    const requestId = await pending.requestOf(jobId);
    if (ok) {
      const r = value as { domains?: DomainSummary[] } | null;
      if (r && Array.isArray(r.domains)) fleet.update(host, r.domains);
    }
    if (!requestId) return;
    const outcome: StoredOutcome = ok ? { ok: true, result: value } : { ok: false, failure: decodeJobFailure(value as string) };
    await pending.recordOutcome(requestId, host, outcome);
    await finalize(requestId);
  }

  /** Deliveries for one request run one after another, so a late progress edit never lands after the result. */
  const chains = new Map<string, Promise<void>>();
  const finalized = new Set<string>();
  function serial(requestId: string, fn: () => Promise<void>): Promise<void> {
    const next = (chains.get(requestId) ?? Promise.resolve()).then(fn, fn);
    chains.set(requestId, next);
    void next.finally(() => {
      if (chains.get(requestId) === next) chains.delete(requestId);
    });
    return next;
  }

  async function onProgress(jobId: string, data: unknown): Promise<void> {
    const requestId = await pending.requestOf(jobId);
    if (!requestId) return;
    const now = Date.now();
    if (now - (lastProgress.get(requestId) ?? 0) < PROGRESS_MIN_INTERVAL_MS) return;
    lastProgress.set(requestId, now);
    const parsed = JobProgress.safeParse(data);
    if (!parsed.success) return;
    await serial(requestId, async () => {
      const p = await pending.get(requestId);
      if (!p || finalized.has(requestId)) return;
      const command = byName.get(p.command);
      const r =
        command && command.scope !== 'local' && command.renderProgress
          ? command.renderProgress(parsed.data, p.args as never)
          : reply.progress(`/${p.command}`, parsed.data.message, parsed.data.percent);
      const next = await deliver(p.target, r);
      await pending.updateTarget(requestId, next);
    });
  }

  async function onActive(host: string, jobId: string): Promise<void> {
    const requestId = await pending.requestOf(jobId);
    if (!requestId) return;
    const p = await pending.get(requestId);
    if (!p) return;
    await audit.append({
      event: 'job.start',
      ...pendingAuditBase(p),
      host,
      jobId,
    });
  }

  /** After a restart: deliver what finished while the bot was away, re-arm deadlines for the rest. */
  async function recover(): Promise<void> {
    for (const p of await pending.all()) {
      for (const j of p.jobs) {
        const queue = queues.get(j.host);
        const job = queue ? await Job.fromId(queue, j.jobId) : undefined;
        if (!job) continue;
        const state = await job.getState();
        if (state === 'completed') await pending.recordOutcome(p.requestId, j.host, { ok: true, result: job.returnvalue });
        else if (state === 'failed')
          await pending.recordOutcome(p.requestId, j.host, { ok: false, failure: decodeJobFailure(job.failedReason) });
      }
      await finalize(p.requestId, p.deadline !== null && p.deadline <= Date.now());
      armDeadline(p);
    }
  }

  let stopping = false;
  const guard = (what: string, fn: () => Promise<void>) => {
    if (stopping) return;
    fn().catch((e: unknown) => {
      // Events still in flight while stopping meet closed connections; the restarted bot recovers them.
      if (!stopping) logger.error({ err: redactSecrets(String(e)), what }, 'relay handler failed');
    });
  };

  const core: BotCore = {
    commandSpecs: () => commandSpecs(commands),
    precheck(req) {
      try {
        const ev = evaluate(req);
        return isReply(ev) ? ev : null;
      } catch (error) {
        logger.error({ err: String(error) }, 'precheck failed');
        return reply.error('Something went wrong', 'xenops hit an internal error');
      }
    },
    handle,
    autocomplete(actor, channel, commandName, option, partial) {
      try {
        const command = byName.get(commandName);
        const who = identify(config, actor);
        if (!command || !who.ok || command.permission === null) return [];
        const p = partial.toLowerCase();
        let choices: Choice[] = [];
        if (option === 'domain') {
          choices = fleet
            .allDomains()
            .filter(
              ({ domain }) =>
                domain.name !== 'Domain-0' || command.scope !== 'domain' || !MUTATING_OPS.has((command as JobCommand<never, JobOp>).op),
            )
            .filter(({ host, domain }) => authorize(config, who.person, command.permission ?? '', { host, domain: domain.name }).allowed)
            .filter(({ domain }) => domain.name.toLowerCase().includes(p))
            .map(({ host, domain }) => {
              const ambiguous = fleet.hostsOf(domain.name).length > 1;
              const value = ambiguous ? `${host}:${domain.name}` : domain.name;
              return { name: `${value} (${host}, ${domain.status})`, value };
            });
        } else if (option === 'host' || option === 'target') {
          choices = hostNames
            .filter((h) => h.includes(p) && authorize(config, who.person, command.permission ?? '', { host: h }).allowed)
            .map((h) => ({ name: h, value: h }));
        }
        void channel;
        return choices.slice(0, 25);
      } catch (error) {
        logger.error({ err: String(error) }, 'autocomplete failed');
        return [];
      }
    },
    async handleAction(click: ActionClick, target: ReplyTarget) {
      try {
        const raw = /^[A-Za-z0-9_-]{1,32}$/.test(click.actionId) ? await redis.get(`${prefix}:action:${click.actionId}`) : null;
        if (!raw) {
          await deliver(target, reply.error('This button has expired', 'run the command again'));
          return;
        }
        const action = JSON.parse(raw) as StoredAction;
        // The click is a new request of whoever clicked: parsed, identified and authorized again.
        await handle(
          {
            id: click.id,
            platform: click.platform,
            actor: click.actor,
            channel: click.channel,
            command: action.command,
            args: { kind: 'options', options: action.args },
            receivedAt: click.receivedAt,
            source: 'action',
          },
          target,
        );
      } catch (error) {
        logger.error({ err: redactSecrets(String(error)) }, 'action failed');
        await deliver(target, reply.error('Something went wrong', 'xenops hit an internal error'));
      }
    },
  };

  /** Stores a button's request server-side; platforms carry only the opaque id (≤ 64 bytes for Telegram). */
  async function createAction(command: string, args: Record<string, string | number | boolean>, ttlSeconds = 3600): Promise<string> {
    const id = randomBytes(12).toString('base64url');
    const stored: StoredAction = { command, args };
    await redis.set(`${prefix}:action:${id}`, JSON.stringify(stored), 'EX', ttlSeconds);
    return id;
  }

  return {
    core,
    fleet,
    createAction,
    async start() {
      for (const host of hostNames) {
        const qe = new QueueEvents(hostQueueName(host), { connection, prefix });
        qe.on('error', (e) => logger.warn({ err: e.message }, 'queue events error'));
        qe.on('active', ({ jobId }) => guard('active', () => onActive(host, jobId)));
        qe.on('progress', ({ jobId, data }) => guard('progress', () => onProgress(jobId, data)));
        qe.on('completed', ({ jobId }) =>
          guard('completed', async () => {
            const queue = queues.get(host);
            const job = queue ? await Job.fromId(queue, jobId) : undefined;
            await onCompleted(host, jobId, true, job?.returnvalue ?? null);
          }),
        );
        qe.on('failed', ({ jobId, failedReason }) => guard('failed', () => onCompleted(host, jobId, false, failedReason)));
        events.set(host, qe);
      }
      await Promise.all([...events.values()].map((e) => e.waitUntilReady()));
      for (const adapter of adapters.values()) await adapter.start(core);
      await recover();
      // Fill the fleet cache in the background: lookups and autocomplete answer from memory.
      void refreshFleet(hostNames, config.bot.readTimeoutMs);
      const refresher = setInterval(() => void refreshFleet(hostNames, config.bot.readTimeoutMs), config.bot.fleetRefreshMs);
      refresher.unref();
      timers.add(refresher);
    },
    async stop() {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const adapter of adapters.values())
        await adapter.stop().catch((e: unknown) => logger.warn({ err: String(e) }, 'adapter stop failed'));
      await Promise.all([...events.values()].map((e) => e.close()));
      await Promise.all([...queues.values()].map((q) => q.close()));
      redis.disconnect();
    },
  };
}

function pendingAuditBase(p: PendingRequest) {
  return { requestId: p.requestId, person: p.person, platform: p.platform, userId: p.userId, channelId: p.channelId, command: p.command };
}

function flatten(r: Reply): string {
  return [r.title, ...r.blocks.map((b) => (b.type === 'text' || b.type === 'code' ? b.text : ''))].filter(Boolean).join(': ');
}
