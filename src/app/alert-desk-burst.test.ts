import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTelegram } from '../../test/helpers/fake-telegram/server.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { TelegramAdapter } from '../adapters/telegram/index.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import { type FleetEvent, FleetEventLog } from '../queue/fleet-events.ts';
import { AlertDesk } from './alert-desk.ts';

/**
 * A burst of alerts into a Telegram group, which takes about 20 messages a minute from a bot: the adapter holds the
 * rest in its queue, longer than the desk's post deadline. Real Redis, the real Telegram adapter on the fake Bot API.
 */
const TOKEN = '123456785:AAburstTOKENburstTOKENburstTOKEN000';
const GROUP = '-1004545454545';
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);
const fake = new FakeTelegram(TOKEN);
beforeAll(() => fake.start());
afterAll(async () => {
  redis.disconnect();
  await fake.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

const crashed = (domain: string): FleetEvent => ({
  kind: 'domain.crashed',
  host: 'xen1',
  domain,
  uuid: null,
  byXenops: false,
  at: Date.now(),
});

describe('a burst of alerts into a rate-capped Telegram group', () => {
  it('never gives up an alert it never tried to post: one held back because the channel was busy is not a try', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = Config.parse({
      hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
      roles: { admin: { allow: ['*'] } },
      people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
      telegram: { token: TOKEN, apiRoot: fake.apiRoot },
      alerts: { channels: [{ platform: 'telegram', id: GROUP }], cooldownMinutes: 15 },
    });
    // Two a minute: the third waits ~60 s in the adapter's queue, well past the desk's deadline.
    const adapter = new TelegramAdapter({ config, logger: createLogger('silent'), minIntervalMs: 0, groupPerMinute: 2 });
    const lines: Record<string, unknown>[] = [];
    let wake = () => {};
    const logger = createLogger('debug', {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        wake();
      },
    });
    const tried: string[] = [];
    const desk = new AlertDesk({
      config,
      target: REDIS_URL,
      redis,
      prefix,
      instance: 'bot-a',
      platforms: new Set(['telegram']),
      post: async (_platform, channel, r) => {
        tried.push(r.title);
        await adapter.post(channel, r);
      },
      logger,
      retryMs: 100,
      postTimeoutMs: 300,
      // Each try posts the timed-out alert again, as it does once its post has been out too long (hung for good):
      // real tries, ten of them, while the alerts behind it are only held back.
      repostAfterMs: 0,
    });
    await desk.start();
    try {
      const log = new FleetEventLog(redis, prefix);
      const domains = ['web', 'db', 'mail', 'dns', 'api'];
      const ids = new Map<string, string>();
      const m = redis.multi();
      for (const d of domains) m.xadd(log.key, '*', 'data', JSON.stringify(crashed(d)));
      for (const [i, [, id]] of ((await m.exec()) as [null, string][]).entries()) ids.set(id, domains[i] as string);
      const givenUp = () => lines.filter((l) => l['msg'] === 'alert given up: never posted');
      // Ten tries, each after a read that waits up to 2 s for news: ~25 s.
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nothing given up; tried: ${tried}`)), 45_000);
        wake = () => {
          if (givenUp().length > 0) {
            clearTimeout(timer);
            resolve();
          }
        };
        wake();
      });
      // What was given up with it, in the same round, is acked with it.
      const first = String(givenUp()[0]?.['id']);
      await expect
        .poll(async () => ((await redis.xpending(log.key, 'alerts', '-', '+', 10)) as [string][]).some(([id]) => id === first), {
          timeout: 5_000,
          interval: 20,
        })
        .toBe(false);
      const lost = givenUp()
        .map((l) => ids.get(String(l['id'])) ?? '?')
        .filter((d) => !tried.includes(`${d} crashed on xen1`));
      expect(lost).toEqual([]);
    } finally {
      await desk.stop();
    }
  }, 60_000);
});

describe('an alert whose post is still queued in the Telegram adapter', () => {
  it('is not queued again at each retry: each alert reaches the group once, and the next one is not held behind copies', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const group = '-1004646464646';
    const config = Config.parse({
      hosts: {
        xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` },
        xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: `SHA256:${'R'.repeat(43)}` },
      },
      roles: { admin: { allow: ['*'] } },
      people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
      telegram: { token: TOKEN, apiRoot: fake.apiRoot },
      alerts: { channels: [{ platform: 'telegram', id: group }], cooldownMinutes: 15 },
    });
    // Two a minute: web and db go at once; mail, then xen2's, wait for the next minute in the adapter's queue.
    const adapter = new TelegramAdapter({ config, logger: createLogger('silent'), minIntervalMs: 0, groupPerMinute: 2 });
    const handed: string[] = [];
    const desk = new AlertDesk({
      config,
      target: REDIS_URL,
      redis,
      prefix,
      instance: 'bot-a',
      platforms: new Set(['telegram']),
      post: async (_platform, channel, r) => {
        handed.push(r.title);
        await adapter.post(channel, r);
      },
      logger: createLogger('silent'),
      retryMs: 100,
      postTimeoutMs: 300,
    });
    const inGroup = () => [...fake.messages.values()].filter((m) => m.chatId === Number(group)).map((m) => m.text);
    const said = (title: string) => inGroup().filter((t) => t.includes(title)).length;
    await desk.start();
    try {
      const log = new FleetEventLog(redis, prefix);
      const m = redis.multi();
      for (const d of ['web', 'db', 'mail']) m.xadd(log.key, '*', 'data', JSON.stringify(crashed(d)));
      const down: FleetEvent = { kind: 'host.unreachable', host: 'xen2', reason: 'ssh: connection refused', at: Date.now() };
      m.xadd(log.key, '*', 'data', JSON.stringify(down));
      await m.exec();
      // The host-down alert goes out with the next minute's sends, right after mail's first copy.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        fake.waitForMessage((msg) => msg.chatId === Number(group) && msg.text.includes('xen2 is unreachable')),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `xen2's alert not in the group after 75 s; handed to the adapter: ${handed.join(', ')}; in the group: ${inGroup().join(' | ')}`,
                ),
              ),
            75_000,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      await expect.poll(async () => ((await redis.xpending(log.key, 'alerts')) as [number])[0], { timeout: 10_000, interval: 50 }).toBe(0);
      // Each copy handed to the adapter is sent in its turn (its queue drops nothing): counted, then the queue drained.
      expect(handed.filter((t) => t === 'mail crashed on xen1')).toHaveLength(1);
      await desk.stop();
      await adapter.stop();
      expect(['web crashed on xen1', 'db crashed on xen1', 'mail crashed on xen1', 'xen2 is unreachable'].map(said)).toEqual([1, 1, 1, 1]);
      expect(inGroup()).toHaveLength(4);
    } finally {
      await desk.stop();
    }
  }, 100_000);
});
