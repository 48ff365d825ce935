import { EventEmitter } from 'node:events';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../../src/adapters/discord/index.ts';
import { TelegramAdapter } from '../../src/adapters/telegram/index.ts';
import type { BotCore, ReplyTarget } from '../../src/adapters/types.ts';
import type { Bot } from '../../src/app/bot.ts';
import { jobIdOf } from '../../src/app/dispatch.ts';
import { leaseKey, leaseTiming } from '../../src/app/leader-lease.ts';
import { Config } from '../../src/config/schema.ts';
import { type ReadinessCheck, readinessReport } from '../../src/core/readiness.ts';
import { isFinal, type Reply } from '../../src/core/reply.ts';
import type { ChatRequest } from '../../src/core/request.ts';
import { hostQueueName } from '../../src/queue/names.ts';
import { createRedisClient } from '../../src/queue/redis-connection.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { FakeDiscord } from '../helpers/fake-discord/server.ts';
import { FakeTelegram } from '../helpers/fake-telegram/server.ts';
import { HA_LEASE_MS, HaScene } from '../helpers/ha-scene.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * High availability of the bot (bot.ha) with two bots in this process on real Redis: one leader lease, the leased
 * (Telegram) adapters running in one bot at a time, a standby that delivers nothing and is ready, the lease handed
 * over at once by stop(), and a leader cut off from Redis that stops its adapters before the other one takes over
 * — and then delivers, once, the reply that completed while nobody led.
 */

const LEASE_MS = HA_LEASE_MS;
const TIMING = leaseTiming(LEASE_MS);

let scene: HaScene;
let n = 0;

const request = (text: string): ChatRequest =>
  chatRequest(`ha${++n}-${Math.random().toString(36).slice(2, 6)}`, text, 'alice', 'telegram', '1001');

/** Start and stop of every leased adapter in one run, in order: two running at once is recorded as an overlap. */
class Monitor extends EventEmitter {
  readonly events: { at: number; bot: string; kind: 'start' | 'stop' }[] = [];
  readonly running = new Set<string>();
  readonly overlaps: { at: number; started: string; alsoRunning: string[] }[] = [];

  record(bot: string, kind: 'start' | 'stop'): void {
    const at = Date.now();
    if (kind === 'start') {
      if (this.running.size > 0) this.overlaps.push({ at, started: bot, alsoRunning: [...this.running] });
      this.running.add(bot);
    } else this.running.delete(bot);
    this.events.push({ at, bot, kind });
    this.emit('change');
  }

  /** The n-th (1-based) event of `bot` of that kind, past or future. */
  when(bot: string, kind: 'start' | 'stop', nth = 1, timeoutMs = 20_000): Promise<number> {
    const find = () => this.events.filter((e) => e.bot === bot && e.kind === kind)[nth - 1]?.at;
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('change', check);
        reject(new Error(`no ${kind} #${nth} of ${bot} within ${timeoutMs} ms: ${JSON.stringify(this.events)}`));
      }, timeoutMs);
      const check = () => {
        const at = find();
        if (at === undefined) return;
        clearTimeout(timer);
        this.off('change', check);
        resolve(at);
      };
      this.on('change', check);
    });
  }
}

/** A Telegram adapter as far as the lease is concerned: what it delivers, and when it is started and stopped. */
class LeasedProbe extends CaptureAdapter {
  constructor(
    readonly name: string,
    private readonly monitor: Monitor,
  ) {
    super('telegram');
  }
  override async start(core: BotCore): Promise<void> {
    await super.start(core);
    this.monitor.record(this.name, 'start');
  }
  override async stop(): Promise<void> {
    this.monitor.record(this.name, 'stop');
  }
  /** When each delivery was made, by request. */
  readonly deliveredAt: { requestId: string; at: number }[] = [];
  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    this.deliveredAt.push({ requestId: target.requestId, at: Date.now() });
    return super.deliver(target, reply);
  }
}

/** How old another bot's claim must be before a recovery takes it over (Relay: 2 × lease + 2 s). */
const GRACE_MS = 2 * LEASE_MS + 2_000;

