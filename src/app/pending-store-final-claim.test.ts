import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pendingStatusRequest } from '../../test/helpers/pending-request.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { type PendingRequest, PendingStore } from './pending-store.ts';

/**
 * A final reply's claim (`final:ID`), by which one bot alone sends it.
 *
 * `ours`: a claim of a final reply that this bot holds unsent is reported to it (and renewed), so that a bot whose
 * claim Redis carried out without answering can still deliver the reply — its Relay tells that from its own
 * delivery in flight. Without `ours`, nothing changes: the claim is refused as before.
 */
const prefix = uniquePrefix();
let redis: Redis;
let n = 0;
const HOUR_MS = 3_600_000;

const request = (hosts: number): PendingRequest => pendingStatusRequest(`own-${++n}`, hosts);

/**
 * Time passing in Redis, for this file's keys: each TTL shortened by `ms`, a key whose TTL runs out deleted — what
 * Redis's own expiry would have done by then.
 */
async function elapse(ms: number): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const k of keys) {
      const ttl = await redis.pttl(k);
      if (ttl < 0) continue;
      if (ttl <= ms) await redis.del(k);
      else await redis.pexpire(k, ttl - ms);
    }
  } while (cursor !== '0');
}

const pendingKey = (p: PendingRequest) => `${prefix}:pending:${p.requestId}`;
const finalKey = (p: PendingRequest) => `${prefix}:final:${p.requestId}`;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

describe('PendingStore: a claim of this bot’s own, unsent', () => {
  it('claimFinal: reported as ours and renewed; never another bot’s, nor one marked sent', async () => {
    const mine = new PendingStore(redis, prefix, 'mine01');
    const other = new PendingStore(redis, prefix, 'othr01');
    const p = request(1);
    await mine.save(p);
    expect(await mine.claimFinal(p.requestId, { ours: true })).toEqual({ kind: 'claimed' });
    // Its age as a takeover reads it: made an hour ago.
    await redis.pexpire(finalKey(p), 86_400_000 - 3_600_000);
    expect(await mine.claimFinal(p.requestId)).toBeNull();
    expect(await mine.claimFinal(p.requestId, { takeOver: true })).toBeNull();
    expect(await mine.claimFinal(p.requestId, { ours: true })).toEqual({ kind: 'ours' });
    // Renewed: another bot's recovery waits the grace again before taking it over.
    expect(await redis.pttl(finalKey(p))).toBeGreaterThan(86_400_000 - 60_000);
    expect(await other.claimFinal(p.requestId, { takeOver: true, graceMs: 60_000 })).toMatchObject({ kind: 'tooYoung' });
    await redis.pexpire(finalKey(p), 86_400_000 - 3_600_000);
    expect(await mine.claimFinal(p.requestId, { takeOver: true, graceMs: 60_000, ours: true })).toEqual({ kind: 'ours' });
    expect(await redis.pttl(finalKey(p))).toBeGreaterThan(86_400_000 - 60_000);
    // Another bot's is never reported as ours.
    expect(await other.claimFinal(p.requestId, { ours: true })).toBeNull();
    expect(await redis.get(finalKey(p))).toBe('mine01');
    // Sent: nothing.
    await mine.markSent(p.requestId);
    expect(await mine.claimFinal(p.requestId, { ours: true })).toBeNull();
    expect(await mine.claimFinal(p.requestId, { takeOver: true, ours: true })).toBeNull();
    expect(await redis.get(finalKey(p))).toBe('mine01:sent');
    // A takeover reports no request that is no longer pending.
    const q = request(1);
    await mine.save(q);
    expect(await mine.claimFinal(q.requestId)).toEqual({ kind: 'claimed' });
    await mine.remove(q);
    expect(await mine.claimFinal(q.requestId, { takeOver: true, ours: true })).toBeNull();
  });

  it('recordAndClaim: the outcome that completes a request already claimed by this bot returns it, ours, with every outcome', async () => {
    const mine = new PendingStore(redis, prefix, 'mine02');
    const other = new PendingStore(redis, prefix, 'othr02');
    const p = request(2);
    const [a, b] = p.jobs.map((j) => j.jobId) as [string, string];
    await mine.save(p);
    await mine.recordOutcomeOnce(p.requestId, a, { ok: true, result: 'a' });
    const first = await mine.recordAndClaim(p.requestId, b, { ok: true, result: 'b' }, 2, { ours: true });
    expect(first.final).toEqual({ target: p.target, outcomes: { [a]: { ok: true, result: 'a' }, [b]: { ok: true, result: 'b' } } });
    // The same call again (a resend after a reconnect): this bot's claim, and the same outcomes, as stored.
    await redis.pexpire(finalKey(p), 60_000);
    const again = await mine.recordAndClaim(p.requestId, b, { ok: true, result: 'b' }, 2, { ours: true });
    expect(again).toEqual({
      recorded: false,
      count: 2,
      final: { target: p.target, outcomes: { [a]: { ok: true, result: 'a' }, [b]: { ok: true, result: 'b' } }, ours: true },
    });
    expect(await redis.pttl(finalKey(p))).toBeGreaterThan(86_400_000 - 60_000);
    // Without `ours`, or for another bot: claimed already.
    expect((await mine.recordAndClaim(p.requestId, b, { ok: true, result: 'b' }, 2)).final).toBeNull();
    expect((await other.recordAndClaim(p.requestId, b, { ok: true, result: 'b' }, 2, { ours: true })).final).toBeNull();
    await mine.markSent(p.requestId);
    expect((await mine.recordAndClaim(p.requestId, b, { ok: true, result: 'b' }, 2, { ours: true })).final).toBeNull();
  });
});

