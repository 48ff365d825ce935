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

/**
 * Each platform's group reads at its own pace (one bot restarting, one platform's posts being retried): what a
 * channel is told must not depend on what another platform's group handled first.
 */
describe('alerts read by one group per platform, one group behind the other', () => {
  const flip = (i: number): FleetEvent =>
    i % 2 === 0
      ? { kind: 'domain.stopped', host: 'xen1', domain: 'mail', uuid: null, byXenops: false, at: Date.now() }
      : { kind: 'domain.started', host: 'xen1', domain: 'mail', uuid: null, byXenops: false, at: Date.now() };

  /** The Telegram bot down while the Discord bot handles `events`; then started again, it catches up. */
  async function behind(events: FleetEvent[]) {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = Config.parse({
      ...base,
      alerts: {
        channels: [
          { platform: 'discord', id: '1100' },
          { platform: 'telegram', id: '-1002' },
        ],
        cooldownMinutes: 15,
      },
    });
    const posted: { platform: Platform; title: string; text: string }[] = [];
    const desk = (platform: Platform, instance: string) =>
      new AlertDesk({
        config,
        target: REDIS_URL,
        redis,
        prefix,
        instance,
        platforms: new Set([platform]),
        post: async (p, _channel, r) => {
          posted.push({ platform: p, title: r.title, text: JSON.stringify(r.blocks) });
        },
        logger: createLogger('silent'),
      });
    const log = new FleetEventLog(redis, prefix);
    const settled = (group: string, id: string) =>
      expect
        .poll(
          async () => {
            const groups = (await redis.xinfo('GROUPS', log.key)) as (string | number)[][];
            const g = groups.find((x) => x[1] === group) ?? [];
            const f = Object.fromEntries(Array.from({ length: g.length / 2 }, (_, k) => [g[2 * k], g[2 * k + 1]]));
            return f['last-delivered-id'] === id && Number(f['pending']) === 0;
          },
          { timeout: 10_000, interval: 20 },
        )
        .toBe(true);
    const discord = desk('discord', 'discord-bot');
    const telegram = desk('telegram', 'telegram-bot-1');
    await discord.start();
    await telegram.start();
    await telegram.stop();
    const again = desk('telegram', 'telegram-bot-2');
    try {
      let last = '';
      for (const e of events) last = await log.append(e);
      await settled('alerts:discord', last);
      await again.start();
      await settled('alerts:telegram', last);
    } finally {
      await Promise.all([discord.stop(), again.stop()]);
    }
    const on = (p: Platform) => posted.filter((x) => x.platform === p).map(({ title, text }) => ({ title, text }));
    return { discord: on('discord'), telegram: on('telegram') };
  }

  it('GIVEN web crashed then was started by hand THEN Telegram is told as Discord, with no "Posted late" note', async () => {
    const { discord, telegram } = await behind([
      crashed('web'),
      { kind: 'domain.started', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: Date.now() },
    ]);
    expect(discord.map((p) => p.title)).toEqual(['web crashed on xen1', 'web started on xen1']);
    expect(telegram).toEqual(discord);
    expect(JSON.stringify(telegram)).not.toContain('Posted late');
  }, 30_000);

  it('GIVEN mail flapping THEN Telegram gets the same four changes and the flapping notice as Discord', async () => {
    const { discord, telegram } = await behind(Array.from({ length: 7 }, (_, i) => flip(i)));
    expect(discord.map((p) => p.title)).toEqual([
      'mail stopped on xen1',
      'mail started on xen1',
      'mail stopped on xen1',
      'mail started on xen1',
      'mail on xen1 is flapping',
    ]);
    expect(telegram.map((p) => p.title)).toEqual(discord.map((p) => p.title));
  }, 30_000);
});
