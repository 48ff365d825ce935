import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { Config } from '../config/schema.ts';

const { config, person, makeDesk, askStop } = approvalDeskScene();

/** The scene's config with alice's terminal account no longer hers (taken away, or given to someone else). */
const withoutAliceAtTheTerminal = (also: Record<string, unknown> = {}) =>
  Config.parse({ ...config, people: { ...config.people, alice: { roles: ['admin'], identities: {} }, ...also } });

describe('an approval whose requester’s account is no longer theirs in the config (a restart with an edited file)', () => {
  it('the account removed: approved, but not run — xenops would not take a /stop from that account now', async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-identity-1');
    asked.desk.stop();
    const after = await makeDesk({ config: withoutAliceAtTheTerminal() });
    try {
      const answer = await after.desk.approve(id, person('bob'), 'terminal');
      expect({ title: answer.title, blocks: answer.blocks, enqueued: after.enqueued }).toEqual({
        title: 'Approved, but not run',
        blocks: [{ type: 'text', text: 'alice may no longer run /stop there; nothing ran' }],
        enqueued: [],
      });
    } finally {
      after.desk.stop();
    }
  });

  it('the account given to someone else: approved, but not run as alice', async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-identity-2');
    asked.desk.stop();
    const after = await makeDesk({ config: withoutAliceAtTheTerminal({ zed: { roles: [], identities: { terminal: 'alice' } } }) });
    try {
      const answer = await after.desk.approve(id, person('bob'), 'terminal');
      expect({ title: answer.title, enqueued: after.enqueued }).toEqual({ title: 'Approved, but not run', enqueued: [] });
    } finally {
      after.desk.stop();
    }
  });

  it('a request xenops made for alice (a schedule) still runs with the roles the config gives her', async () => {
    const asked = await makeDesk();
    const id = await askStop(asked.desk, 'req-identity-3', { system: true });
    asked.desk.stop();
    const after = await makeDesk({ config: withoutAliceAtTheTerminal() });
    try {
      expect((await after.desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
      expect(after.enqueued).toEqual(['req-identity-3']);
    } finally {
      after.desk.stop();
    }
  });
});
