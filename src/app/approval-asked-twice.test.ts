import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import type { ApprovalDesk } from './approval-desk.ts';

const { store, stop, person, makeDesk } = approvalDeskScene({
  people: { frank: { roles: ['admin'], identities: { terminal: 'frank' } } },
});

/** `requester` asks for /stop web (--force with `force`) as request `requestId`, as the pipeline hands it over. */
async function ask(desk: ApprovalDesk, requestId: string, requester: string, force = false): Promise<void> {
  if (!stop) throw new Error('no stop');
  await desk.request(
    {
      id: requestId,
      platform: 'terminal',
      actor: { platform: 'terminal', userId: requester, roleIds: [], displayName: requester },
      channel: { id: 'terminal', kind: 'direct' },
      command: 'stop',
      args: { kind: 'text', text: 'web' },
      receivedAt: Date.now(),
      source: 'command',
    },
    { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
    {
      kind: 'needsApproval',
      evaluated: { command: stop, args: { domain: { domain: 'web' }, force }, person: person(requester), risk: 'write' },
      command: stop,
      targets: [{ host: 'xen1', domain: 'web' }],
      mode: 'parallel',
      jobs: [{ op: 'domain.stop', host: 'xen1', domain: 'web', force }],
      policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers: 'oncall', count: 1, expiresMinutes: 15 },
    },
  );
}

async function pendingOf(requestIds: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const id of await store.pendingIds()) if (requestIds.includes((await store.get(id))?.requestId ?? '')) ids.push(id);
  return ids;
}

const asked = (at: number) => new Date(at).toISOString().slice(11, 19);

describe('the same request asked twice while the first waits', () => {
  it('the second is told the first is waiting, and no second card goes out — at the same bot or another', async () => {
    const bot1 = await makeDesk();
    const bot2 = await makeDesk();
    try {
      await ask(bot1.desk, 'req-twice-1', 'alice');
      const [id] = await pendingOf(['req-twice-1']);
      const rec = await store.get(id ?? '');
      await ask(bot1.desk, 'req-twice-2', 'alice');
      await ask(bot2.desk, 'req-twice-3', 'alice');
      expect(await pendingOf(['req-twice-1', 'req-twice-2', 'req-twice-3'])).toEqual([id]);
      const needed = [...bot1.titles(), ...bot2.titles()].filter((t) => t.startsWith('Approval needed'));
      expect(needed).toEqual([`Approval needed: /stop xen1:web — ${id}`]);
      const said = `Already waiting for approval: ${id} (asked ${asked(rec?.createdAt ?? 0)} UTC)`;
      expect(bot1.titles().at(-1)).toBe(said);
      expect(bot2.titles().at(-1)).toBe(said);
      // Withdrawn, it may be asked again.
      await bot1.desk.deny(id ?? '', person('alice'), undefined);
      await ask(bot2.desk, 'req-twice-4', 'alice');
      expect(await pendingOf(['req-twice-4'])).toHaveLength(1);
    } finally {
      bot1.desk.stop();
      bot2.desk.stop();
    }
  });

  it('with --force, or by another person, it is another request', async () => {
    const { desk, titles } = await makeDesk();
    try {
      await ask(desk, 'req-other-1', 'frank');
      await ask(desk, 'req-other-2', 'frank', true);
      await ask(desk, 'req-other-3', 'bob');
      const ids = await pendingOf(['req-other-1', 'req-other-2', 'req-other-3']);
      expect(ids).toHaveLength(3);
      expect(titles().filter((t) => t.startsWith('Already waiting'))).toEqual([]);
      // Withdrawn, so the tests after may ask for the same.
      for (const id of ids) await desk.deny(id, person((await store.get(id))?.requester ?? ''), undefined);
    } finally {
      desk.stop();
    }
  });
});

describe('the answer to a /deny', () => {
  it('to the requester withdrawing it does not tell them they are told', async () => {
    const { desk } = await makeDesk();
    try {
      await ask(desk, 'req-withdraw-1', 'alice', true);
      const [id = ''] = await pendingOf(['req-withdraw-1']);
      const answer = await desk.deny(id, person('alice'), 'nope');
      expect({ title: answer.title, blocks: answer.blocks }).toEqual({
        title: `Withdrawn ${id}`,
        blocks: [{ type: 'text', text: 'nothing ran' }],
      });
    } finally {
      desk.stop();
    }
  });

  it('to an approver denying it says the requester is told', async () => {
    const { desk } = await makeDesk();
    try {
      await ask(desk, 'req-deny-1', 'frank', true);
      const [id = ''] = await pendingOf(['req-deny-1']);
      const answer = await desk.deny(id, person('bob'), 'not now');
      expect(answer.blocks).toEqual([{ type: 'text', text: 'frank is told; nothing ran' }]);
    } finally {
      desk.stop();
    }
  });
});
