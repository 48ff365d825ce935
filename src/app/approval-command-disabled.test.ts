import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { Config } from '../config/schema.ts';

const { config, person, makeDesk, askStop } = approvalDeskScene({ approvals: { channels: [{ platform: 'terminal', id: 'approvals' }] } });

describe('an approval of a command the config disabled since it was asked (a restart with an edited file)', () => {
  it('is approved but not run: the approver, the requester, every card and the audit are told; nothing is queued', async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-disabled-1');
    asked.desk.stop();
    // The operators turned /stop off (commands.stop.disabled) and restarted: a typed /stop is "Unknown command" now.
    const after = await makeDesk({ config: Config.parse({ ...config, commands: { stop: { disabled: true } } }) });
    try {
      const answer = await after.desk.approve(id, person('bob'), 'terminal');
      expect({ title: answer.title, blocks: answer.blocks, enqueued: after.enqueued }).toEqual({
        title: 'Approved, but not run',
        blocks: [{ type: 'text', text: '/stop is disabled here now; nothing ran' }],
        enqueued: [],
      });
      expect(after.delivered.filter((d) => d.reply.title === '/stop xen1:web was approved but did not run').map((d) => d.channel)).toEqual([
        'terminal',
        'approvals',
      ]);
      expect(after.audited.filter((e) => e.detail?.includes('not run')).map((e) => e.detail)).toEqual([
        `${id} approved but not run: /stop is disabled here now; nothing ran`,
      ]);
    } finally {
      after.desk.stop();
    }
  });
});