/** A leader whose platform takes a while to answer for a final reply; `sending` resolves when one is asked for. */
class SlowFinal extends LeasedProbe {
  private entered: () => void = () => {};
  readonly sending = new Promise<void>((r) => {
    this.entered = r;
  });
  constructor(
    name: string,
    monitor: Monitor,
    private readonly ms: number,
  ) {
    super(name, monitor);
  }
  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    if (isFinal(reply)) {
      this.entered();
      await new Promise((resolve) => setTimeout(resolve, this.ms));
    }
    return super.deliver(target, reply);
  }
}

/** A leader whose platform takes the "queued" line and never answers for the final reply, as a bot dying while sending it. */
class HungFinal extends LeasedProbe {
  private entered: () => void = () => {};
  readonly hung = new Promise<void>((r) => {
    this.entered = r;
  });
  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    if (!isFinal(reply)) return super.deliver(target, reply);
    this.entered();
    return new Promise<ReplyTarget>(() => {});
  }
}

const bot = (config: Config, adapter: CaptureAdapter, redis = REDIS_URL): Promise<Bot> => scene.bot(config, [adapter], { redis });

const check = (checks: ReadinessCheck[], name: string) => checks.find((c) => c.name === name);

beforeAll(async () => {
  scene = await HaScene.start();
}, 30_000);

afterAll(async () => {
  await scene?.stop();
}, 60_000);

async function setUp(): Promise<{ config: Config; prefix: string; monitor: Monitor }> {
  return { ...(await scene.prefixWithAgent()), monitor: new Monitor() };
}

