import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotCore } from '../../src/adapters/types.ts';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { LeaderLease, leaseKey, leaseTiming, worstTakeoverMs } from '../../src/app/leader-lease.ts';
import { BotLeadership } from '../../src/app/leadership.ts';
import { Config } from '../../src/config/schema.ts';
import { createRedisClient } from '../../src/queue/redis-connection.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { termOf } from '../helpers/ha-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * Two bots on one lease when Redis loses the lease key (a restart without its data, a flush) while the leader is
 * alive: the leader must not be joined by the standby, which tries every lease/12 where the leader renews every
 * lease/4 — two Telegram pollers, two Discord gateway sessions at once.
 */

const LEASE_MS = 3_000;
const TIMING = leaseTiming(LEASE_MS);

let env: SimEnv;
const prefixes: string[] = [];
const bots: Bot[] = [];
const agents: Agent[] = [];
const cleanups: (() => void)[] = [];

/** Which of the leased adapters run now, and every start while another one ran. */
class Running {
  readonly events: string[] = [];
  readonly now = new Set<string>();
  readonly overlaps: string[] = [];
  record(bot: string, kind: 'start' | 'stop'): void {
    if (kind === 'start') {
      if (this.now.size > 0) this.overlaps.push(`${bot} started while ${[...this.now].join(', ')} ran`);
      this.now.add(bot);
    } else this.now.delete(bot);
    this.events.push(`${bot} ${kind}`);
  }
}

class LeasedProbe extends CaptureAdapter {
  constructor(
    readonly name: string,
    private readonly running: Running,
  ) {
    super('telegram');
  }
  override async start(core: BotCore): Promise<void> {
    await super.start(core);
    this.running.record(this.name, 'start');
  }
  override async stop(): Promise<void> {
    this.running.record(this.name, 'stop');
  }
}

beforeAll(async () => {
  env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
}, 30_000);

afterAll(async () => {
  for (const c of cleanups) c();
  for (const b of bots) await b.stop();
  for (const a of agents) await a.close(1_000);
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
}, 60_000);

/** A prefix of its own (deleted at the end) and a Telegram-only config with the test's short lease. */
function haConfig(): { prefix: string; config: Config } {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { telegram: '1001' } } },
    channels: [{ platform: 'telegram', id: '*' }],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000, agentStaleMs: 10_000, ha: { leaseMs: LEASE_MS } },
    approvals: { enabled: false },
    alerts: { enabled: false },
  });
  return { prefix, config };
}

describe('the lease key lost while the leader lives, a standby trying for it', () => {
  it('the standby does not start its adapters alongside the leader; the leader keeps the lease', async () => {
    const { prefix, config } = haConfig();
    agents.push(await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger }));
    const running = new Running();
    for (const name of ['a', 'b']) {
      const b = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [new LeasedProbe(name, running)] });
      bots.push(b);
      await b.start();
    }
    expect(running.events).toEqual(['a start']);

    const redis = createRedisClient(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const key = leaseKey(prefix);
    const token = await redis.get(key);
    expect(token).not.toBeNull();
    // Just after a renewal of the leader (its key's TTL jumps back up): its next one is a renewal interval away, the
    // standby's next try a fraction of that.
    let last = await redis.pttl(key);
    for (;;) {
      const ttl = await redis.pttl(key);
      if (ttl > last + 50) break;
      last = ttl;
    }
    await redis.del(key);

    // Nothing to await: what must not happen is the standby starting. Past a whole lease and a renewal, it has not
    // (it tries every 250 ms), and the leader has its key back (taken again at its renewal).
    await new Promise((resolve) => setTimeout(resolve, TIMING.leaseMs + TIMING.renewEveryMs));
    expect(running.overlaps).toEqual([]);
    expect(running.events).toEqual(['a start']);
    expect(await redis.get(key)).toBe(token);
  }, 60_000);
});

describe('the lease key lost as its leader dies', () => {
  it('a standby still takes it, once the lease it last saw could have lapsed', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const key = leaseKey(prefix);
    const lease = (name: string, client: ReturnType<typeof createRedisClient>) =>
      new LeaderLease({ redis: client, key, token: `test:1:${name}`, timing: TIMING, logger: quietLogger, onChange: () => {} });
    const clients = [createRedisClient(REDIS_URL), createRedisClient(REDIS_URL), createRedisClient(REDIS_URL)];
    cleanups.push(() => {
      for (const c of clients) c.disconnect();
    });
    const [ca, cb, redis] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
    const a = lease('a', ca);
    const b = lease('b', cb);
    await a.start();
    await b.start();
    cleanups.push(
      () => void a.stop(),
      () => void b.stop(),
    );
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    // The leader goes without a word (no renewal, no release), and Redis loses its key.
    await a.stop();
    await redis.del(key);
    const gone = performance.now();
    await expect.poll(() => b.isLeader(), { timeout: worstTakeoverMs(TIMING) + 2_000, interval: 20 }).toBe(true);
    expect(performance.now() - gone).toBeLessThanOrEqual(worstTakeoverMs(TIMING) + 200);
    // Not before the old leader stopped acting (its step-down timer runs on without the loop).
    expect(a.isLeader()).toBe(false);
    expect(await redis.get(key)).toBe('test:1:b');
  }, 30_000);
});

