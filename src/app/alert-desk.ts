import type { Config } from '../config/schema.ts';
import { type Alert, alertFor } from '../core/alerts.ts';
import type { Logger } from '../core/log.ts';
import { type Reply, reply } from '../core/reply.ts';
import type { Platform } from '../core/request.ts';
import { type FleetEventEntry, FleetEventLog } from '../queue/fleet-events.ts';
import { createRedisClient, type RedisClient, type RedisTarget } from '../queue/redis-connection.ts';

const GROUP = 'alerts';
/** An event a consumer took but never acked (it died) is taken over after this long. */
const STALE_MS = 30_000;

export interface AlertDeskDeps {
  config: Config;
  /** Where Redis is: the desk opens one connection of its own, as its reads block. */
  target: RedisTarget;
  /** The bot's shared connection: cool-down keys. */
  redis: RedisClient;
  prefix: string;
  /** This bot's consumer name in the group. */
  instance: string;
  /** Platforms this bot has an adapter for: alerts for other platforms' channels are left to bots that have one. */
  platforms: ReadonlySet<Platform>;
  post: (platform: Platform, channelId: string, r: Reply) => Promise<void>;
  logger: Logger;
}

/**
 * Turns the agents' fleet events into alerts in the configured channels, at once: one consumer group across the
 * bot replicas (each event handled by one), a cool-down per alert in Redis (the same crash is posted once however
 * many events say so), and events a dead bot took are taken over.
 */
export class AlertDesk {
  private reader: RedisClient | null = null;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly deps: AlertDeskDeps) {}

  async start(): Promise<void> {
    const { config, target, prefix } = this.deps;
    if (!config.alerts.enabled) return;
    this.reader = createRedisClient(target, { maxRetriesPerRequest: null });
    this.reader.on('error', (e) => this.deps.logger.debug({ err: e.message }, 'redis error (alerts)'));
    const log = new FleetEventLog(this.reader, prefix);
    await log.ensureGroup(GROUP);
    this.running = true;
    this.loop = this.run(log);
  }

  private async run(log: FleetEventLog): Promise<void> {
    let lastClaim = 0;
    // The last entry read: where the group is made again if Redis loses it.
    let lastId: string | null = null;
    while (this.running) {
      try {
        const entries = await log.read(GROUP, this.deps.instance, { count: 50, blockMs: 2_000 });
        // Read in stream order (the stale ones claimed below may be older).
        lastId = entries.at(-1)?.id ?? lastId;
        if (Date.now() - lastClaim > STALE_MS) {
          lastClaim = Date.now();
          entries.push(...(await log.claimStale(GROUP, this.deps.instance, STALE_MS)));
        }
        for (const entry of entries) await this.handle(entry);
        await log.ack(
          GROUP,
          entries.map((e) => e.id),
        );
      } catch (error) {
        if (!this.running) return;
        if (String(error).includes('NOGROUP')) {
          // The group went with Redis's data (a restart without it, a flush, a failover), or was deleted: read without
          // it, every read would fail from then on. Made again after the last entry read — a stream Redis made anew
          // holds only later ids, one that stayed is not read twice — and read again after the pause below.
          await log.ensureGroup(GROUP, lastId ?? '0').then(
            () => this.deps.logger.warn('alerts: the fleet events group is gone (Redis lost its data?): made again'),
            (e: unknown) =>
              this.deps.logger.warn({ err: String(e) }, 'alerts: the fleet events group is gone and could not be made again; retrying'),
          );
        } else this.deps.logger.warn({ err: String(error) }, 'alerts: reading fleet events failed; retrying');
        await new Promise((r) => setTimeout(r, 1_000));
      }
    }
  }

  /** Posts the event's alert unless it is in its cool-down; a failed post is logged, never retried in a loop. */
  async handle(entry: FleetEventEntry): Promise<void> {
    const { config, redis, prefix, platforms } = this.deps;
    const alert = alertFor(entry.event);
    if (!alert) return;
    const channels = config.alerts.channels.filter((c) => platforms.has(c.platform));
    if (channels.length === 0) {
      this.deps.logger.warn({ alert: alert.reply.title }, 'alert (no alert channel configured for this bot)');
      return;
    }
    const cooldownMs = config.alerts.cooldownMinutes * 60_000;
    if (cooldownMs > 0) {
      // What was said last about the subject: a change of it (down after up) is posted whatever the cool-down — up to
      // FLAP_LIMIT changes per cool-down; one more says it flaps, and the rest wait for the cool-down to end.
      const last = await redis.set(`${prefix}:alert-last:${alert.subject}`, alert.key, 'PX', cooldownMs, 'GET');
      const cooldown = `${prefix}:alert-cooldown:${alert.key}`;
      if (last !== alert.key) {
        const flapKey = `${prefix}:alert-changes:${alert.subject}`;
        // Counted and bounded in one transaction: a counter left without its expiry would mute the subject for good.
        const [[, counted], [, left]] = (await redis.multi().incr(flapKey).pttl(flapKey).exec()) as [[null, number], [null, number]];
        const changes = Number(counted);
        if (Number(left) < 0) await redis.pexpire(flapKey, cooldownMs);
        if (changes > FLAP_LIMIT) {
          if (changes === FLAP_LIMIT + 1)
            await this.postAll(channels, flapping(entry, alert, changes, cooldownMs, await redis.pttl(flapKey)));
          return;
        }
        await redis.set(cooldown, String(entry.event.at), 'PX', cooldownMs);
      } else if ((await redis.set(cooldown, String(entry.event.at), 'PX', cooldownMs, 'NX')) === null) return;
    }
    await this.postAll(channels, alert.reply);
  }

  private async postAll(channels: readonly { platform: Platform; id: string }[], r: Reply): Promise<void> {
    for (const c of channels) {
      try {
        await this.deps.post(c.platform, c.id, r);
      } catch (error) {
        this.deps.logger.error({ err: String(error), channel: `${c.platform}:${c.id}` }, 'alert could not be posted');
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    this.reader?.disconnect();
    await this.loop?.catch(() => {});
  }
}

/** Changes of one subject posted per cool-down before it is said to flap. */
const FLAP_LIMIT = 4;

/** "web on xen1 is flapping": its alerts wait for the cool-down; the latest is named, so nobody reads an old one as now. */
function flapping(entry: FleetEventEntry, latest: Alert, changes: number, cooldownMs: number, leftMs: number): Reply {
  const e = entry.event;
  const what = 'domain' in e ? `${e.domain} on ${e.host}` : e.host;
  const until = new Date(Date.now() + Math.max(0, leftMs)).toISOString().slice(11, 16);
  return reply.result(
    `${what} is flapping`,
    [
      reply.text(
        `${changes} changes within ${Math.round(cooldownMs / 60_000)} min; the latest: ${latest.reply.title}. Further changes of it are not posted until ${until} UTC — check it now.`,
      ),
    ],
    { tone: 'warning' },
  );
}
