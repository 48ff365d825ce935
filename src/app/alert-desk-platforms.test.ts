import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import type { Platform } from '../core/request.ts';
import { type FleetEvent, FleetEventLog } from '../queue/fleet-events.ts';
import { AlertDesk } from './alert-desk.ts';

/**
 * Bots with different adapters on one prefix, each running the alert desk (a `xenops bot --terminal` beside the
 * Discord leader is always a leader of its own; with bot.ha off there is one bot per platform): every alert must
 * still reach every alert channel, whichever bot reads it. Real Redis, the desks' own loops.
 */
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

const base = {
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
};

const crashed = (domain: string): FleetEvent => ({
  kind: 'domain.crashed',
  host: 'xen1',
  domain,
  uuid: null,
  byXenops: false,
  at: Date.now(),
});

/** Desks on one prefix, one per set of adapters; what each posted, as `platform:channel title`. */
async function scene(channels: { platform: Platform; id: string }[], bots: Platform[][]) {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const config = Config.parse({ ...base, alerts: { channels, cooldownMinutes: 15 } });
  const posted: string[] = [];
  const desks = bots.map(
    (platforms, i) =>
      new AlertDesk({
        config,
        target: REDIS_URL,
        redis,
        prefix,
        instance: `bot-${i}`,
        platforms: new Set(platforms),
        post: async (platform, channel, r) => {
          posted.push(`${platform}:${channel} ${r.title}`);
        },
        logger: createLogger('silent'),
      }),
  );
  for (const d of desks) await d.start();
  const log = new FleetEventLog(redis, prefix);
  /** Appends the events one at a time, each read and acked by every group on the stream before the next. */
  const append = async (events: FleetEvent[]) => {
    for (const e of events) {
      const id = await log.append(e);
      await expect
        .poll(
          async () => {
            const groups = (await redis.xinfo('GROUPS', log.key)) as (string | number)[][];
            return groups.every((g) => {
              const f = Object.fromEntries(Array.from({ length: g.length / 2 }, (_, k) => [g[2 * k], g[2 * k + 1]]));
              return f['last-delivered-id'] === id && Number(f['pending']) === 0;
            });
          },
          { timeout: 5_000, interval: 20 },
        )
        .toBe(true);
    }
  };
  const stop = () => Promise.all(desks.map((d) => d.stop()));
  return { posted, append, stop };
}

describe('alerts read by bots that cannot post to every alert channel', () => {
  it('GIVEN a terminal-only bot beside the Discord bot THEN every alert still reaches the Discord channel', async () => {
    const s = await scene([{ platform: 'discord', id: '1100' }], [['discord'], ['terminal']]);
    try {
      await s.append(['web', 'db', 'mail', 'dns', 'api', 'log'].map(crashed));
      expect(s.posted).toEqual(['web', 'db', 'mail', 'dns', 'api', 'log'].map((d) => `discord:1100 ${d} crashed on xen1`));
    } finally {
      await s.stop();
    }
  }, 20_000);

  it('GIVEN one bot per platform (bot.ha off) and channels on both THEN each channel gets every alert', async () => {
    const s = await scene(
      [
        { platform: 'discord', id: '1100' },
        { platform: 'telegram', id: '-1002' },
      ],
      [['discord'], ['telegram']],
    );
    try {
      await s.append(['web', 'db', 'mail', 'dns'].map(crashed));
      expect(s.posted.filter((p) => p.startsWith('discord:'))).toEqual(
        ['web', 'db', 'mail', 'dns'].map((d) => `discord:1100 ${d} crashed on xen1`),
      );
      expect(s.posted.filter((p) => p.startsWith('telegram:'))).toEqual(
        ['web', 'db', 'mail', 'dns'].map((d) => `telegram:-1002 ${d} crashed on xen1`),
      );
    } finally {
      await s.stop();
    }
  }, 20_000);
});
