import { randomBytes } from 'node:crypto';
import { COMMANDS } from '../../commands/index.ts';
import type { BotCore, ChatAdapter, ReplyTarget } from '../adapters/types.ts';
import { configSchedules } from '../config/posts-schema.ts';
import type { Config } from '../config/schema.ts';
import type { AnyCommand } from '../core/define-command.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import type { RunsElsewhere } from '../core/moved-away.ts';
import { type ApprovalRule, approvalRule, type PipelineContext } from '../core/pipeline.ts';
import { agentsCheck, probeCheck, type ReadinessCheck } from '../core/readiness.ts';
import type { Reply } from '../core/reply.ts';
import { withTimeout } from '../core/with-timeout.ts';
import { DomainLocks, FleetHosts, Heartbeats, Journal, livenessOf } from '../queue/coordination.ts';
import {
  BullConnection,
  createRedisClient,
  describeRedis,
  pingHolderOf,
  REDIS_COMMAND_TIMEOUT_MS,
  type RedisTarget,
} from '../queue/redis-connection.ts';
import { waitForRedis } from '../queue/redis-ready.ts';
import { SampleStore } from '../queue/samples.ts';
import { deploymentClock } from '../queue/shared-clock.ts';
import { replaceSilentConnection, SilentConnection } from '../queue/silent-connection.ts';
import { ActionStore } from './actions.ts';
import { AlertDesk } from './alert-desk.ts';
import { ApprovalDesk } from './approval-desk.ts';
import { ApprovalStore } from './approvals.ts';
import { AuditLog } from './audit.ts';
import { BotMetrics, type CommandOutcome } from './bot-metrics.ts';
import { BotPeers } from './bot-peers.ts';
import { renderHostChart, sparklineText } from './charts.ts';
import { Dispatcher } from './dispatch.ts';
import { FleetCache } from './fleet-cache.ts';
import { FleetRefresher } from './fleet-refresh.ts';
import { FreezeBook } from './freezes.ts';
import { JobQueues } from './job-queues.ts';
import { BotLeadership, leaderTerm } from './leadership.ts';
import { OnCallStore } from './oncall-store.ts';
import { PendingStore } from './pending-store.ts';
import { PostDesk } from './post-desk.ts';
import { Relay } from './relay.ts';
import { RequestHandler, type SystemRequest } from './requests.ts';
import { findRunsElsewhere } from './runs-elsewhere.ts';
import { tickRefused } from './schedule-access.ts';
import { ScheduleBook, type TickHandler } from './schedules.ts';

export type { SystemRequest };

export interface CreateBotOptions {
  config: Config;
  /** Redis: a URL, or the config's `redis` section (with `cluster: true`, a Redis Cluster). */
  redis: RedisTarget;
  logger: Logger;
  adapters: ChatAdapter[];
  commands?: readonly AnyCommand[];
  /** Which requests need approval; default: the config's approvals policies. */
  approval?: ApprovalRule;
  /** Called with a line to show the user while the bot waits for Redis at start-up (the terminal prints it). */
  onRedisWait?: (line: string) => void;
  /** Where the bot's metrics go (commands, queue depths, approvals pending); default: a registry of its own. */
  metrics?: BotMetrics;
  /** Platforms asked for but not started (no token): /readyz names them. */
  skipped?: readonly { platform: string; reason: string }[];
  /** Overrides of BOT_TIMINGS; tests shorten them. */
  timings?: Partial<BotTimings>;
}

export interface BotTimings {
  /** How long one command of the bot's own connection may go unanswered (ioredis's commandTimeout). */
  redisCommandTimeoutMs: number;
  /** How often the bot says it still runs and checks the config's schedules are in Redis (the relay looks for lost requests every 5 s). */
  checkMs: number;
  /**
   * How long those periodic writes may all time out before the bot's own connection is replaced by a new one: one
   * gone silent while open would otherwise last until TCP gives up, every request answered "Redis is not answering"
   * meanwhile though a new connection works at once. Far longer than a Redis restart's or a busy Redis's silence.
   */
  silentReconnectMs: number;
}

export const BOT_TIMINGS: BotTimings = {
  redisCommandTimeoutMs: REDIS_COMMAND_TIMEOUT_MS,
  checkMs: 5_000,
  silentReconnectMs: 60_000,
};