describe('two bots, one leader lease', () => {
  it('the first bot leads, the second stands by (ready, delivering nothing); stop() hands the lease over at once', async () => {
    const { config, monitor } = await setUp();
    const a = new LeasedProbe('a', monitor);
    const b = new LeasedProbe('b', monitor);
    const botA = await bot(config, a);
    const botB = await bot(config, b);
    expect(monitor.running).toEqual(new Set(['a']));

    const standby = await botB.readiness();
    expect(check(standby, 'leader')?.detail).toMatch(/^standby: the leader is .+:\d+:[0-9a-f]{6} \(its lease lapses in \d\.\d s/);
    expect(check(standby, 'adapters')).toEqual({ name: 'adapters', ok: true, detail: 'telegram on standby (run by the leader)' });
    expect(readinessReport(standby).status).toBe(200);
    expect(check(await botA.readiness(), 'leader')?.detail).toMatch(
      /^leader: this bot \(.+\) holds the lease, 3\.0 s renewed every 0\.8 s$/,
    );

    // Both bots see the job's events; only the leader delivers (the standby claims nothing it must not deliver).
    const r = request('list xen1');
    await botA.core.handle(r, targetOf(r));
    expect((await a.finalReply(r.id)).title).toBe('Domains on xen1');
    expect(a.finals(r.id)).toHaveLength(1);
    expect(b.delivered).toEqual([]);

    const stopping = Date.now();
    await botA.stop();
    const startedB = await monitor.when('b', 'start');
    const stoppedA = await monitor.when('a', 'stop');
    expect(stoppedA).toBeLessThanOrEqual(startedB);
    // Released, not lapsed: a lapse would come no sooner than lease − renewal interval (2.25 s) after stop().
    expect(startedB - stopping).toBeLessThan(TIMING.leaseMs - TIMING.renewEveryMs);
    expect(monitor.overlaps).toEqual([]);
    expect(check(await botB.readiness(), 'leader')?.detail).toMatch(/^leader: /);

    const after = request('list xen2');
    await botB.core.handle(after, targetOf(after));
    expect((await b.finalReply(after.id)).title).toBe('Domains on xen2');
    expect(b.finals(after.id)).toHaveLength(1);
  }, 60_000);

  it('a leader cut off from Redis stops its adapters before the standby takes over; the reply that completed meanwhile goes out once', async () => {
    const { config, prefix, monitor } = await setUp();
    const proxy = await scene.proxy();
    const a = new LeasedProbe('a', monitor);
    const b = new LeasedProbe('b', monitor);
    const botA = await bot(config, a, proxy.url);
    const botB = await bot(config, b);
    expect(monitor.running).toEqual(new Set(['a']));

    // A stop whose shutdown the host holds for a while: the job is in flight when the leader loses Redis.
    const since = scene.env.sim.log.lastSeq;
    scene.env.sim.faults.delayNext('xen1', { match: /\bshutdown\b/, ms: 400 });
    const r = request('stop web');
    await botA.core.handle(r, targetOf(r));
    await scene.env.sim.log.waitFor({ host: 'xen1', match: /\bshutdown\b/, since, timeoutMs: 10_000 });
    const cut = Date.now();
    proxy.partition();

    const stoppedA = await monitor.when('a', 'stop');
    const startedB = await monitor.when('b', 'start');
    // The cut-off leader stopped acting at most lease − margin after its last renewal, and before the lease lapsed.
    expect(stoppedA - cut).toBeLessThanOrEqual(TIMING.leaseMs - TIMING.marginMs + 200);
    expect(stoppedA).toBeLessThan(startedB);
    expect(monitor.overlaps).toEqual([]);
    expect(startedB - cut).toBeLessThan(10_000);

    // The job finished while nobody led: the new leader's recovery delivers it, once, and the old leader did not.
    const final = await b.finalReply(r.id);
    expect(final.title).toMatch(/web (shut down|stopped) on xen1/);
    const queue = new Queue(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix });
    try {
      const job = await queue.getJob(jobIdOf(r.id, 'xen1', 'parallel', 0));
      expect(job?.finishedOn ?? Number.POSITIVE_INFINITY).toBeLessThan(startedB);
    } finally {
      await queue.close();
    }
    expect(b.finals(r.id)).toHaveLength(1);
    expect(a.finals(r.id)).toEqual([]);
    // Nothing of it went out through the standby before it led.
    expect(b.deliveredAt.filter((d) => d.requestId === r.id && d.at < startedB)).toEqual([]);
    expect(scene.env.sim.log.query({ host: 'xen1', match: /\bshutdown\b/, since })).toHaveLength(1);

    // Back on the network, the old leader stays a standby; when the new one stops, it leads again (adapters restarted).
    proxy.heal();
    const redis = createRedisClient(REDIS_URL);
    try {
      expect(await redis.get(leaseKey(prefix))).toMatch(/:[0-9a-f]{6}$/);
      await expect.poll(async () => check(await botA.readiness(), 'redis')?.ok, { timeout: 15_000 }).toBe(true);
      expect(check(await botA.readiness(), 'leader')?.detail).toMatch(/^standby: the leader is /);
    } finally {
      redis.disconnect();
    }
    await botB.stop();
    await monitor.when('a', 'start', 2);
    expect(monitor.overlaps).toEqual([]);
    const again = request('list xen1');
    await botA.core.handle(again, targetOf(again));
    expect((await a.finalReply(again.id)).title).toBe('Domains on xen1');
    expect(a.finals(again.id)).toHaveLength(1);
    expect(b.finals(again.id)).toEqual([]);
  }, 90_000);
});

describe('the lease key lost with the data of Redis', () => {
  it('the leader takes it again at its next renewal: its adapters are not stopped and started again', async () => {
    const { config, prefix, monitor } = await setUp();
    const a = new LeasedProbe('a', monitor);
    await bot(config, a);
    await monitor.when('a', 'start');
    const redis = scene.track(createRedisClient(REDIS_URL), (c) => c.disconnect());
    const token = await redis.get(leaseKey(prefix));
    expect(token).not.toBeNull();
    // As a flush, or a restart without the data, leaves it (the rest of the prefix does not matter to the lease).
    await redis.del(leaseKey(prefix));
    // Taken again by the next renewal (every 0.75 s), by the same bot.
    await expect.poll(() => redis.get(leaseKey(prefix)), { timeout: 5_000, interval: 100 }).toBe(token);
    // Before: the renewal found no key of its own and the leader stepped down — its Telegram polling or Discord
    // gateway stopped and started again — only to take the free key back as a standby a moment later.
    expect(monitor.events.map((e) => `${e.bot} ${e.kind}`)).toEqual(['a start']);
  }, 30_000);
});