/**
 * A request's final claim (`final:ID`) is what tells a recovery that its reply went out. A request whose reply was
 * sent and marked sent, but whose removal was cut off (its bot died, a removal Redis refused), stays pending until its
 * TTL; if the claim expired before it, the next recovery found a pending request with no claim and sent its final
 * reply again. The claim must outlive the request, by whichever route it was claimed.
 */
describe('PendingStore: a final claim outlives its request', () => {
  it('a reply sent an hour after the request, its removal cut off: no recovery a day later sends it again', async () => {
    const sender = new PendingStore(redis, prefix, 'sendr1');
    const recovery = new PendingStore(redis, prefix, 'recov1');
    const p = request(1);
    await sender.save(p);
    await elapse(HOUR_MS);
    // The job's outcome comes, completes the request and claims its reply; the reply goes out, marked sent; the bot
    // dies before removing the request.
    const done = await sender.recordAndClaim(p.requestId, p.jobs[0]?.jobId as string, { ok: true, result: 'started' }, 1);
    expect(done.final).not.toBeNull();
    await sender.markSent(p.requestId);
    expect(await redis.pttl(finalKey(p))).toBeGreaterThanOrEqual(await redis.pttl(pendingKey(p)));
    // Any time later, a recovery (a new leader, a reconnect) never claims it anew.
    for (const step of [20 * HOUR_MS, 5 * HOUR_MS, 20 * HOUR_MS]) {
      await elapse(step);
      const claim = await recovery.claimFinal(p.requestId, { takeOver: true, graceMs: 14_000, ours: true });
      expect(claim === null || claim.kind === 'sentElsewhere', JSON.stringify(claim)).toBe(true);
    }
  });

  it('by every route a reply is claimed, the request lives no longer than its claim', async () => {
    const store = new PendingStore(redis, prefix, 'route1');
    const other = new PendingStore(redis, prefix, 'route2');
    const routes: Array<(p: PendingRequest) => Promise<unknown>> = [
      (p) => store.recordAndClaim(p.requestId, p.jobs[0]?.jobId as string, { ok: true, result: 'x' }, 1),
      (p) => store.claimFinal(p.requestId),
      (p) => store.claimFinal(p.requestId, { ours: true }),
      (p) => store.claimFinal(p.requestId, { takeOver: true, graceMs: 14_000 }),
      async (p) => {
        // Another bot's claim, made and left unsent, taken over past its grace.
        await other.claimFinal(p.requestId);
        await redis.pexpire(finalKey(p), 60_000);
        return store.claimFinal(p.requestId, { takeOver: true, graceMs: 14_000 });
      },
    ];
    for (const [i, claim] of routes.entries()) {
      const p = request(1);
      await store.save(p);
      expect(await claim(p), `route ${i}`).not.toBeNull();
      const [final, pending] = [await redis.pttl(finalKey(p)), await redis.pttl(pendingKey(p))];
      expect(pending, `route ${i}`).toBeGreaterThan(0);
      expect(final, `route ${i}: the claim's TTL against the request's`).toBeGreaterThan(pending);
    }
  });
});
