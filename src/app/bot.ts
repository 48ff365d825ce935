import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { COMMANDS } from '../../commands/index.ts';
import type { ActionClick, BotCore, ChatAdapter, ReplyTarget } from '../adapters/types.ts';
import type { Config, Platform } from '../config/schema.ts';
import { type AnyCommand, commandSpec, commandSpecs } from '../core/define-command.ts';
import { describeFreeze } from '../core/freeze.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import {
  type ApprovalRule,
  approvalRule,
  type Decision,
  decide,
  describeTargets,
  isRejection,
  type PipelineContext,
  type Rejection,
  reject,
} from '../core/pipeline.ts';
import { type Reply, reply } from '../core/reply.ts';
import type { ChatRequest } from '../core/request.ts';
import { DomainLocks, Heartbeats, Journal } from '../queue/coordination.ts';
import { ActionStore } from './actions.ts';
import { ApprovalDesk } from './approval-desk.ts';
import { ApprovalStore } from './approvals.ts';
import { AuditLog } from './audit.ts';
import { autocompleteChoices } from './autocomplete.ts';
import { Dispatcher, PartialEnqueue, Refusal } from './dispatch.ts';
import { FleetCache } from './fleet-cache.ts';
import { FleetRefresher } from './fleet-refresh.ts';
import { FreezeBook } from './freezes.ts';
import { JobQueues } from './job-queues.ts';
import { OnCallStore } from './oncall-store.ts';
import { PendingStore } from './pending-store.ts';
import { isRedisDown, RedisUnavailableError, waitForRedis } from './redis-wait.ts';
import { Relay } from './relay.ts';

export interface CreateBotOptions {
  config: Config;
  /** Redis URL. */
  redis: string;
  logger: Logger;
  adapters: ChatAdapter[];
  commands?: readonly AnyCommand[];
  /** Which requests need approval; default: the config's approvals policies. */
  approval?: ApprovalRule;
  /** Called with a line to show the user while the bot waits for Redis at start-up (the terminal prints it). */
  onRedisWait?: (line: string) => void;
}

/** A request xenops makes itself (a schedule, an approved request resuming): no chat event behind it. */
export interface SystemRequest {
  command: string;
  /** Text as typed after the command, or structured options. */
  args?: string | Record<string, string | number | boolean>;
  /** The config person it acts as: identified and authorized as that person. */
  as: string;
  /** Where the replies go. */
  channel: { platform: Platform; id: string };
  /** Stable id (a schedule tick's id makes a re-run harmless); generated when absent. */
  requestId?: string;
}

export interface Bot {
  core: BotCore;
  fleet: FleetCache;
  /** A button for a reply: the request it makes is kept in Redis under the returned opaque id. */
  createAction(command: string, args: Record<string, string | number | boolean>, ttlSeconds?: number): Promise<string>;
  /** The system entry point: runs a command as a person, replying in a channel. Never throws. */
  run(request: SystemRequest): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Wiring only: constructs the bot's parts and connects them. The logic lives in the modules it imports. */
export async function createBot(options: CreateBotOptions): Promise<Bot> {
  const { config, logger } = options;
  const commands = options.commands ?? COMMANDS;
  const byName: ReadonlyMap<string, AnyCommand> = new Map(commands.map((c) => [c.name, c]));
  const ctx: PipelineContext = { config, commands: byName };
  const approval = options.approval ?? approvalRule(config);
  const prefix = config.redis.prefix;
  const hostNames = Object.keys(config.hosts);
  const instance = randomBytes(3).toString('hex');
  // No offline queue: while Redis is down a request is refused at once instead of hanging.
  const redis = new Redis(options.redis, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true });
  redis.on('error', (e) => logger.debug({ err: e.message }, 'redis error (bot)'));
  const connection = { url: options.redis };
  const adapters = new Map(options.adapters.map((a) => [a.platform, a]));
  const audit = new AuditLog(redis, `${prefix}:audit`, config.audit.file, config.audit.streamMaxLen, logger);
  const pending = new PendingStore(redis, prefix);
  const locks = new DomainLocks(redis, prefix);
  const heartbeats = new Heartbeats(redis, prefix);
  const actions = new ActionStore(redis, prefix);
  const oncall = new OnCallStore(redis, prefix, config, (e) => audit.append(e));
  const approvals = new ApprovalStore(redis, prefix);
  const freezes = new FreezeBook(redis, prefix, config, (e) => audit.append(e));
  const fleet = new FleetCache(hostNames);
  const queues = new JobQueues(hostNames, connection, prefix, logger);

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