describe('a final reply claimed by a leader that died before sending it', () => {
  it('is delivered by the new leader, once, into the message the old one posted', async () => {
    const { config: held, prefix, monitor } = await setUp();
    // The "queued" line at once: the old leader has posted it when it goes.
    const config: Config = { ...held, bot: { ...held.bot, queuedReplyDelayMs: 0 } };
    const a = new HungFinal('a', monitor);
    const b = new LeasedProbe('b', monitor);
    const botA = await bot(config, a);
    await bot(config, b);
    expect(monitor.running).toEqual(new Set(['a']));

    const r = request('list xen1');
    const claimedAt = Date.now();
    await botA.core.handle(r, targetOf(r));
    // The old leader has claimed the reply and is sending it when it goes (its platform never answers).
    await a.hung;
    const keys = scene.track(createRedisClient(REDIS_URL), (c) => c.disconnect());
    expect(await keys.exists(`${prefix}:final:${r.id}`)).toBe(1);
    const queued = a.delivered.find((d) => d.target.requestId === r.id);
    expect(queued?.reply.kind).toBe('progress');
    await botA.stop();
    await monitor.when('b', 'start');

    await b.until(() => b.finals(r.id).length > 0, 20_000, 'the final reply from the new leader');
    expect(b.finals(r.id)[0]?.title).toBe('Domains on xen1');
    // Not before the claim was older than the grace (2 × lease + 2 s): the old leader might have been sending it.
    // (The new leader delivered nothing else for it: its first delivery is the result.)
    const sentAt = b.deliveredAt.find((d) => d.requestId === r.id)?.at;
    expect((sentAt ?? 0) - claimedAt).toBeGreaterThanOrEqual(GRACE_MS);
    // Into the message the old leader's "queued" line made (its target, as that delivery returned it).
    const last = b.delivered.filter((d) => d.target.requestId === r.id).at(-1);
    expect(last?.target.state['deliveries']).toBe(1);
    // Finished (the request is no longer pending), with that one reply.
    await expect.poll(async () => await keys.exists(`${prefix}:pending:${r.id}`), { timeout: 10_000 }).toBe(0);
    expect(b.finals(r.id)).toHaveLength(1);
  }, 60_000);

  it('handing over on SIGTERM while it sends a reply: the old leader finishes it, the new one does not send it again', async () => {
    const { config, prefix, monitor } = await setUp();
    const a = new SlowFinal('a', monitor, 1_000);
    const b = new LeasedProbe('b', monitor);
    const botA = await bot(config, a);
    await bot(config, b);
    const r = request('list xen1');
    await botA.core.handle(r, targetOf(r));
    // The platform takes a second to answer for the result (Telegram's pacing, say): the leader stops meanwhile.
    await a.sending;
    await botA.stop();
    await monitor.when('b', 'start');
    expect(a.finals(r.id)).toHaveLength(1);
    const keys = scene.track(createRedisClient(REDIS_URL), (c) => c.disconnect());
    expect(await keys.exists(`${prefix}:pending:${r.id}`)).toBe(0);
    // The new leader's recovery ran at once; its look again after the grace finds the request finished.
    await new Promise((resolve) => setTimeout(resolve, GRACE_MS + 1_000));
    expect(b.finals(r.id)).toEqual([]);
  }, 60_000);
});

/** A core that only counts what reaches it. */
function countingCore(handled: string[]): BotCore {
  return {
    commandSpecs: () => [],
    precheck: () => null,
    handle: async (req: ChatRequest) => {
      handled.push(req.id);
    },
    autocomplete: () => [],
    handleAction: async () => {},
  };
}

