import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bot } from '../../src/app/bot.ts';
import { createLogger } from '../../src/core/log.ts';
import { createRedisClient } from '../../src/queue/redis-connection.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { HA_LEASE_MS, HaScene } from '../helpers/ha-scene.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import type { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * Two bots under one lease (bot.ha), the leader's claim of a final reply carried out by Redis and never answered: the
 * reply still goes out exactly once — by the leader once Redis answers it again, or, when the leader is cut off for
 * longer than its lease, by the new leader after the grace, and then never by the old one.
 */
let scene: HaScene;
let n = 0;
const GRACE_MS = 2 * HA_LEASE_MS + 2_000;

const request = (text: string) => chatRequest(`hs${++n}-${Math.random().toString(36).slice(2, 6)}`, text, 'alice', 'telegram', '1001');

beforeAll(async () => {
  scene = await HaScene.start();
}, 30_000);
afterAll(async () => {
  await scene?.stop();
}, 60_000);

async function twoBots(): Promise<{
  prefix: string;
  proxy: TcpProxy;
  a: CaptureAdapter;
  b: CaptureAdapter;
  botA: Bot;
  log: { msg: string }[];
}> {
  const { prefix, config } = await scene.prefixWithAgent();
  const proxy = await scene.proxy();
  const log: { msg: string }[] = [];
  const logger = createLogger('debug', { write: (line: string) => void log.push(JSON.parse(line) as { msg: string }) });
  const a = new CaptureAdapter('telegram');
  const b = new CaptureAdapter('telegram');
  const botA = await scene.bot(config, [a], { redis: proxy.url, logger });
  await scene.bot(config, [b]);
  await expect.poll(() => a.core !== null && b.core === null).toBe(true);
  const warm = request('list xen1');
  await botA.core.handle(warm, targetOf(warm));
  await a.finalReply(warm.id);
  return { prefix, proxy, a, b, botA, log };
}

describe('a final reply whose claim the leader never heard back about', () => {
  it('the leader, still leading, sends it once Redis answers; the standby sends nothing', async () => {
    const { prefix, proxy, a, b, botA } = await twoBots();
    const keys = scene.track(createRedisClient(REDIS_URL), (c) => c.disconnect());
    const r = request('list xen1');
    proxy.freezeRepliesAt((chunk) => chunk.toString('latin1').includes(`${prefix}:final:${r.id}`));
    await botA.core.handle(r, targetOf(r));
    await expect.poll(async () => await keys.get(`${prefix}:final:${r.id}`), { timeout: 15_000, interval: 50 }).toMatch(/^[0-9a-f]{6}$/);
    proxy.heal();
    await a.until(() => a.finals(r.id).length > 0, 30_000, "the leader's final reply");
    await expect.poll(async () => await keys.exists(`${prefix}:pending:${r.id}`), { timeout: 15_000 }).toBe(0);
    expect(a.finals(r.id)).toHaveLength(1);
    expect(b.delivered.filter((d) => d.target.requestId === r.id)).toEqual([]);
  }, 60_000);

  it('the leader cut off past its lease: the new leader sends it after the grace, the old one never does', async () => {
    const { prefix, proxy, a, b, botA, log } = await twoBots();
    const keys = scene.track(createRedisClient(REDIS_URL), (c) => c.disconnect());
    const r = request('list xen1');
    proxy.freezeRepliesAt((chunk) => chunk.toString('latin1').includes(`${prefix}:final:${r.id}`));
    await botA.core.handle(r, targetOf(r));
    await expect.poll(async () => await keys.get(`${prefix}:final:${r.id}`), { timeout: 15_000, interval: 50 }).toMatch(/^[0-9a-f]{6}$/);
    const claimedAt = Date.now();
    proxy.partition();
    await b.until(() => b.finals(r.id).length > 0, 30_000, "the new leader's final reply");
    expect(Date.now() - claimedAt).toBeGreaterThanOrEqual(GRACE_MS - 500);
    await expect.poll(async () => await keys.exists(`${prefix}:pending:${r.id}`), { timeout: 15_000 }).toBe(0);
    // Back, the old leader (a standby now) recovers, and looks again at the claim it never heard back about.
    const reconnects = log.filter((l) => l.msg.startsWith('Redis is reachable again')).length;
    proxy.heal();
    await expect
      .poll(() => log.filter((l) => l.msg.startsWith('Redis is reachable again')).length, { timeout: 15_000 })
      .toBeGreaterThan(reconnects);
    await expect.poll(async () => (await keys.get(`${prefix}:final:${r.id}`)) ?? '', { timeout: 5_000 }).toMatch(/:sent$/);
    expect(b.finals(r.id)).toHaveLength(1);
    expect(a.finals(r.id)).toEqual([]);
  }, 90_000);
});