  const relay = new Relay({
    config,
    connection,
    prefix,
    hostNames,
    queues,
    pending,
    locks,
    heartbeats,
    journal: new Journal(redis, prefix),
    frozen: (hosts) => freezes.frozen(hosts),
    fleet,
    commands: byName,
    platforms: new Set(adapters.keys()),
    instance,
    deliver,
    audit: (e) => audit.append(e),
    logger,
  });
  const localPlatforms = new Set(options.adapters.filter((a) => a.processLocal).map((a) => a.platform));
  const dispatcher = new Dispatcher({
    config,
    queues,
    pending,
    locks,
    heartbeats,
    deliver,
    instance,
    localPlatforms,
    frozen: (hosts) => freezes.frozen(hosts),
    track: (p) => relay.track(p),
  });
  const desk = new ApprovalDesk({
    config,
    store: approvals,
    fleet,
    actions,
    commands: byName,
    platforms: new Set(adapters.keys()),
    refresh: async (hosts) => {
      await refresher.refresh(hosts, Math.min(config.bot.readTimeoutMs, 5_000));
    },
    enqueue: (req, target, d, extraMeta) => dispatcher.enqueue(req, target, d, extraMeta),
    deliver,
    audit: (e) => audit.append(e),
    onCall: async () => {
      const now = (await oncall.view(new Date())).now;
      return now ? [now.person, ...now.also] : [];
    },
    nextOnCall: async () => (await oncall.view(new Date())).next?.person ?? null,
    logger,
  });
  const refresher = new FleetRefresher({ config, queues, heartbeats, awaitJob: (id, ms) => relay.awaitJob(id, ms), logger }, instance);

  const auditBase = (req: ChatRequest, person: string | null) => ({
    requestId: req.id,
    person,
    platform: req.platform,
    userId: req.actor.userId,
    channelId: req.channel.id,
    command: req.command,
    args: req.args.kind === 'text' ? req.args.text : JSON.stringify(req.args.options),
  });

  /** The pure pipeline, with one fleet lookup when a name is not in the cache. */
  async function decideWithLookup(req: ChatRequest): Promise<Decision> {
    const first = decide(ctx, req, fleet, false, approval);
    if (first.kind !== 'lookup') return first;
    const { unanswered } = await refresher.refresh(first.hosts, Math.min(config.bot.readTimeoutMs, 15_000));
    const second = decide(ctx, req, fleet, true, approval);
    if (second.kind === 'lookup') return reject('Something went wrong', 'the fleet lookup did not settle', first.evaluated.person.id);
    // "No such domain" is only true when every host answered.
    if (isRejection(second) && second.code === 'notFound' && unanswered.length > 0)
      return reject('Cannot look that up', unanswered.map((u) => u.message).join('; '), second.person);
    return second;
  }

  async function refuse(req: ChatRequest, target: ReplyTarget, r: Rejection): Promise<void> {
    await audit.append({ ...auditBase(req, r.person), event: 'decision', decision: 'rejected', detail: r.reason });
    await deliver(target, r.reply);
  }

  async function handle(req: ChatRequest, target: ReplyTarget): Promise<void> {
    let person: string | null = null;
    try {
      if (redis.status !== 'ready') throw new RedisUnavailableError('not connected');
      const d = await decideWithLookup(req);
      if (d.kind === 'reject') return await refuse(req, target, d);
      person = d.evaluated.person.id || null;
      await audit.append({ ...auditBase(req, person), event: 'request', ...('jobs' in d ? { targets: d.jobs } : {}) });
      switch (d.kind) {
        case 'local': {
          const me = d.evaluated.person;
          const r = await d.command.run(d.evaluated.args as never, {
            person: me.id || null,
            platformUserId: req.actor.userId,
            platform: req.platform,
            roles: me.roles,
            oncall: oncall.forRequest(req, me, auditBase(req, person)),
            freezes: {
              zone: config.oncall?.timezone ?? 'UTC',
              freeze: (hosts, until, why) => freezes.freeze(me, expandAll(hosts), until, why, auditBase(req, person)),
              unfreeze: (hosts) => freezes.unfreeze(me, expandAll(hosts), auditBase(req, person)),
            },
            approvals: {
              // The answer is for the one who decided: private, so it never replaces the shared card.
              approve: async (id) => ({ ...(await desk.approve(id, me, req.platform)), private: true }),
              deny: async (id, why) => ({ ...(await desk.deny(id, me, why)), private: true }),
            },
            allowedCommands: () => allowedFor(req).map(commandSpec),
            readAudit: (query) => audit.recent(query),
          });
          await deliver(target, r);
          return;
        }
        case 'needsApproval': {
          // A frozen host is refused before anyone is asked to approve.
          const frozen = await freezes.frozen([
            ...new Set([...d.jobs.map((j) => j.host), ...(d.command.touches?.(d.evaluated.args) ?? [])]),
          ]);
          if (frozen.length > 0) return await refuse(req, target, reject('Frozen', frozen.map(describeFreeze).join('; '), person));
          await desk.request(req, target, d);
          return;
        }
        case 'enqueue':
          try {
            await dispatcher.enqueue(req, target, d);
          } catch (error) {
            if (error instanceof Refusal) return await refuse(req, target, reject(error.title, error.message, person));
            if (error instanceof PartialEnqueue) {
              logger.error({ err: redactSecrets(String(error.cause)), requestId: req.id }, 'Redis failed while queueing');
              await deliver(
                target,
                reply.progress(
                  `/${d.command.name}`,
                  `Redis failed while queueing: only ${error.queuedOn.join(', ')} got the job; their results will follow here`,
                ),
              );
              return;
            }
            throw error;
          }
          await audit.append({
            ...auditBase(req, person),
            event: 'decision',
            decision: 'allowed',
            detail: `risk ${d.evaluated.risk}; ${describeTargets(d.targets)}`,
            targets: d.jobs,
          });
          return;
        default:
          return d satisfies never;
      }
    } catch (error) {
      if (isRedisDown(error)) {
        logger.error({ err: redactSecrets(String(error)), requestId: req.id }, 'request refused: Redis is unreachable');
        await audit.append({ ...auditBase(req, person), event: 'decision', decision: 'rejected', detail: 'Redis unreachable' });
        await deliver(target, reply.error('Redis is unreachable', 'nothing was queued; try again when it is back'));
        return;
      }
      logger.error(
        { err: redactSecrets(error instanceof Error ? (error.stack ?? error.message) : String(error)), requestId: req.id },
        'request failed',
      );
      await deliver(target, reply.error('Something went wrong', 'xenops hit an internal error; the operators can find it in the bot log'));
    }
  }

