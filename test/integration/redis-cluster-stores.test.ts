import { describe, expect, it } from 'vitest';
import type { ReplyTarget } from '../../src/adapters/types.ts';
import { LeaderLease, leaseKey, leaseTiming } from '../../src/app/leader-lease.ts';
import type { PendingRequest } from '../../src/app/pending-store.ts';
import { PendingStore } from '../../src/app/pending-store.ts';
import { PostDesk } from '../../src/app/post-desk.ts';
import { scheduleMessageKey, scheduleSnapshotKey, scheduleTickKey, tickRequestId } from '../../src/app/schedules.ts';
import type { Config } from '../../src/config/schema.ts';
import type { AnyCommand } from '../../src/core/define-command.ts';
import type { JobData } from '../../src/queue/jobs.ts';
import { createRedisClient, type RedisClient } from '../../src/queue/redis-connection.ts';
import { clusterWithBotClient } from '../helpers/redis-cluster.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * The bot's newer scripts on a three-master Redis Cluster, each on a client made as the bot makes its own (no offline
 * queue, lazy, a command timeout), with the prefix's slot on a master other than the seed: PendingStore's
 * recordAndClaim / markSentAndRemove (a DEL per key) / claimFinal, PostDesk's CLAIM_TICK / RECORD_POST / MARK_PINNED,
 * and the leader lease's two-key scripts. Each also after the owner forgot its scripts (SCRIPT FLUSH).
 */
const scene = clusterWithBotClient();

const owner = async () => scene.cluster.node((await scene.cluster.ownerOf(scene.prefix)).index);
const target = (requestId: string, messageId = 'm-1'): ReplyTarget => ({
  platform: 'terminal',
  channelId: 'ops',
  requestId,
  state: { messageId },
});

function request(requestId: string, hosts: number): PendingRequest {
  const meta = { requestId, person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'ops', command: 'list' };
  return {
    requestId,
    command: 'list',
    args: {},
    person: 'alice',
    platform: 'terminal',
    userId: 'alice',
    channelId: 'ops',
    target: target(requestId),
    mode: 'parallel',
    jobs: Array.from({ length: hosts }, (_, i) => ({
      jobId: `${requestId}-h${i}`,
      host: `h${i}`,
      op: 'domain.list',
      data: { op: 'domain.list', host: `h${i}`, meta } as JobData,
    })),
    deadline: null,
    pickupBy: null,
    createdAt: 0,
  };
}

describe('PendingStore on a Redis Cluster', () => {
  it('records outcomes, claims the final reply once, and markSentAndRemove deletes every key of a 300-host request', async () => {
    const { redis, prefix } = scene;
    const pending = new PendingStore(redis, prefix, 'bot-a');
    const p = request('r-big', 300);
    await pending.save(p);
    expect(await pending.get('r-big')).toMatchObject({ requestId: 'r-big' });
    let final: Awaited<ReturnType<PendingStore['recordAndClaim']>>['final'] = null;
    for (const [i, j] of p.jobs.entries()) {
      const r = await pending.recordAndClaim('r-big', j.jobId, { ok: true, result: i }, p.jobs.length);
      expect(r.recorded).toBe(true);
      if (i < p.jobs.length - 1) expect(r.final).toBeNull();
      else final = r.final;
    }
    expect(final?.target).toEqual(p.target);
    expect(Object.keys(final?.outcomes ?? {})).toHaveLength(300);
    // A second bot's claim loses.
    expect(await new PendingStore(redis, prefix, 'bot-b').claimFinal('r-big', { takeOver: true, graceMs: 60_000 })).toMatchObject({
      kind: 'tooYoung',
    });
    await pending.markSentAndRemove(p);
    const node = await owner();
    expect(await node.get(`${prefix}:final:r-big`)).toBe('bot-a:sent');
    expect(await node.exists(`${prefix}:pending:r-big`, `${prefix}:pending-target:r-big`, `${prefix}:pending-outcomes:r-big`)).toBe(0);
    expect(await node.exists(...p.jobs.map((j) => `${prefix}:pending-job:${j.jobId}`))).toBe(0);
    expect(await node.sismember(`${prefix}:pending-index`, 'r-big')).toBe(0);
    expect(await pending.gone(['r-big', 'r-none'])).toEqual(
      new Map([
        ['r-big', 'finished'],
        ['r-none', 'lost'],
      ]),
    );
    expect(await pending.gone([])).toEqual(new Map());
  });

  it('goes on after the owner of the slot forgot its scripts (EVALSHA → NOSCRIPT → EVAL on that owner)', async () => {
    const { redis, prefix } = scene;
    const pending = new PendingStore(redis, prefix, 'bot-a');
    const p = request('r-flush', 2);
    await pending.save(p);
    await (await owner()).script('FLUSH');
    expect((await pending.recordAndClaim('r-flush', 'r-flush-h0', { ok: true, result: 0 }, 2)).final).toBeNull();
    await (await owner()).script('FLUSH');
    expect((await pending.recordAndClaim('r-flush', 'r-flush-h1', { ok: true, result: 1 }, 2)).final).not.toBeNull();
    await (await owner()).script('FLUSH');
    await pending.markSentAndRemove(p);
    expect(await pending.get('r-flush')).toBeNull();
  });
});

