import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingStatusRequest } from '../../test/helpers/pending-request.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import type { ReplyTarget } from '../adapters/types.ts';
import { type PendingRequest, PendingStore } from './pending-store.ts';

const prefix = uniquePrefix();
let redis: Redis;
let store: PendingStore;
let n = 0;

const target = (messageId: string): ReplyTarget => ({ platform: 'terminal', channelId: 'terminal', requestId: 'x', state: { messageId } });

const request = (hosts: number): PendingRequest =>
  pendingStatusRequest(`req-${++n}`, hosts, { target: target('m0'), deadline: Date.now() + 60_000 });

beforeAll(() => {
  redis = new Redis(REDIS_URL);
  store = new PendingStore(redis, prefix);
});

afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('PendingStore (Redis): the reply target has a key of its own', () => {
  it('an edit writes the target alone: the stored request is not rewritten, and get() returns the new target', async () => {
    const p = request(1_000);
    await store.save(p);
    const before = await redis.get(`${prefix}:pending:${p.requestId}`);
    await store.updateTarget(p.requestId, target('m1'));
    expect(await redis.get(`${prefix}:pending:${p.requestId}`)).toBe(before);
    expect(await store.target(p.requestId)).toEqual(target('m1'));
    expect(await store.get(p.requestId)).toEqual({ ...p, target: target('m1') });
    expect(await redis.ttl(`${prefix}:pending-target:${p.requestId}`)).toBeGreaterThan(86_400);
  });

  it('a finished request is not brought back by a late edit, and has no target', async () => {
    const p = request(2);
    await store.save(p);
    await store.remove(p);
    await store.updateTarget(p.requestId, target('m1'));
    expect(await store.get(p.requestId)).toBeNull();
    expect(await store.target(p.requestId)).toBeNull();
    expect(await redis.exists(`${prefix}:pending-target:${p.requestId}`, `${prefix}:pending:${p.requestId}`)).toBe(0);
  });

  it('gone(): a request still saved is not gone; one removed after its final claim finished; one Redis lost, lost', async () => {
    const [kept, finished, lost] = [request(1), request(1), request(1)];
    for (const p of [kept, finished, lost]) await store.save(p);
    expect(await store.claimFinal(finished.requestId)).toEqual({ kind: 'claimed' });
    await store.remove(finished);
    // As a flush or a restart without the data leaves it: nothing of it at all.
    await redis.del(`${prefix}:pending:${lost.requestId}`, `${prefix}:pending-target:${lost.requestId}`);
    const gone = await store.gone([kept.requestId, finished.requestId, lost.requestId, 'never-saved']);
    expect(Object.fromEntries(gone)).toEqual({ [finished.requestId]: 'finished', [lost.requestId]: 'lost', 'never-saved': 'lost' });
  });

  it('forget() removes the target key too', async () => {
    const p = request(2);
    await store.save(p);
    await store.forget(p.requestId);
    expect(await redis.exists(`${prefix}:pending-target:${p.requestId}`)).toBe(0);
  });

  it('a request saved without a target key (by an older bot) is still edited, in its stored copy', async () => {
    const p = request(2);
    await redis.set(`${prefix}:pending:${p.requestId}`, JSON.stringify(p), 'EX', 3_600);
    await store.updateTarget(p.requestId, target('m2'));
    expect(await redis.exists(`${prefix}:pending-target:${p.requestId}`)).toBe(0);
    expect(await store.get(p.requestId)).toEqual({ ...p, target: target('m2') });
    expect(await store.target(p.requestId)).toEqual(target('m2'));
    expect(await redis.ttl(`${prefix}:pending:${p.requestId}`)).toBeGreaterThan(3_000);
  });
});