  function allowedFor(req: ChatRequest): AnyCommand[] {
    return commands.filter((c) => {
      const probe = decide(ctx, { ...req, command: c.name, args: { kind: 'options', options: {} } }, fleet, true);
      // Allowed = not refused for identity, channel or permission (missing arguments are fine for help).
      return !(isRejection(probe) && /^Not allowed|^Unknown command/.test(probe.reason));
    });
  }

  const core: BotCore = {
    commandSpecs: () => commandSpecs(commands),
    precheck(req) {
      try {
        const d = decide(ctx, req, fleet, false, approval);
        // Only what needs no I/O: identity, channel, arguments, the permission dry run.
        return isRejection(d) && d.code !== 'notFound' ? d.reply : null;
      } catch (error) {
        logger.error({ err: String(error) }, 'precheck failed');
        return reply.error('Something went wrong', 'xenops hit an internal error');
      }
    },
    handle,
    autocomplete(actor, _channel, commandName, option, partial) {
      try {
        return autocompleteChoices(config, fleet, byName.get(commandName), actor, option, partial);
      } catch (error) {
        logger.error({ err: String(error) }, 'autocomplete failed');
        return [];
      }
    },
    async handleAction(click: ActionClick, target: ReplyTarget) {
      try {
        const req = await actions.toRequest(click);
        if (!req) {
          await deliver(target, reply.error('This button has expired', 'run the command again'));
          return;
        }
        await handle(req, target);
      } catch (error) {
        logger.error({ err: redactSecrets(String(error)) }, 'action failed');
        await deliver(target, reply.error('Something went wrong', 'xenops hit an internal error'));
      }
    },
  };

  const expandAll = (hosts: string[]) => (hosts.includes('all') ? hostNames : hosts);

  let systemCounter = 0;
  async function run(r: SystemRequest): Promise<void> {
    const id = r.requestId ?? `sys-${instance}-${Date.now()}-${++systemCounter}`;
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
    };
    await handle(req, { platform: r.channel.platform, channelId: r.channel.id, requestId: id, state: {} });
  }

  const timers: NodeJS.Timeout[] = [];
  let started = false;
  return {
    core,
    fleet,
    createAction: (command, args, ttl) => actions.create(command, args, ttl),
    run,
    async start() {
      await redis.connect().catch(() => {});
      await waitForRedis(redis, options.redis, logger, options.onRedisWait);
      await relay.start();
      for (const adapter of adapters.values()) await adapter.start(core);
      await relay.recover();
      await desk.start();
      started = true;
      // Back from an outage: append the audit entries Redis missed, and take in what finished meanwhile.
      redis.on('ready', () => {
        if (!started) return;
        void audit.flush();
        void relay.recover().catch((e: unknown) => logger.error({ err: String(e) }, 'recovery after a Redis outage failed'));
      });
      // Fill the fleet cache in the background: lookups and autocomplete answer from memory.
      const refresh = () =>
        void refresher
          .refresh(hostNames, config.bot.readTimeoutMs)
          .catch((e: unknown) => logger.debug({ err: String(e) }, 'fleet refresh failed'));
      refresh();
      const refresher_ = setInterval(refresh, config.bot.fleetRefreshMs);
      refresher_.unref();
      timers.push(refresher_);
    },
    async stop() {
      started = false;
      for (const t of timers) clearInterval(t);
      desk.stop();
      for (const adapter of adapters.values())
        await adapter.stop().catch((e: unknown) => logger.warn({ err: String(e) }, 'adapter stop failed'));
      await relay.stop();
      await queues.close();
      redis.disconnect();
    },
  };
}
