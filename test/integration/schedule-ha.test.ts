import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotCore, ReplyTarget } from '../../src/adapters/types.ts';
import type { Bot } from '../../src/app/bot.ts';
import { ScheduleBook } from '../../src/app/schedules.ts';
import { isFinal, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { HaScene } from '../helpers/ha-scene.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * Scheduled posts across a change of leader (bot.ha): two bots on one prefix, the leader's Redis behind a proxy.
 * - An `edit` schedule's first post, its leader dying while it pins the new message (Telegram's pinChatMessage is a
 *   round trip of its own, after the post): the new leader keeps editing that message, and it must still get pinned
 *   ("one message edited in place and pinned"). The message was recorded as the schedule's before the pin, and a
 *   later post pinned only a message that changed, so it stayed unpinned for good.
 * - A leader stopping gracefully (SIGTERM) while its schedule worker is in the middle of a tick: the lease is released
 *   before the schedule worker closes, so the standby takes over while the old leader's tick is still queueing its
 *   request. The tick is posted once all the same: the new leader reads every host's events, its own requests' or
 *   not, and delivers what finishes.
 */

let scene: HaScene;

let nextMessageId = 100;

/** A Telegram-like adapter: a post without a message id is a new message (given one), one with it an edit; it pins. */
class Probe extends CaptureAdapter {
  private onStart: () => void = () => {};
  readonly started = new Promise<void>((r) => {
    this.onStart = r;
  });
  readonly pinned: unknown[] = [];
  /** The next pin never answers (the bot dies during it); `pinning` resolves when it is asked for. */
  hangPin = false;
  private onPinning: () => void = () => {};
  readonly pinning = new Promise<void>((r) => {
    this.onPinning = r;
  });
  constructor() {
    super('telegram');
  }
  override async start(core: BotCore): Promise<void> {
    await super.start(core);
    this.onStart();
  }
  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    await super.deliver(target, reply);
    if (!isFinal(reply)) return target;
    return { ...target, state: { messageId: target.state['messageId'] ?? nextMessageId++ } };
  }
  async pin(target: ReplyTarget): Promise<void> {
    if (this.hangPin) {
      this.onPinning();
      return new Promise(() => {});
    }
    this.pinned.push(target.state['messageId']);
  }
}

beforeAll(async () => {
  scene = await HaScene.start();
}, 30_000);

afterAll(async () => {
  await scene?.stop();
}, 60_000);

/** A prefix with an agent; the leader A on Redis through a proxy (to be cut off or held), the standby B straight on it. */
async function twoBots() {
  const { prefix, config } = await scene.prefixWithAgent();
  const proxy = await scene.proxy();
  const a = new Probe();
  const b = new Probe();
  const botA = await scene.bot(config, [a], { redis: proxy.url });
  await a.started;
  const botB = await scene.bot(config, [b]);
  return { prefix, proxy, a, b, botA, botB };
}

describe("an edit schedule's leader dying while it pins the schedule's new message", () => {
  it('the new leader pins the message it goes on editing', async () => {
    const { prefix, proxy, a, b, botA, botB } = await twoBots();

    const redis = scene.track(new Redis(REDIS_URL), (c) => c.disconnect());
    const book = scene.track(new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger), (b) => b.close());
    // Ticks are run by hand below: a schedule whose own next tick is a year away (29 February).
    const id = 'SPIN01';
    await book.create({
      id,
      what: 'status',
      host: null,
      when: { cron: '0 8 29 2 *', tz: 'UTC' },
      channel: { platform: 'telegram', id: '-1001' },
      mode: 'edit',
      owner: 'alice',
      source: 'chat',
      createdAt: Date.now(),
    });
    const tick = (bot: Bot, at: number) =>
      bot.run({
        command: 'status',
        as: 'alice',
        channel: { platform: 'telegram', id: '-1001' },
        requestId: `sched-${id}-${at}`,
        schedule: { id, mode: 'edit' },
      });

    // The leader posts the first message and dies (cut off from Redis for good, its pin unanswered) while pinning it.
    a.hangPin = true;
    await tick(botA, 1_000);
    await a.pinning;
    proxy.partition();
    await b.started;

    // The new leader's next tick edits that message, and it is pinned by now.
    await tick(botB, 2_000);
    await b.until(() => b.finals(`sched-${id}-2000`).length === 1, 20_000, 'the second post');
    const first = a.delivered.find((d) => d.target.requestId === `sched-${id}-1000`);
    expect(first).toBeDefined();
    const second = b.delivered.find((d) => d.target.requestId === `sched-${id}-2000`);
    expect(second?.target.state['messageId']).toBe(100);
    // Pinned right after the post (its bookkeeping): given a few seconds.
    await expect.poll(() => b.pinned, { timeout: 5_000 }).toEqual([100]);
  }, 60_000);
});

describe('a leader stopped gracefully while its schedule worker runs a tick', () => {
  it('the tick is posted once (by the old leader or the new one), not lost in the handover', async () => {
    const { prefix, proxy, a, b, botA } = await twoBots();

    // The leader's tick is held at its first read (the agents' heartbeats, before its request is queued).
    const release = proxy.holdAt((d) => {
      const s = d.toString('latin1').toLowerCase();
      return s.includes('hgetall') && s.includes(`${prefix}:agents`.toLowerCase());
    });
    const redis = scene.track(new Redis(REDIS_URL), (c) => c.disconnect());
    const book = scene.track(new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger), (b) => b.close());
    // An `every` schedule ticks at once when added: one due time, taken by the leader's worker.
    const id = 'SPOST1';
    await book.create({
      id,
      what: 'status',
      host: null,
      when: { every: 3_600_000 },
      channel: { platform: 'telegram', id: '-1001' },
      mode: 'post',
      owner: 'alice',
      source: 'chat',
      createdAt: Date.now(),
    });
    await expect.poll(() => proxy.holding, { timeout: 10_000 }).toBe(true);

    // SIGTERM: the leader hands over while its tick is still on its way. The hold lasts until the standby has taken
    // over, or 1 s at most (well within the 2 s the schedule worker is given to close): a leader that waits for its
    // tick before giving the lease up must see it finish, and no standby starts before that.
    const stopping = botA.stop();
    await Promise.race([b.started.then(() => new Promise((r) => setTimeout(r, 800))), new Promise((r) => setTimeout(r, 1_500))]);
    release();
    await stopping;
    await b.started;

    const posts = () => [...a.delivered, ...b.delivered].filter((d) => d.target.requestId.startsWith(`sched-${id}-`));
    // The request's reply comes within the read timeout (10 s) at most.
    await expect.poll(() => posts().length, { timeout: 15_000 }).toBeGreaterThan(0);
    // Counted once the tick's request is done with (its reply marked sent and the request removed): a second post
    // by the other bot would come before that, not after.
    await expect.poll(() => redis.keys(`${prefix}:pending:sched-${id}-*`), { timeout: 15_000 }).toEqual([]);
    expect(posts().map((p) => p.reply.title)).toEqual(['Fleet status']);
  }, 60_000);
});
