import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotCore } from '../../src/adapters/types.ts';
import { leaseKey } from '../../src/app/leader-lease.ts';
import { createLogger } from '../../src/core/log.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { HA_LEASE_MS, HaScene } from '../helpers/ha-scene.ts';

/**
 * One bot under bot.ha, every connection through a proxy, and only the leader lease's flow forgotten (a NAT or
 * firewall that dropped just that one, both ways, while Redis answers new connections): the bot's own connection and
 * BullMQ's answer, so nothing that judges those ever fires. Before the lease judged its own connection, every lease
 * command timed out until TCP gave up (some 15 minutes): the leader stepped down and could not take the lease back,
 * and with no other bot nobody ran Telegram meanwhile. The bot's default timings (silentReconnectMs 60 s): the lease
 * is judged on a window of its own, two leases, shorter than that.
 */
let scene: HaScene;

beforeAll(async () => {
  scene = await HaScene.start();
}, 30_000);
afterAll(async () => {
  await scene?.stop();
}, 60_000);

/** A leased (Telegram) adapter that counts its starts and stops: running is what the operator sees. */
class CountingAdapter extends CaptureAdapter {
  starts = 0;
  stops = 0;
  constructor() {
    super('telegram');
  }
  override async start(core: BotCore): Promise<void> {
    this.starts++;
    await super.start(core);
  }
  override async stop(): Promise<void> {
    this.stops++;
  }
  get running(): boolean {
    return this.starts > this.stops;
  }
}

/** Two lease windows, the replacement (ioredis's 2 s disconnectTimeout at most) and a few acquire attempts. */
const RECOVERY_MS = 2 * HA_LEASE_MS + 5_000;

describe("the leader lease's connection alone gone silent, both ways, while Redis answers new connections", () => {
  it('THEN the lease connection is replaced and the bot leads again (adapter started again) within two leases, without a restart', async () => {
    const { prefix, config } = await scene.prefixWithAgent();
    const proxy = await scene.proxy();
    const log: { msg: string; level: number; silentMs?: number }[] = [];
    const logger = createLogger('debug', { write: (line: string) => void log.push(JSON.parse(line)) });
    const adapter = new CountingAdapter();
    await scene.bot(config, [adapter], { redis: proxy.url, logger });
    await expect.poll(() => adapter.running, { timeout: 10_000 }).toBe(true);

    // The lease's acquire/renew script on the lease key: sent only on the lease's own connection.
    const key = leaseKey(prefix);
    const renewal = (d: Buffer) => {
      const t = d.toString('latin1');
      return t.includes(key) && t.includes("redis.call('PEXPIRE'");
    };
    await proxy.freezeAt(renewal, 'both');
    const frozenAt = Date.now();

    // The leader cannot renew: it stops its adapter before the lease could lapse.
    await expect.poll(() => adapter.running, { timeout: HA_LEASE_MS + 2_000, interval: 50 }).toBe(false);
    // The bot's own connection answers all along: what replaces every connection when that one is silent never fires.
    expect(log.filter((l) => l.msg.includes("the bot's periodic writes"))).toEqual([]);

    // It leads again without a restart, on a new lease connection, and said why.
    await expect.poll(() => adapter.running, { timeout: RECOVERY_MS, interval: 50 }).toBe(true);
    expect(Date.now() - frozenAt).toBeLessThan(RECOVERY_MS);
    expect(adapter.starts).toBe(2);
    const replaced = log.filter((l) => l.msg.startsWith('Redis answered none of the leader lease'));
    expect(replaced).toHaveLength(1);
    expect(replaced[0]?.level).toBe(40);
    expect(replaced[0]?.silentMs).toBeGreaterThanOrEqual(2 * HA_LEASE_MS);

    // And keeps leading: its renewals are answered on the new connection, more of them than fit in one lease.
    for (let i = 0; i < 5; i++) await proxy.replied(renewal);
    expect(adapter.running).toBe(true);
    expect(adapter.starts).toBe(2);
  }, 60_000);
});