describe('PostDesk on a Redis Cluster', () => {
  const config = { posts: {}, fleet: { memoryReserveMiB: 0 } } as unknown as Config;
  const status = { name: 'status' } as unknown as AnyCommand;
  const pins: ReplyTarget[] = [];
  const desk = () =>
    new PostDesk({
      redis: scene.redis,
      prefix: scene.prefix,
      config,
      history: async () => ({}),
      chart: async () => new Uint8Array(),
      sparkline: () => '',
      pin: async (t) => {
        pins.push(t);
        return true;
      },
      deliverOrThrow: async (t) => t,
      clock: { now: () => Date.now(), toLocal: (ms) => ms, fromLocal: (ms) => ms },
      logger: quietLogger,
    });
  const tickRequest = (id: string, at: number): PendingRequest => ({
    ...request(tickRequestId(id, at), 1),
    command: 'status',
    schedule: { id, mode: 'edit' },
  });

  it('claims ticks, records a post, pins an edit schedule’s message once, and drops an overtaken tick', async () => {
    const { redis, prefix } = scene;
    await redis.hset(`${prefix}:schedules`, 'board', '{}');
    const posts = desk();
    const first = tickRequest('board', 1_000);
    expect(await posts.deliverPost(target(first.requestId, 'm-1'), { blocks: [] } as never)).not.toBeNull();
    await posts.afterDelivery(first, status, [], target(first.requestId, 'm-1'));
    expect(pins).toHaveLength(1);
    const node = await owner();
    expect(JSON.parse((await node.get(scheduleMessageKey(prefix, 'board'))) ?? 'null')).toMatchObject({ pinned: true });
    expect(await node.get(scheduleTickKey(prefix, 'board'))).toBe('1000');
    expect(await node.exists(scheduleSnapshotKey(prefix, 'board'))).toBe(1);

    await node.script('FLUSH');
    const second = tickRequest('board', 2_000);
    expect(await posts.deliverPost(target(second.requestId, 'm-1'), { blocks: [] } as never)).not.toBeNull();
    await posts.afterDelivery(second, status, [], target(second.requestId, 'm-1'));
    // Same message: not pinned again.
    expect(pins).toHaveLength(1);
    expect(await node.get(scheduleTickKey(prefix, 'board'))).toBe('2000');

    // An older tick, late: not posted, and its record does not put the schedule back.
    const late = tickRequest('board', 1_500);
    expect(await posts.deliverPost(target(late.requestId, 'm-9'), { blocks: [] } as never)).toBeNull();
    await posts.afterDelivery(late, status, [], target(late.requestId, 'm-9'));
    expect(JSON.parse((await node.get(scheduleMessageKey(prefix, 'board'))) ?? 'null')).toMatchObject({ state: { messageId: 'm-1' } });

    // Removed while posting: its keys go (a three-key DEL).
    await redis.hdel(`${prefix}:schedules`, 'board');
    await posts.afterDelivery(tickRequest('board', 3_000), status, [], target('x', 'm-1'));
    expect(
      await node.exists(scheduleMessageKey(prefix, 'board'), scheduleSnapshotKey(prefix, 'board'), scheduleTickKey(prefix, 'board')),
    ).toBe(0);
  });
});

describe('LeaderLease on a Redis Cluster', () => {
  it('one bot leads, the other waits; a release hands over at once; holder() reads it', async () => {
    const { cluster, prefix } = scene;
    const timing = leaseTiming(3_000);
    const client = () =>
      createRedisClient(
        { url: cluster.urls[0] as string, cluster: true },
        { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true },
      );
    const [ca, cb] = [client(), client()];
    await Promise.all([ca.connect(), cb.connect()]);
    const roles: string[] = [];
    const lease = (redis: RedisClient, token: string) =>
      new LeaderLease({ redis, key: leaseKey(prefix), token, timing, logger: quietLogger, onChange: (r) => roles.push(`${token}:${r}`) });
    const a = lease(ca, 'a');
    const b = lease(cb, 'b');
    try {
      await a.start();
      await b.start();
      expect(a.isLeader()).toBe(true);
      expect(b.isLeader()).toBe(false);
      expect(await b.holder()).toMatchObject({ token: 'a' });
      await (await owner()).script('FLUSH');
      expect(await a.release()).toBe(true);
      expect(await (await owner()).get(`${leaseKey(prefix)}:released`)).toBe('a');
      await expect.poll(() => b.isLeader(), { timeout: 2_000 }).toBe(true);
      expect(await a.holder()).toMatchObject({ token: 'b' });
      expect(await (await owner()).exists(`${leaseKey(prefix)}:released`)).toBe(0);
      expect(roles).toEqual(['a:leader', 'b:leader']);
    } finally {
      await a.stop();
      await b.stop();
      await b.release();
      ca.disconnect();
      cb.disconnect();
    }
  });
});