export interface Bot {
  core: BotCore;
  fleet: FleetCache;
  /** A button for a reply: the request it makes is kept in Redis under the returned opaque id. */
  createAction(command: string, args: Record<string, string | number | boolean>, ttlSeconds?: number): Promise<string>;
  /** The system entry point: runs a command as a person, replying in a channel. Never throws. */
  run(request: SystemRequest): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The bot's metrics (its registry is what /metrics serves). */
  readonly metrics: BotMetrics;
  /** For /readyz: started, Redis answers, a live agent for every host, every chat adapter started and connected. */
  readiness(): Promise<ReadinessCheck[]>;
}

/** Wiring only: constructs the bot's parts and connects them. The logic lives in the modules it imports. */
export async function createBot(options: CreateBotOptions): Promise<Bot> {
  const { config, logger } = options;
  const commands = options.commands ?? COMMANDS;
  const byName: ReadonlyMap<string, AnyCommand> = new Map(commands.map((c) => [c.name, c]));
  // A command's age is judged on Redis's clock (the clock is made below; only read once a request comes).
  const ctx: PipelineContext = { config, commands: byName, sharedTime: (ms) => clock.fromLocal(ms) };
  const approval = options.approval ?? approvalRule(config);
  const prefix = config.redis.prefix;
  const hostNames = Object.keys(config.hosts);
  const instance = randomBytes(3).toString('hex');
  const timings: BotTimings = { ...BOT_TIMINGS, ...options.timings };
  // No offline queue: while Redis is down a request is refused at once instead of hanging; a Redis that does not
  // answer is given REDIS_COMMAND_TIMEOUT_MS.
  const redis = createRedisClient(options.redis, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    lazyConnect: true,
    commandTimeout: timings.redisCommandTimeoutMs,
  });
  redis.on('error', (e) => logger.debug({ err: e.message }, 'redis error (bot)'));
  // Agents and other bots run on other machines: times compared across processes are on Redis's clock.
  const clock = deploymentClock(redis, prefix, logger);
  const bull = new BullConnection(options.redis);
  const connection = bull.options;
  const adapters = new Map(options.adapters.map((a) => [a.platform, a]));
  // bot.ha: Telegram and Discord run only while this bot holds the leader lease; a standby delivers none of their replies.
  const leadership = new BotLeadership({
    config,
    redis: options.redis,
    prefix,
    instance,
    adapters: options.adapters,
    logger,
    silentReconnectMs: timings.silentReconnectMs,
  });
  const audit = new AuditLog(redis, `${prefix}:audit`, config.audit.file, config.audit.streamMaxLen, logger, {
    lingerMs: config.audit.streamLingerMs,
    // Who did what when, in one clock whichever bot (on whichever machine) wrote it.
    now: () => clock.now(),
  });
  const pending = new PendingStore(redis, prefix, instance);
  const locks = new DomainLocks(redis, prefix);
  const heartbeats = new Heartbeats(redis, prefix);
  // The agents' checks across the fleet cover every host of this config, whatever theirs holds.
  const fleetHosts = new FleetHosts(redis, prefix);
  // Bots on one prefix must have the same hosts: one started with others is refused (a running bot counted 3 checks).
  const peers = new BotPeers(redis, prefix, instance, hostNames, 3 * timings.checkMs);
  const actions = new ActionStore(redis, prefix);
  const oncall = new OnCallStore(redis, prefix, config, (e) => audit.append(e));
  const approvals = new ApprovalStore(redis, prefix, () => clock.now());
  // A freeze's end is compared by every bot that queues or delivers a mutation: on the clock they share.
  const freezes = new FreezeBook(
    redis,
    prefix,
    config,
    (e) => audit.append(e),
    () => clock.now(),
  );
  const fleet = new FleetCache(hostNames);
  // Its adding connection, used only by requests, goes silent unseen by the bot's own periodic write: it judges its own,
  // and BullMQ's shared one (no command timeout) is probed at each check (probeShared).
  const queues = new JobQueues(hostNames, bull.client, prefix, logger, {
    commandTimeoutMs: timings.redisCommandTimeoutMs,
    silentReconnectMs: timings.silentReconnectMs,
  });
  // Node's process metrics only when asked for (main.ts): tests and the demo make many bots in one process.
  const metrics = options.metrics ?? new BotMetrics(undefined, { processMetrics: false });
  metrics.attach({
    hosts: hostNames,
    queueCounts: async (host) => (await queues.get(host)?.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed')) ?? {},
    approvalsPending: () => approvals.pendingCount(),
    agentsAlive: async () => {
      const beats = await heartbeats.all();
      const now = clock.now();
      return Object.fromEntries(hostNames.map((h) => [h, livenessOf(beats[h], now, config.bot.agentStaleMs).alive]));
    },
  });
  // Chat text never becomes a label: a command name that is not a command is counted as `unknown`.
  const countCommand = (command: string, outcome: CommandOutcome) => metrics.command(byName.has(command) ? command : 'unknown', outcome);
  const adapterStarted = new Set<ChatAdapter>();

  const deliverOrThrow = async (target: ReplyTarget, r: Reply): Promise<ReplyTarget> => {
    const adapter = adapters.get(target.platform);
    if (!adapter) throw new Error(`no ${target.platform} adapter to deliver a reply to`);
    return adapter.deliver(target, r);
  };
  const deliver = async (target: ReplyTarget, r: Reply): Promise<ReplyTarget> => {
    if (!adapters.has(target.platform)) {
      logger.warn({ platform: target.platform }, 'no adapter to deliver a reply to');
      return target;
    }
    try {
      return await deliverOrThrow(target, r);
    } catch (error) {
      logger.error({ err: redactSecrets(String(error)), requestId: target.requestId }, 'delivery failed');
      return target;
    }
  };

  const samples = new SampleStore(redis, prefix);
  const schedules = new ScheduleBook(redis, connection, prefix, logger);
  const posts = new PostDesk({
    redis,
    prefix,
    config,
    history: (hosts, since) => samples.histories(hosts, since),
    // Loaded on first use: echarts and resvg are only needed when a chart is drawn.
    // The time axis ends now: a host whose sampling stopped shows a gap up to now, not a chart ending in the past.
    chart: (host, points, now) => renderHostChart(host, points, { now }),
    sparkline: (host, points, now) => sparklineText(host, points, { now }),
    pin: async (target) => {
      try {
        await adapters.get(target.platform)?.pin?.(target);
        return true;
      } catch (e) {
        logger.warn({ err: redactSecrets(String(e)) }, 'could not pin the schedule message (tried again at its next post)');
        return false;
      }
    },
    deliverOrThrow,
    clock,
    logger,
    // Called only once a reply is rendered: by then the refresher (made below, on the relay) exists.
    runsElsewhere: (p, command, outcomes): Promise<RunsElsewhere | null> =>
      findRunsElsewhere({ config, fleet, refresher, logger }, p, command, outcomes),
  });

  const relay = new Relay({
    config,
    eventsClient: () => createRedisClient(options.redis, { maxRetriesPerRequest: null }),
    unblockClient: redis,
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
    platforms: leadership.deliverable(adapters.keys()),
    instance,
    liveBots: () => peers.live(),
    deliver,
    posts,
    audit: (e) => audit.append(e),
    onCommand: countCommand,
    freeze: (hosts, by, reason, a) => freezes.hold(hosts, by, reason, a),
    clock,
    logger,
  });
  const alerts = new AlertDesk({
    config,
    target: options.redis,
    redis,
    prefix,
    fleet,
    instance,
    platforms: new Set(adapters.keys()),
    post: async (platform, channelId, r) => {
      await adapters.get(platform)?.post(channelId, r);
    },
    logger,
  });
  const localPlatforms = new Set(options.adapters.filter((a) => a.processLocal).map((a) => a.platform));
  const dispatcher = new Dispatcher({
    config,
    queues,
    pending,
    locks,
    heartbeats,
    instance,
    localPlatforms,
    frozen: (hosts) => freezes.frozen(hosts),
    track: (p, advance, unanswered) => relay.track(p, advance, unanswered),
    expect: (p) => relay.expect(p),
    announce: (p, r, saved, held) => relay.announce(p, r, saved, held),
    settled: (id) => relay.settled(id),
    clock,
    logger,
    heardRunning: (host, domain) => fleet.domains(host).some((x) => x.name === domain && x.status !== 'defined'),
  });
  const desk = new ApprovalDesk({
    config,
    store: approvals,
    fleet,
    actions,
    commands: byName,
    // A standby's Discord and Telegram are not its to post to: approval channels there are left to the leader.
    platforms: leadership.deliverable(adapters.keys()),
    local: localPlatforms,
    refresh: async (hosts) => {
      await refresher.refresh(hosts, Math.min(config.bot.readTimeoutMs, 5_000));
    },
    enqueue: (req, target, d, extraMeta) => dispatcher.enqueue(req, target, d, extraMeta),
    deliver,
    deliverOrThrow,
    audit: (e) => audit.append(e),
    // On Redis's clock, as /oncall reads it: another bot's overrides end, and handoffs fall, at the same moment here.
    onCall: async () => {
      const now = (await oncall.view(new Date(clock.now()))).now;
      return now ? [now.person, ...now.also] : [];
    },
    nextOnCall: async () => (await oncall.view(new Date(clock.now()))).next?.person ?? null,
    wasQueued: async (requestId) => (await pending.gone([requestId])).get(requestId) !== 'lost',
    // No adapter of the platform here (a terminal bot beside a Discord one): the requester's roles now are unknown.
    currentRoles: (platform, userId) => {
      const adapter = adapters.get(platform);
      if (!adapter) return Promise.resolve({ ok: false as const, reason: `this bot has no ${platform} adapter` });
      return adapter.currentRoles ? adapter.currentRoles(userId) : null;
    },
    now: () => clock.now(),
    logger,
  });
  const refresher = new FleetRefresher(
    { config, queues, heartbeats, awaitJob: (id, ms, op, host) => relay.awaitJob(id, ms, op, host), clock, logger },
    instance,
  );

  const requests = new RequestHandler({
    config,
    commands,
    ctx,
    approval,
    instance,
    isRedisReady: () => redis.status === 'ready',
    fleet,
    refresher,
    dispatcher,
    desk,
    freezes,
    oncall,
    actions,
    audit,
    schedules,
    pending,
    deliver,
    onCommand: countCommand,
    clock,
    logger,
  });
  const core = requests.core;

  const timers: NodeJS.Timeout[] = [];
  let started = false;
  // A connection gone silent while open: the periodic "still running" write, on the bot's own connection, finds it.
  const silence = new SilentConnection(timings.silentReconnectMs);
  let stopping = false;
  const renewPeers = () => {
    const sentAt = performance.now();
    peers.renew().then(
      () => silence.answered(),
      (e: unknown) => {
        logger.debug({ err: String(e) }, 'could not say this bot still runs');
        const silentFor = silence.failed(e, sentAt, performance.now());
        // After stop() its disconnect is for good: replacing would connect it again.
        if (silentFor === null || stopping) return;
        logger.warn(
          { silentMs: Math.round(silentFor) },
          "Redis answered none of the bot's periodic writes on its connection for this long (each timed out); replacing the connection",
        );
        // Its flows most likely went with it (a NAT or firewall forgets them all at once): the connections that would
        // not find out by themselves are replaced too, the ones that only listen (the alert reader's blocking read,
        // the approval news subscriber) among them. The hosts' event reader and BullMQ's Workers' blocking
        // connections have watchdogs of their own.
        replaceSilentConnection(redis);
        queues.replaceSilentConnections();
        leadership.replaceSilentConnection();
        alerts.replaceSilentConnection();
        approvals.replaceSilentConnection();
      },
    );
  };
  return {
    core,
    fleet,
    createAction: (command, args, ttl) => actions.create(command, args, ttl),
    metrics,
    async readiness() {
      // Each check within its own second, so a silent Redis is named as such rather than timing out the whole report.
      const ping = probeCheck('redis', async () => `PING ${await pingHolderOf(redis, prefix)}`, 1_000);
      const agents = withTimeout(heartbeats.all(), 1_000, 'no answer within 1 s').then(
        (beats) => agentsCheck(hostNames, beats, clock.now(), config.bot.agentStaleMs),
        (e: unknown): ReadinessCheck => ({ name: 'agents', ok: false, detail: `heartbeats unreadable: ${redactSecrets(String(e))}` }),
      );
      const lead = withTimeout(
        leadership.checks(
          [...adapters.values()].map((a) => ({ platform: a.platform, started: adapterStarted.has(a), connected: a.connected?.() })),
          options.skipped,
        ),
        1_000,
        'no answer within 1 s',
      ).catch((e: unknown): ReadinessCheck[] => [
        { name: 'leader', ok: false, detail: `the lease could not be read: ${redactSecrets(String(e))}` },
      ]);
      return [
        { name: 'started', ok: started, detail: started ? 'started' : 'starting (waiting for Redis, or stopping)' },
        await ping,
        await agents,
        ...(await lead),
      ];
    },
    run: (r) => requests.run(r),
    async start() {
      stopping = false;
      await redis.connect().catch(() => {});
      await waitForRedis(redis, describeRedis(options.redis), logger, { onWaiting: options.onRedisWait });
      await clock.start();
      // Before anything is recovered: a bot without a host would withdraw the jobs another bot queued there.
      await peers.join();
      await fleetHosts.publish(hostNames);
      await relay.start();
      for (const adapter of adapters.values()) {
        if (leadership.leases(adapter)) continue; // started by the leader's term
        await adapter.start(core);
        adapterStarted.add(adapter);
      }
      // The config's schedules in Redis (those removed from the file go), then this bot takes its platforms' ticks.
      const { removed } = await schedules.syncConfig(configSchedules(config.schedules));
      if (removed.length > 0) logger.info({ removed }, 'schedules no longer in the config removed');
      // A Redis that lost its data (a restart without it, a flush, a failover) lost them too, and nothing would post
      // again until a restart: checked as often as lost requests are, and put back (those added from chat are gone
      // with their specs; one whose spec is kept but whose BullMQ scheduler is gone is scheduled again).
      const keepSchedules = setInterval(() => {
        fleetHosts.publish(hostNames).catch((e: unknown) => logger.debug({ err: String(e) }, 'could not write the fleet hosts'));
        renewPeers();
        void queues.probeShared();
        schedules
          .syncConfig(configSchedules(config.schedules))
          .then(({ written }) => {
            if (written.length > 0)
              logger.warn({ schedules: written }, 'schedules missing their BullMQ scheduler in Redis (it lost data?): put back');
          })
          .catch((e: unknown) => logger.debug({ err: String(e) }, 'could not check the config schedules'));
      }, timings.checkMs);
      keepSchedules.unref();
      timers.push(keepSchedules);
      // A channel the config no longer lets the post into (or narrowed since), or a schedule whose owner or host left
      // the config, gets nothing: said once per schedule in the log, and named by /schedule list.
      const skipped = new Set<string>();
      const tick: TickHandler = async (spec, tickId) => {
        const refused = tickRefused(config, spec);
        if (refused) {
          if (!skipped.has(spec.id)) logger.warn({ schedule: spec.id, reason: refused }, 'schedule not posted');
          skipped.add(spec.id);
          return 'skipped';
        }
        skipped.delete(spec.id);
        await requests.run({
          command: spec.what,
          args: spec.host ? { host: spec.host } : {},
          as: spec.owner,
          channel: spec.channel,
          requestId: tickId,
          schedule: { id: spec.id, mode: spec.mode },
        });
        return 'posted';
      };
      await schedules.startWorkers(
        [...adapters.keys()].filter((p) => !leadership.leased.has(p)),
        tick,
      );
      // The leader's part (every bot's without bot.ha): leased adapters, recovery, adopted approval timers, alerts, ticks.
      await leadership.start(
        leaderTerm({
          adapters: options.adapters.filter((a) => leadership.leases(a)),
          core,
          started: adapterStarted,
          relay,
          desk,
          alerts,
          schedules: () => new ScheduleBook(redis, connection, prefix, logger),
          platforms: leadership.leased,
          tick,
          logger,
        }),
      );
      started = true;
      // Back from an outage: append the audit entries Redis missed, and take in what finished meanwhile.
      redis.on('ready', () => {
        if (!started) return;
        logger.warn('Redis is reachable again: catching up on what finished meanwhile');
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
      stopping = true;
      for (const t of timers) clearInterval(t);
      // The leader's term first (its adapters stopped), then the lease is given up: a standby takes over at once.
      await leadership.stop();
      desk.stop();
      await schedules.close();
      await alerts.stop();
      for (const adapter of adapters.values())
        if (!leadership.leases(adapter)) await adapter.stop().catch((e: unknown) => logger.warn({ err: String(e) }, 'adapter stop failed'));
      await relay.stop();
      await queues.close();
      bull.close();
      await audit.close();
      await peers.leave().catch((e: unknown) => logger.debug({ err: String(e) }, 'could not say this bot stopped'));
      clock.stop();
      redis.disconnect();
    },
  };
}
