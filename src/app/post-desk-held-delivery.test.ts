import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import type { ReplyTarget } from '../adapters/types.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import { type Reply, reply } from '../core/reply.ts';
import { sparklineText } from './charts.ts';
import { PostDesk } from './post-desk.ts';
import { scheduleBookKey, scheduleSendingKey, tickRequestId } from './schedules.ts';

/**
 * Two bots, one tick each of the same `edit` schedule (a leader change: the old leader still sending its tick while
 * the new one runs the next). The earlier tick's edit is held up inside the adapter (a 429's retry_after) after it
 * was claimed; the later tick's goes straight through. Held or not, the message must end showing the later tick.
 */

const config = Config.parse({ hosts: { xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });
const prefix = uniquePrefix();
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  await redis.hset(scheduleBookKey(prefix), 'S1', '{}');
});

afterAll(async () => {
  await deleteKeysWithPrefix({ url: REDIS_URL }, prefix);
  redis.disconnect();
});

/** What the platform shows: each message's latest text, and the order the edits landed in. */
class Channel {
  readonly shown = new Map<unknown, string>();
  readonly landed: string[] = [];
  land(target: ReplyTarget, r: Reply): ReplyTarget {
    this.shown.set(target.state['messageId'], r.title);
    this.landed.push(r.title);
    return target;
  }
}

/** Resolves with what a pino line says once its `msg` matches. */
function logWatch() {
  const waiters: { match: RegExp; resolve: () => void }[] = [];
  const logger = createLogger('debug', {
    write(line: string) {
      const msg = String((JSON.parse(line) as { msg?: unknown }).msg ?? '');
      for (const w of waiters.filter((x) => x.match.test(msg))) w.resolve();
    },
  });
  return { logger, logged: (match: RegExp) => new Promise<void>((resolve) => waiters.push({ match, resolve })) };
}

function desk(deliver: (t: ReplyTarget, r: Reply) => Promise<ReplyTarget>, logger = createLogger('silent')) {
  return new PostDesk({
    redis,
    prefix,
    config,
    history: async () => ({}),
    chart: async () => new Uint8Array(),
    sparkline: (host, points, now) => sparklineText(host, points, { now }),
    pin: async () => true,
    deliverOrThrow: deliver,
    clock: { now: () => Date.now() } as never,
    logger,
  });
}

const target = (at: number): ReplyTarget => ({
  platform: 'telegram',
  channelId: '-100',
  requestId: tickRequestId('S1', at),
  state: { messageId: 42 },
});

describe('PostDesk.deliverPost: an earlier tick whose edit is held up in the adapter', () => {
  it('GIVEN a later tick of the schedule on another bot THEN the message ends showing the later tick', async () => {
    const channel = new Channel();
    let release = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let heldStarted = () => {};
    const inAdapter = new Promise<void>((r) => {
      heldStarted = r;
    });
    // Bot A: claimed tick 2000, then its edit waits out a 429 before it lands.
    const oldLeader = desk(async (t, r) => {
      heldStarted();
      await held;
      return channel.land(t, r);
    });
    let laterSent = () => {};
    const laterInAdapter = new Promise<void>((r) => {
      laterSent = r;
    });
    const watch = logWatch();
    // Bot B: tick 3000, delivered at once.
    const newLeader = desk(async (t, r) => {
      laterSent();
      return channel.land(t, r);
    }, watch.logger);

    const early = oldLeader.deliverPost(target(2_000), reply.result('tick 2000'));
    await inAdapter;
    const late = newLeader.deliverPost(target(3_000), reply.result('tick 3000'));
    // Either B's edit went out, or B waits for A's delivery to end: only then does A's 429 wait end.
    await Promise.race([laterInAdapter, watch.logged(/earlier tick/)]);
    release();
    expect(await early).not.toBeNull();
    expect(await late).not.toBeNull();

    expect(channel.landed).toEqual(['tick 2000', 'tick 3000']);
    expect(channel.shown.get(42)).toBe('tick 3000');
    // Nothing holds the next tick back.
    expect(await redis.exists(scheduleSendingKey(prefix, 'S1'))).toBe(0);
  });

  it('GIVEN the earlier delivery fails THEN the later tick goes as soon as it has failed', async () => {
    const order: string[] = [];
    let fail = (_e: Error) => {};
    const failing = new Promise<never>((_, reject) => {
      fail = reject;
    });
    let heldStarted = () => {};
    const inAdapter = new Promise<void>((r) => {
      heldStarted = r;
    });
    // Bot A: its 429 retries run out while it holds tick 4000.
    const oldLeader = desk(async () => {
      heldStarted();
      try {
        return await failing;
      } finally {
        order.push('tick 4000 failed');
      }
    });
    let laterSent = () => {};
    const laterInAdapter = new Promise<void>((r) => {
      laterSent = r;
    });
    const watch = logWatch();
    const newLeader = desk(async (t) => {
      order.push('tick 5000 sent');
      laterSent();
      return t;
    }, watch.logger);

    const early = oldLeader.deliverPost(target(4_000), reply.result('tick 4000'));
    await inAdapter;
    const late = newLeader.deliverPost(target(5_000), reply.result('tick 5000'));
    await Promise.race([laterInAdapter, watch.logged(/earlier tick/)]);
    fail(new Error('429 Too Many Requests: retries exhausted'));
    await expect(early).rejects.toThrow('429');
    expect(await late).not.toBeNull();
    expect(order).toEqual(['tick 4000 failed', 'tick 5000 sent']);
    expect(await redis.exists(scheduleSendingKey(prefix, 'S1'))).toBe(0);
  });

  it('GIVEN the bot sending an earlier tick died THEN a later tick waits only until that tick’s mark expires', async () => {
    // What a bot that died sending tick 6000 leaves: its mark, renewed no more.
    await redis.set(scheduleSendingKey(prefix, 'S1'), '6000', 'PX', 300);
    const markAtSend: (string | null)[] = [];
    const next = desk(async (t) => {
      markAtSend.push(await redis.get(scheduleSendingKey(prefix, 'S1')));
      return t;
    });
    expect(await next.deliverPost(target(7_000), reply.result('tick 7000'))).not.toBeNull();
    // Sent once the dead bot's mark was gone, under its own.
    expect(markAtSend).toEqual(['7000']);
  });

  it('GIVEN the schedule is removed while a later tick waits THEN that tick posts nothing', async () => {
    // A live bot still sending tick 8000 (its mark renewed).
    await redis.set(scheduleSendingKey(prefix, 'S1'), '8000', 'PX', 60_000);
    const sent: ReplyTarget[] = [];
    let laterSent = () => {};
    const laterInAdapter = new Promise<void>((r) => {
      laterSent = r;
    });
    const watch = logWatch();
    const next = desk(async (t) => {
      sent.push(t);
      laterSent();
      return t;
    }, watch.logger);
    const late = next.deliverPost(target(9_000), reply.result('tick 9000'));
    await Promise.race([laterInAdapter, watch.logged(/earlier tick/)]);
    // What "/schedule remove" does: the spec, then the schedule's keys (the mark among them).
    await redis.hdel(scheduleBookKey(prefix), 'S1');
    await redis.del(scheduleSendingKey(prefix, 'S1'));
    expect(await late).toBeNull();
    expect(sent).toEqual([]);
  });
});
