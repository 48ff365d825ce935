import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL } from '../../test/helpers/redis.ts';

/**
 * A pending approval request Redis lost (restarted without its data, flushed): nobody can approve it any more, and
 * its requester and the approval channel must not be left with a card asking for it — told when it would have expired.
 */
const { prefix, makeDesk, askStop } = approvalDeskScene({
  approvals: { escalateMinutes: 60, channels: [{ platform: 'terminal', id: 'approvals' }] },
});

describe('a pending approval Redis lost', () => {
  it('is said to be lost, nothing run, on every card when it would have expired', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { desk, delivered, audited, enqueued } = await makeDesk();
      const id = await askStop(desk, 'req-oa-lost-1');
      expect(id).toMatch(/^[A-Z2-9]{6}$/);
      // Redis restarted without its data: every key of the prefix is gone.
      await deleteKeysWithPrefix(REDIS_URL, prefix);
      const before = delivered.length;
      await vi.advanceTimersByTimeAsync(15 * 60_000 + 1_000);
      await vi.waitFor(() => expect(delivered.length).toBeGreaterThanOrEqual(before + 2));
      desk.stop();
      const told = delivered.slice(before).map((d) => ({
        channel: d.channel,
        title: d.reply.title,
        text: d.reply.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n'),
        buttons: d.reply.actions?.length ?? 0,
      }));
      const lost = {
        title: `Approval ${id} was lost`,
        text: '/stop xen1:web: Redis lost the request (restarted without its data, or flushed) before it was approved; nothing ran — ask again if it is still needed',
        buttons: 0,
      };
      expect(told).toEqual([
        { channel: 'terminal', ...lost },
        { channel: 'approvals', ...lost },
      ]);
      expect(audited.at(-1)?.detail).toBe(`${id} lost with Redis's data before it was decided; nothing ran`);
      expect(enqueued).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
