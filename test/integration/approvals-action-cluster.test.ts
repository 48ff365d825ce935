import { describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../src/app/approvals.ts';
import { approvalDraft as draft } from '../helpers/approval-draft.ts';
import { clusterWithBotClient } from '../helpers/redis-cluster.ts';

/**
 * The approval store's one-pending-request-per-action index on a three-master Redis Cluster, the prefix's slot on a
 * master other than the seed: the record, the pending set and the action's index are one script's keys, in one slot.
 */
const scene = clusterWithBotClient();

describe('ApprovalStore.ask on a Redis Cluster', () => {
  it('a second ask of a pending action gets the first; once withdrawn, a new one is made', async () => {
    const bot1 = new ApprovalStore(scene.redis, scene.prefix);
    const bot2 = new ApprovalStore(scene.redis, scene.prefix);
    const first = await bot1.ask(draft('req-1'));
    expect(first.made).toBe(true);
    expect(await bot2.ask(draft('req-2'))).toEqual({ made: false, rec: first.rec });
    await bot2.update(first.rec.id, (r) => ({ ...r, status: 'denied', decidedBy: 'alice', decidedAt: Date.now() }));
    const next = await bot1.ask(draft('req-3'));
    expect(next.made).toBe(true);
    expect(next.rec.id).not.toBe(first.rec.id);
  });
});