describe('the chat adapters under the lease: started again after a stop', () => {
  it('Telegram handles each update once', async () => {
    const fake = new FakeTelegram('123456789:AAtestTOKENtestTOKENtestTOKENtest00');
    await fake.start();
    const config = Config.parse({
      redis: { url: REDIS_URL, prefix: '{unused}' },
      hosts: scene.env.hosts,
      ssh: scene.env.ssh,
      telegram: { token: fake.token, apiRoot: fake.apiRootFor('only') },
    });
    const adapter = new TelegramAdapter({ config, logger: quietLogger, minIntervalMs: 0 });
    const handled: string[] = [];
    const core = countingCore(handled);
    try {
      await adapter.start(core);
      await fake.waitForPoll((p) => p.client === 'only' && p.timeout > 0);
      await adapter.stop();
      expect(adapter.connected()).toBe(false);
      const polls = fake.pollCalls.length;
      fake.sendText(1001, { id: -100, type: 'supergroup' }, '/list');
      await adapter.start(core);
      await fake.waitForPoll((p) => p.offset > 0);
      expect(fake.pollCalls.length).toBeGreaterThan(polls);
      expect(handled).toHaveLength(1);
    } finally {
      await adapter.stop();
      await fake.stop();
    }
  }, 30_000);

  it('Discord logs in again on a new gateway session and handles each interaction once', async () => {
    const fake = new FakeDiscord('MTAwMDAwMDAwMDAwMDAwMDQy.fake.discord-test-token');
    await fake.start();
    const config = Config.parse({
      redis: { url: REDIS_URL, prefix: '{unused}' },
      hosts: scene.env.hosts,
      ssh: scene.env.ssh,
      discord: { token: fake.token, apiRoot: fake.apiRoot, guildIds: [fake.guildId] },
    });
    const adapter = new DiscordAdapter({ config, logger: quietLogger });
    const handled: string[] = [];
    const core = countingCore(handled);
    try {
      await adapter.start(core);
      await adapter.stop();
      expect(adapter.connected()).toBe(false);
      await adapter.start(core);
      expect(adapter.connected()).toBe(true);
      const { id, token } = fake.interact('200000000000000001', { id: '1', name: 'list', type: 1 });
      await fake.waitFor((c) => c.route === `/interactions/${id}/${token}/callback`);
      await expect.poll(() => handled.length).toBe(1);
      expect(handled).toEqual([`dc${id}`]);
    } finally {
      await adapter.stop();
      await fake.stop();
    }
  }, 30_000);
});

describe('the audit trail with two bots on one prefix', () => {
  it("each step of a request once: the standby reads every host's events too, and audits none of them", async () => {
    const { config, prefix, monitor } = await setUp();
    const leader = new LeasedProbe('a', monitor);
    const botA = await bot(config, leader);
    await bot(config, new LeasedProbe('b', monitor));
    // The stop runs for longer than the standby's once-a-second read of every host's events.
    const since = scene.env.sim.log.lastSeq;
    // (files on xen2: the tests above stop web.)
    scene.env.sim.faults.delayNext('xen2', { match: /\bshutdown\b/, ms: 2_500 });
    const r = request('stop files');
    await botA.core.handle(r, targetOf(r));
    await scene.env.sim.log.waitFor({ host: 'xen2', match: /\bshutdown\b/, since, timeoutMs: 10_000 });
    expect((await leader.finalReply(r.id)).title).toMatch(/files shut down on xen2/);
    // An entry that is not there cannot be awaited: past the standby's next read of the events and its audit batch.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const redis = scene.track(createRedisClient(REDIS_URL), (c) => c.disconnect());
    const mine = async () => {
      const entries = (await redis.xrange(`${prefix}:audit`, '-', '+')).map(([, f]) => Object.fromEntries(pairs(f)));
      return entries
        .filter((e) => e['requestId'] === r.id)
        .map((e) => e['event'])
        .sort();
    };
    // The leader's own entries are awaited (job.outcome is appended after the final reply is delivered, through the
    // audit's linger and a round trip): the fixed wait above is for the standby's entries that must not come.
    await expect.poll(mine, { timeout: 10_000, interval: 100 }).toEqual(['decision', 'job.outcome', 'job.start', 'request']);
  }, 60_000);
});

/** A stream entry's fields, the first of each name (the chain's own come after). */
function pairs(f: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < f.length; i += 2) if (!out.some(([k]) => k === f[i])) out.push([f[i] as string, f[i + 1] as string]);
  return out;
}
