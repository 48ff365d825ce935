import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { evaluate, isRejection } from '../core/pipeline.ts';
import type { Reply } from '../core/reply.ts';

// The requester's channel lets reads and operations through (so /stop is asked there), not /approve nor /deny; the
// approval channel is not one xenops is enabled in at all.
const { config, makeDesk, askStop } = approvalDeskScene({
  channels: [{ platform: 'terminal', id: 'terminal', commands: ['read', 'operate'] }],
  approvals: { channels: [{ platform: 'terminal', id: 'approvals' }] },
});

/** What the pipeline makes of an Approve click (or a typed /approve) by bob in `channel`. */
function approveIn(channel: string, id: string): string {
  const ev = evaluate(
    { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) },
    {
      id: `click-${channel}`,
      platform: 'terminal',
      actor: { platform: 'terminal', userId: 'bob', roleIds: [], displayName: 'bob' },
      channel: { id: channel, kind: 'group' },
      command: 'approve',
      args: { kind: 'options', options: { id } },
      receivedAt: Date.now(),
      source: 'action',
    },
  );
  return isRejection(ev) ? ev.reason : 'allowed';
}

const text = (card: Reply | undefined) => JSON.stringify(card?.blocks);

describe("an approval card posted where the channel's config refuses /approve and /deny", () => {
  it('has no Approve/Deny buttons there (each click would be refused) and says why and what to do', async () => {
    const { desk, delivered } = await makeDesk();
    const id = await askStop(desk, 'req-filter-1', { requester: 'frank' });
    desk.stop();
    // The premise: a click on either card would be refused by the pipeline.
    expect(approveIn('terminal', id)).toBe('Not allowed here: /approve is not allowed in this channel');
    expect(approveIn('approvals', id)).toBe('Not allowed here: xenops is not enabled in this terminal channel (approvals)');
    for (const channel of ['terminal', 'approvals']) {
      const card = delivered.find((d) => d.channel === channel)?.reply;
      expect({ channel, buttons: card?.actions ?? [] }).toEqual({ channel, buttons: [] });
      expect(text(card)).toContain(
        `/approve ${id} and /deny ${id} are not allowed in this channel (config: channels): approve where they are, or allow them here`,
      );
    }
  });
});
