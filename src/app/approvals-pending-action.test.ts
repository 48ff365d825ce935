import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { approvalDraft as draft } from '../../test/helpers/approval-draft.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { ApprovalStore, approvalAction } from './approvals.ts';

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('one pending request per action, across bots', () => {
  it('a second ask of the same action, at another bot, is told the pending one; a different one is not', async () => {
    const p = `${prefix}:same`;
    const bot1 = new ApprovalStore(redis, p);
    const bot2 = new ApprovalStore(redis, p);
    const first = await bot1.ask(draft('req-1', 'alice', 'web'));
    const again = await bot2.ask(draft('req-2', 'alice', 'web'));
    expect(first.made).toBe(true);
    expect(again).toEqual({ made: false, rec: first.rec });
    // --force, another person, another domain: other actions.
    expect((await bot2.ask(draft('req-3', 'alice', 'web', true))).made).toBe(true);
    expect((await bot2.ask(draft('req-4', 'frank', 'web'))).made).toBe(true);
    expect((await bot2.ask(draft('req-5', 'alice', 'db'))).made).toBe(true);
    // The index key lives under the prefix (its hash slot) and expires with the request.
    const keys = await redis.keys(`${p}:approval-action:*`);
    expect(keys).toHaveLength(4);
    const ttl = await redis.pttl(keys[0] ?? '');
    expect(ttl).toBeGreaterThan(14 * 60_000);
    expect(ttl).toBeLessThanOrEqual(15 * 60_000);
  });

  it('the reason and how the target was typed are not part of the action', () => {
    const a = draft('req-a', 'alice', 'web');
    const typedWithHost = { ...a, args: { domain: { host: 'xen1', domain: 'web' }, force: false, reason: 'kernel' } };
    expect(approvalAction(typedWithHost, ['domain'])).toBe(a.action);
  });

  for (const status of ['denied', 'expired', 'approved'] as const)
    it(`once ${status}, the same action may be asked again`, async () => {
      const p = `${prefix}:${status}`;
      const bot1 = new ApprovalStore(redis, p);
      const bot2 = new ApprovalStore(redis, p);
      const first = await bot1.ask(draft('req-1', 'alice', 'web'));
      await bot2.update(first.rec.id, (r) => ({ ...r, status, decidedAt: Date.now() }));
      expect(await redis.keys(`${p}:approval-action:*`)).toEqual([]);
      const next = await bot1.ask(draft('req-2', 'alice', 'web'));
      expect(next.made).toBe(true);
      expect(next.rec.id).not.toBe(first.rec.id);
    });

  it('an index left pointing at a request no longer pending (written by an older bot) does not block a new ask', async () => {
    const p = `${prefix}:stale`;
    const store = new ApprovalStore(redis, p);
    const first = await store.ask(draft('req-1', 'alice', 'web'));
    const [key] = await redis.keys(`${p}:approval-action:*`);
    // As if decided by a bot that knew nothing of the index: the record says denied, the index still names it.
    await redis.set(`${p}:approval:${first.rec.id}`, JSON.stringify({ ...first.rec, status: 'denied' }), 'KEEPTTL');
    expect(await redis.get(key ?? '')).toBe(first.rec.id);
    const next = await store.ask(draft('req-2', 'alice', 'web'));
    expect(next.made).toBe(true);
  });
});
