import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import type { ReplyTarget } from '../adapters/types.ts';
import type { Reply } from '../core/reply.ts';

const { person, makeDesk, askStop } = approvalDeskScene({
  people: { frank: { roles: ['operator'], identities: { terminal: 'frank' } } },
  approvals: { escalateMinutes: 5, channels: [{ platform: 'terminal', id: 'approvals' }] },
});

/**
 * The requester's chat is gone: the adapter puts the requester's card in their private chat instead (a delivery
 * marked `privately`), as the Discord and Telegram adapters do; every other card is delivered where it was.
 */
const privateRequesterChat = (t: ReplyTarget): ReplyTarget => (t.channelId === 'terminal' ? { ...t, privately: true } : t);

describe("an approved request's cards drawn again later, when its result goes to the requester privately", () => {
  it('a card an escalation re-draws after the approval says the result goes privately, as the first one did', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // The escalation's edit of the approval channel's card waits (a platform's rate limit) until released.
      let release = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let escalationWaiting = false;
      const delivered: { channel: string; reply: Reply }[] = [];
      const deliver = async (t: ReplyTarget, r: Reply) => {
        if (t.channelId === 'approvals' && r.title.startsWith('Escalated')) {
          escalationWaiting = true;
          await held;
        }
        delivered.push({ channel: t.channelId, reply: r });
        return privateRequesterChat(t);
      };
      const { desk } = await makeDesk({ deliver, deliverOrThrow: deliver, nextOnCall: async () => 'alice' });
      const id = await askStop(desk, 'req-reach-1', { requester: 'frank' });
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(escalationWaiting).toBe(true));
      const approved = await desk.approve(id, person('bob'), 'terminal');
      expect(approved.blocks).toEqual([
        { type: 'text', text: "/stop xen1:web is running; frank's chat cannot be reached, so frank gets the result privately" },
      ]);
      release();
      // The escalation overwrote the approval channel's card, then puts it right: with the same truth.
      const approvals = () => delivered.filter((d) => d.channel === 'approvals').map((d) => d.reply.title);
      await vi.waitFor(() =>
        expect(approvals().slice(-2)).toEqual([expect.stringMatching(/^Escalated/), '/stop xen1:web approved by bob']),
      );
      desk.stop();
      const said = delivered
        .filter((d) => d.channel === 'approvals' && d.reply.title === '/stop xen1:web approved by bob')
        .map((d) => d.reply.blocks);
      expect(said).toEqual([
        [{ type: 'text', text: "running; frank's chat cannot be reached: the result goes to frank privately" }],
        [{ type: 'text', text: "running; frank's chat cannot be reached: the result goes to frank privately" }],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a later /approve is told where the result went, not "to frank" when it reached nobody', async () => {
    const deliver = async (t: ReplyTarget, _r: Reply) => privateRequesterChat(t);
    const nowhere = async (t: ReplyTarget, r: Reply): Promise<ReplyTarget> => {
      if (t.channelId === 'terminal') throw new Error("the requester's chat and private chat are both gone");
      return deliver(t, r);
    };
    const { desk } = await makeDesk({ deliver, deliverOrThrow: nowhere });
    const id = await askStop(desk, 'req-reach-2', { requester: 'frank' });
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
    const later = await desk.approve(id, person('alice'), 'terminal');
    desk.stop();
    expect(JSON.stringify(later.blocks)).toContain(
      "it was queued once, but frank's chat cannot be reached, nor frank privately: /audit shows the result",
    );
  });
});
