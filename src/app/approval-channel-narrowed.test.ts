import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { Config } from '../config/schema.ts';

const { config, person, makeDesk, askStop } = approvalDeskScene({ approvals: { channels: [{ platform: 'terminal', id: 'approvals' }] } });

/** The scene's config with the terminal channels let in as `channels` says (a restart with an edited file). */
const narrowed = (channels: unknown[]) => Config.parse({ ...config, channels });

describe('an approval asked in a channel whose command filter was narrowed since (a restart with an edited file)', () => {
  it("/stop no longer allowed in the requester's channel: approved but not run; approver, cards and audit are told", async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-channel-1');
    asked.desk.stop();
    // The requester's channel now lets only reads through: a /stop typed there is "Not allowed here".
    const after = await makeDesk({ config: narrowed([{ platform: 'terminal', id: '*', commands: ['read'] }]) });
    try {
      const answer = await after.desk.approve(id, person('bob'), 'terminal');
      expect({ title: answer.title, blocks: answer.blocks, enqueued: after.enqueued }).toEqual({
        title: 'Approved, but not run',
        blocks: [{ type: 'text', text: "/stop is not allowed in alice's channel (terminal) now; nothing ran" }],
        enqueued: [],
      });
      expect(after.delivered.filter((d) => d.reply.title === '/stop xen1:web was approved but did not run').map((d) => d.channel)).toEqual([
        'terminal',
        'approvals',
      ]);
      expect(after.audited.filter((e) => e.detail?.includes('not run')).map((e) => e.detail)).toEqual([
        `${id} approved but not run: /stop is not allowed in alice's channel (terminal) now; nothing ran`,
      ]);
    } finally {
      after.desk.stop();
    }
  });

  it("the requester's channel no longer let in at all: not run either", async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-channel-2');
    asked.desk.stop();
    const after = await makeDesk({ config: narrowed([{ platform: 'terminal', id: 'ops-room' }]) });
    try {
      const answer = await after.desk.approve(id, person('bob'), 'terminal');
      expect({ title: answer.title, blocks: answer.blocks, enqueued: after.enqueued }).toEqual({
        title: 'Approved, but not run',
        blocks: [{ type: 'text', text: "xenops is not enabled in alice's channel (terminal) now; nothing ran" }],
        enqueued: [],
      });
    } finally {
      after.desk.stop();
    }
  });

  it('a filter that still lets it through (by its permission group) runs it', async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-channel-3');
    asked.desk.stop();
    const after = await makeDesk({ config: narrowed([{ platform: 'terminal', id: 'terminal', commands: ['operate'] }]) });
    try {
      expect((await after.desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
      expect(after.enqueued).toEqual(['req-channel-3']);
    } finally {
      after.desk.stop();
    }
  });

  it("one xenops asked for a person (a schedule's tick, no channel filter applies to it) still runs", async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-channel-4', { system: true });
    asked.desk.stop();
    const after = await makeDesk({ config: narrowed([{ platform: 'terminal', id: '*', commands: ['read'] }]) });
    try {
      expect((await after.desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
      expect(after.enqueued).toEqual(['req-channel-4']);
    } finally {
      after.desk.stop();
    }
  });
});