describe('PendingStore (Redis): outcomes', () => {
  it('the last outcome claims the reply once, with every outcome: its own from the caller, the stored ones as stored', async () => {
    const p = request(4);
    const [a, b] = p.jobs.map((j) => j.jobId) as [string, string];
    await store.save(p);
    await store.updateTarget(p.requestId, target('m4'));
    expect(await store.recordAndClaim(p.requestId, a, { ok: true, result: { n: 1 } }, 2)).toEqual({
      recorded: true,
      count: 1,
      final: null,
    });
    const last = await store.recordAndClaim(p.requestId, b, { ok: true, result: { n: 2 } }, 2);
    expect(last).toEqual({
      recorded: true,
      count: 2,
      final: { target: target('m4'), outcomes: { [a]: { ok: true, result: { n: 1 } }, [b]: { ok: true, result: { n: 2 } } } },
    });
    // The reply is claimed once.
    expect((await store.recordAndClaim(p.requestId, b, { ok: true, result: { n: 3 } }, 2)).final).toBeNull();

    // An outcome another bot recorded without claiming: the stored one is what the claim returns, not the caller's.
    const q = request(5);
    const [c] = q.jobs.map((j) => j.jobId) as [string];
    await store.save(q);
    await store.recordOutcomeCounted(q.requestId, c, { ok: true, result: { n: 'stored' } });
    expect((await store.recordAndClaim(q.requestId, c, { ok: true, result: { n: 'mine' } }, 1)).final?.outcomes).toEqual({
      [c]: { ok: true, result: { n: 'stored' } },
    });
  });

  it('a recovery takes over a claim another bot made and did not see through — once it is older than the grace — never its own', async () => {
    const gone = new PendingStore(redis, prefix, 'gone01');
    const leader = new PendingStore(redis, prefix, 'lead01');
    const p = request(1);
    const [a] = p.jobs.map((j) => j.jobId) as [string];
    await store.save(p);
    // The old leader's last outcome claims the reply (then it dies before sending it).
    expect((await gone.recordAndClaim(p.requestId, a, { ok: true, result: {} }, 1)).final).not.toBeNull();
    expect(await redis.get(`${prefix}:final:${p.requestId}`)).toBe('gone01');
    expect(await redis.ttl(`${prefix}:final:${p.requestId}`)).toBeGreaterThan(86_000);
    // Events and deadlines do not take another's claim. A recovery waits while the claim is young (its bot may be
    // sending the reply now), and says how long.
    expect(await leader.claimFinal(p.requestId)).toBeNull();
    const young = await leader.claimFinal(p.requestId, { takeOver: true, graceMs: 60_000 });
    expect(young?.kind).toBe('tooYoung');
    expect((young as { waitMs: number }).waitMs).toBeGreaterThan(55_000);
    expect((young as { waitMs: number }).waitMs).toBeLessThanOrEqual(60_000);
    expect(await redis.get(`${prefix}:final:${p.requestId}`)).toBe('gone01');
    // Older than the grace: taken over, once.
    expect(await leader.claimFinal(p.requestId, { takeOver: true, graceMs: 0 })).toEqual({ kind: 'takenOver' });
    expect(await redis.get(`${prefix}:final:${p.requestId}`)).toBe('lead01');
    expect(await redis.ttl(`${prefix}:final:${p.requestId}`)).toBeGreaterThan(86_000);
    // Its own claim (a delivery of its own in flight, recovered again after a Redis outage) is not claimed again.
    expect(await leader.claimFinal(p.requestId, { takeOver: true })).toBeNull();
    // Sent: marked, so another bot's recovery only finishes the bookkeeping; its own does nothing.
    await gone.markSent(p.requestId);
    expect(await redis.get(`${prefix}:final:${p.requestId}`)).toBe('lead01');
    await leader.markSent(p.requestId);
    expect(await redis.get(`${prefix}:final:${p.requestId}`)).toBe('lead01:sent');
    expect(await gone.claimFinal(p.requestId, { takeOver: true })).toEqual({ kind: 'sentElsewhere' });
    expect(await leader.claimFinal(p.requestId, { takeOver: true })).toBeNull();
    // Removed: nobody claims it again.
    await store.remove(p);
    expect(await gone.claimFinal(p.requestId, { takeOver: true })).toBeNull();
    // Unclaimed and pending: a plain claim.
    const q = request(1);
    await store.save(q);
    expect(await leader.claimFinal(q.requestId, { takeOver: true, graceMs: 60_000 })).toEqual({ kind: 'claimed' });
    expect(await gone.claimFinal(q.requestId)).toBeNull();
  });

  it('markSentAndRemove marks its own claim sent, never another bot’s, and leaves none of the request’s keys', async () => {
    const mine = new PendingStore(redis, prefix, 'mine01');
    const other = new PendingStore(redis, prefix, 'othr01');
    const keysOf = async (p: PendingRequest) =>
      (await redis.keys(`${prefix}:*`)).filter((k) => k.includes(p.requestId) && !k.includes(':final:')).sort();
    for (const [claimer, expected] of [
      [mine, 'mine01:sent'],
      [other, 'othr01'],
    ] as const) {
      const p = request(2);
      await store.save(p);
      await store.recordOutcomeOnce(p.requestId, p.jobs[0]?.jobId as string, { ok: true, result: {} });
      expect(await keysOf(p)).toHaveLength(5);
      expect(await claimer.claimFinal(p.requestId)).toEqual({ kind: 'claimed' });
      await mine.markSentAndRemove(p);
      expect(await redis.get(`${prefix}:final:${p.requestId}`)).toBe(expected);
      expect(await keysOf(p)).toEqual([]);
      expect(await redis.sismember(`${prefix}:pending-index`, p.requestId)).toBe(0);
    }
  });

  it('markSentAndRemove removes a request over more hosts than one Lua call may unpack', async () => {
    const mine = new PendingStore(redis, prefix, 'many01');
    const p = request(9_000);
    await store.save(p);
    expect(await mine.claimFinal(p.requestId)).toEqual({ kind: 'claimed' });
    await mine.markSentAndRemove(p);
    expect(await redis.get(`${prefix}:final:${p.requestId}`)).toBe('many01:sent');
    expect(await redis.exists(`${prefix}:pending:${p.requestId}`, `${prefix}:pending-job:${p.jobs[8_999]?.jobId}`)).toBe(0);
  });

  it('records a job’s first outcome only, counts the request’s outcomes, and keeps them as long as the request', async () => {
    const p = request(3);
    const [a, b] = p.jobs.map((j) => j.jobId) as [string, string];
    await store.save(p);
    expect(await store.recordOutcomeCounted(p.requestId, a, { ok: true, result: { n: 1 } })).toEqual({ recorded: true, count: 1 });
    expect(await store.recordOutcomeCounted(p.requestId, a, { ok: true, result: { n: 2 } })).toEqual({ recorded: false, count: 1 });
    expect(await store.recordOutcomeOnce(p.requestId, b, { ok: false, failure: { code: 'noAnswer', message: 'late' } })).toBe(true);
    expect(await store.outcomes(p.requestId)).toEqual({
      [a]: { ok: true, result: { n: 1 } },
      [b]: { ok: false, failure: { code: 'noAnswer', message: 'late' } },
    });
    expect(await redis.ttl(`${prefix}:pending-outcomes:${p.requestId}`)).toBeGreaterThan(86_400);
  });
});
