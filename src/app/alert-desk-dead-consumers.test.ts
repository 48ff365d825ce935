import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import type { Reply } from '../core/reply.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { AlertDesk } from './alert-desk.ts';

/**
 * What the alerts' consumer group keeps in Redis over months of bot restarts: each bot start reads the fleet events
 * as a consumer of its own (its instance name, new at every start). A consumer of a bot that has gone, with nothing
 * left pending (what it left was claimed by the bots that went on), must not stay in the group for ever.
 */
const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const config = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  alerts: { channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 15 },
});

const log = new FleetEventLog(redis, prefix);
let started = 0;

/** One bot's life: started under a new instance name, one alert posted (and acked), stopped. */
async function botLife(): Promise<AlertDesk> {
  const posted: Reply[] = [];
  const desk = new AlertDesk({
    config,
    target: REDIS_URL,
    redis,
    prefix,
    instance: `bot-${++started}`,
    platforms: new Set(['terminal']),
    post: async (_platform, _channel, r) => {
      posted.push(r);
    },
    logger: createLogger('silent'),
    retryMs: 200,
  });
  await desk.start();
  await log.append({ kind: 'domain.crashed', host: 'xen1', domain: `guest-${started}`, uuid: null, byXenops: false, at: Date.now() });
  await expect.poll(() => posted.map((r) => r.title)).toEqual([`guest-${started} crashed on xen1`]);
  await expect.poll(async () => ((await redis.xpending(log.key, 'alerts')) as [number])[0]).toBe(0);
  return desk;
}

async function consumers(): Promise<string[]> {
  const rows = (await redis.xinfo('CONSUMERS', log.key, 'alerts')) as string[][];
  return rows.map((r) => String(r[r.indexOf('name') + 1])).sort();
}

describe('the alerts consumer group over bot restarts', () => {
  it('forgets the consumers of bots that have gone, once nothing of theirs is pending', async () => {
    for (let i = 0; i < 4; i++) await (await botLife()).stop();
    // The bot that runs now: its claim pass (every retryMs) finds the gone bots' consumers idle, nothing pending.
    const live = await botLife();
    try {
      await expect.poll(consumers, { timeout: 10_000 }).toEqual(['bot-5']);
    } finally {
      await live.stop();
    }
  }, 60_000);
});
