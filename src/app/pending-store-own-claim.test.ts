import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { type PendingRequest, PendingStore } from './pending-store.ts';

/**
 * `ours`: a claim of a final reply that this bot holds unsent is reported to it (and renewed), so that a bot whose
 * claim Redis carried out without answering can still deliver the reply — its Relay tells that from its own
 * delivery in flight. Without `ours`, nothing changes: the claim is refused as before.
 */
const prefix = uniquePrefix();
let redis: Redis;
let n = 0;

function request(hosts: number): PendingRequest {
  const requestId = `own-${++n}`;
  const meta = { requestId, person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'terminal', command: 'status' };
  return {
    requestId,
    command: 'status',
    args: {},
    person: 'alice',
    platform: 'terminal',
    userId: 'alice',
    channelId: 'terminal',
    target: { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
    mode: 'parallel',
    jobs: Array.from({ length: hosts }, (_, i) => {
      const host = `h${i}`;
      return { jobId: `r-${requestId}-${host}`, host, op: 'host.status' as const, data: { op: 'host.status' as const, host, meta } };
    }),
    deadline: null,
    pickupBy: null,
    createdAt: Date.now(),
  };
}

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