/** A leased adapter whose first start waits for `open()` (a Telegram start retrying through a Bot API hiccup). */
class GatedProbe extends LeasedProbe {
  open: () => void = () => {};
  private gate: Promise<void> | null = new Promise<void>((resolve) => {
    this.open = resolve;
  });
  starting = false;
  override async start(core: BotCore): Promise<void> {
    this.starting = true;
    const gate = this.gate;
    this.gate = null;
    await gate;
    this.starting = false;
    await super.start(core);
  }
}

describe('the lease lost and taken back while the leader was still starting', () => {
  it('the leader runs its adapters once it leads again, the one halted as it started too', async () => {
    const { prefix, config } = haConfig();
    const running = new Running();
    const probe = new GatedProbe('a', running);
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [probe] });
    bots.push(bot);
    const starting = bot.start();
    const redis = createRedisClient(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const key = leaseKey(prefix);
    await expect.poll(() => probe.starting, { timeout: 10_000, interval: 20 }).toBe(true);
    const token = await redis.get(key);
    expect(token).not.toBeNull();
    // Another bot's key for a moment: the starting leader steps down at its next renewal, then takes it back.
    await redis.set(key, 'elsewhere:1:gone', 'PX', 1_000);
    await expect.poll(() => redis.get(key), { timeout: 10_000, interval: 20 }).toBe('elsewhere:1:gone');
    await expect.poll(() => redis.get(key), { timeout: 10_000, interval: 20 }).toBe(token);
    probe.open();
    await starting;
    // Before: the term begun before the loss went on as if nothing happened (or, halted, stayed halted): the bot
    // held the lease with its Telegram adapter stopped, answering nobody.
    await expect.poll(() => running.now.has('a'), { timeout: 10_000, interval: 20 }).toBe(true);
    expect(await redis.get(key)).toBe(token);
  }, 60_000);
});

describe('the lease lost and taken back while the new term waited on Redis, its adapters started', () => {
  it('the leader runs its adapters again once it leads again', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = Config.parse({
      redis: { url: REDIS_URL, prefix },
      hosts: env.hosts,
      ssh: env.ssh,
      channels: [{ platform: 'telegram', id: '*' }],
      bot: { ha: { leaseMs: LEASE_MS } },
    });
    const running = new Running();
    const probe = new LeasedProbe('a', running);
    let recovered: () => void = () => {};
    const recovering = new Promise<void>((resolve) => {
      recovered = resolve;
    });
    const started = new Set<import('../../src/adapters/types.ts').ChatAdapter>();
    const leadership = new BotLeadership({ config, redis: REDIS_URL, prefix, instance: 'abcdef', adapters: [probe], logger: quietLogger });
    cleanups.push(() => void leadership.stop());
    // The recovery waits on Redis (a slow one, or a long list of pending requests) while the lease changes hands.
    const starting = leadership.start(termOf(probe, started, { recover: () => recovering }));
    const redis = createRedisClient(REDIS_URL);
    cleanups.push(() => redis.disconnect());
    const key = leaseKey(prefix);
    await expect.poll(() => running.now.has('a'), { timeout: 10_000, interval: 20 }).toBe(true);
    const token = await redis.get(key);
    expect(token).not.toBeNull();
    await redis.set(key, 'elsewhere:1:gone', 'PX', 1_000);
    // Stepped down (its adapters halted at once), then the key lapsed and it took the lease again.
    await expect.poll(() => running.now.has('a'), { timeout: 10_000, interval: 20 }).toBe(false);
    await expect.poll(() => redis.get(key), { timeout: 10_000, interval: 20 }).toBe(token);
    // The key is back in Redis a moment before the bot has read the reply that says so: its own word is awaited.
    await expect.poll(() => leadership.isLeader(), { timeout: 10_000, interval: 20 }).toBe(true);
    recovered();
    await starting;
    expect(leadership.isLeader()).toBe(true);
    // Before: the term, begun before the loss and leading again when it ended, was taken as running: the lease held,
    // its adapters stopped, the bot answering nobody until the next loss.
    await expect.poll(() => running.now.has('a'), { timeout: 10_000, interval: 20 }).toBe(true);
    expect(running.overlaps).toEqual([]);
  }, 60_000);
});
