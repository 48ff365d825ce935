import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CaptureAdapter } from '../../test/helpers/capture-adapter.ts';
import { termOf } from '../../test/helpers/ha-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { Config } from '../config/schema.ts';
import { createRedisClient } from '../queue/redis-connection.ts';
import { leaseKey, leaseTiming } from './leader-lease.ts';
import { BotLeadership } from './leadership.ts';

/**
 * The bot found its connections silent (a NAT or firewall forgot every flow at once): the lease's connection, gone
 * with them, is replaced too, or the leader loses its lease with no bot able to take it. Not once the bot stops: its
 * release must go out on the connection it has. Real Redis behind a proxy, a prefix of its own per test.
 */
const LEASE_MS = 3_000;
const TIMING = leaseTiming(LEASE_MS);

/** A renewal (or acquire): the lease script extending the key, which the release and the holder read never send. */
const renewal = (d: Buffer) => d.toString('latin1').includes("redis.call('PEXPIRE'");
/** ioredis's ready check: the first command of every connection it makes. */
const NEW_CONNECTION = /\r\ninfo\r\n/i;

let proxy: TcpProxy;
let direct: Redis;
const prefixes: string[] = [];
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  direct = createRedisClient(REDIS_URL) as Redis;
});

afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

afterAll(async () => {
  await proxy?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
  direct?.disconnect();
});

/** A Telegram adapter (leased) whose stops are counted and, given `gate`, wait for it. */
class LeasedProbe extends CaptureAdapter {
  stops = 0;
  gate: Promise<void> | null = null;
  constructor() {
    super('telegram');
  }
  override async stop(): Promise<void> {
    this.stops++;
    await this.gate;
  }
}

/** A leadership on the proxy, started as the leader of a new prefix, with the term of one probe adapter. */
async function leader(): Promise<{ leadership: BotLeadership; probe: LeasedProbe; key: string }> {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
    channels: [{ platform: 'telegram', id: '*' }],
    bot: { ha: { leaseMs: LEASE_MS } },
  });
  const probe = new LeasedProbe();
  const leadership = new BotLeadership({ config, redis: proxy.url, prefix, instance: 'abcdef', adapters: [probe], logger: quietLogger });
  // A second stop() (after a test's own) gives up nothing more: its release finds the connection closed.
  stops.push(async () => {
    probe.gate = null;
    await leadership.stop();
  });
  await leadership.start(termOf(probe));
  expect(leadership.isLeader()).toBe(true);
  return { leadership, probe, key: leaseKey(prefix) };
}

/** `p`, or a failure saying `what` did not happen within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('the lease connection of a leader found silent', () => {
  it('GIVEN its flow forgotten THEN replaceSilentConnection() renews the lease on a new connection, and the leader keeps it', async () => {
    const { leadership, probe, key } = await leader();
    const token = await direct.get(key);
    const connects = proxy.countSent(NEW_CONNECTION);
    proxy.freezeOpen('both');
    const renewed = proxy.replied(renewal);
    leadership.replaceSilentConnection();
    // Without the replacement every renewal times out on the forgotten flow, and the leader steps down within
    // lease − margin of its last renewal: three renewals answered span more than that.
    await within(renewed, TIMING.leaseMs, 'a renewal answered after the replacement');
    for (let i = 0; i < 3; i++) await within(proxy.replied(renewal), TIMING.leaseMs, `renewal ${i + 2} answered`);
    expect(connects()).toBe(1);
    expect(leadership.isLeader()).toBe(true);
    expect(probe.stops).toBe(0);
    expect(await direct.get(key)).toBe(token);
    expect(await direct.pttl(key)).toBeGreaterThan(TIMING.leaseMs - 2 * TIMING.renewEveryMs);
  }, 30_000);
});

describe('the lease connection found silent once the bot is stopping', () => {
  it('GIVEN stop() under way THEN replaceSilentConnection() connects nothing anew, and the release still goes out', async () => {
    const { leadership, probe, key } = await leader();
    let open: () => void = () => {};
    probe.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const connects = proxy.countSent(NEW_CONNECTION);
    const stopping = leadership.stop();
    await expect.poll(() => probe.stops, { timeout: 5_000, interval: 10 }).toBe(1);
    leadership.replaceSilentConnection();
    // Nothing to await: what must not happen is a reconnect, which ioredis makes some 50 ms after a disconnect(true).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(connects()).toBe(0);
    open();
    await stopping;
    // Released (not left to lapse): a standby takes over at once.
    expect(await direct.get(key)).toBeNull();
    expect(await direct.exists(`${key}:released`)).toBe(1);
    // After stop() has finished, the same (there ioredis's ended client would not reconnect on disconnect(true) either).
    leadership.replaceSilentConnection();
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(connects()).toBe(0);
    expect(proxy.connections).toBe(0);
  }, 30_000);
});
