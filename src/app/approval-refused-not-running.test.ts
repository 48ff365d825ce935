import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import type { JobSpec } from '../core/define-command.ts';
import type { AnyJobCommand } from '../core/pipeline.ts';
import type { Reply } from '../core/reply.ts';
import type { ApprovalDesk } from './approval-desk.ts';
import { Refusal } from './dispatch.ts';

const { store, person, makeDesk } = approvalDeskScene({
  approvals: { channels: [{ platform: 'terminal', id: 'approvals' }] },
});

/** alice asks for a plan (`command` with `args`: its jobs in sequence, on `hosts`), on-call bob approves; the approval's id. */
async function askPlan(
  desk: ApprovalDesk,
  requestId: string,
  name: string,
  args: Record<string, unknown>,
  hosts: string[],
  jobs: JobSpec[],
) {
  const command = (await import('../../commands/index.ts')).COMMANDS.find((c) => c.name === name) as AnyJobCommand;
  await desk.request(
    {
      id: requestId,
      platform: 'terminal',
      actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
      channel: { id: 'terminal', kind: 'direct' },
      command: name,
      args: { kind: 'text', text: '' },
      receivedAt: Date.now(),
      source: 'command',
    },
    { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
    {
      kind: 'needsApproval',
      evaluated: { command, args, person: person('alice'), risk: 'dangerous' },
      command,
      targets: hosts.map((host) => ({ host })),
      mode: 'sequence',
      jobs,
      policy: { commands: [name], risks: [], hosts: ['*'], approvers: 'oncall', count: 1, expiresMinutes: 15 },
    },
  );
  for (const id of await store.pendingIds()) if ((await store.get(id))?.requestId === requestId) return id;
  throw new Error('no approval recorded');
}

/** Every line a card says, its title first. */
const lines = (r: Reply) => [r.title, ...r.blocks.map((b) => ('text' in b ? String(b.text) : JSON.stringify(b)))];

describe('an approved request the dispatcher refuses (its host frozen meanwhile)', () => {
  it('/rebalance --run: no card says it runs; each ends saying it was approved, did not run, and why', async () => {
    const why = 'xen1 is frozen until 2030-01-01 00:00 UTC (alice: testing approvals)';
    const { desk, delivered } = await makeDesk({
      enqueue: async () => {
        throw new Refusal('Frozen', why);
      },
    });
    const id = await askPlan(
      desk,
      'req-refused-rebalance',
      'rebalance',
      { hosts: ['xen1'], run: true },
      ['xen1'],
      [
        { op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2' },
        { op: 'domain.migrate', host: 'xen1', domain: 'db', target: 'xen2' },
      ],
    );
    const before = delivered.length;
    const answer = await desk.approve(id, person('bob'), 'terminal');
    desk.stop();
    expect(lines(answer)).toEqual(['Approved, but not run', why]);
    const after = delivered.slice(before);
    // Terminal cards are never edited: every line said after the approval stays on screen.
    expect(
      after.flatMap((d) =>
        lines(d.reply)
          .filter((l) => /running|runs\b/.test(l))
          .map((l) => `${d.channel}: ${l}`),
      ),
    ).toEqual([]);
    for (const channel of ['terminal', 'approvals']) {
      const said = after.filter((d) => d.channel === channel).map((d) => lines(d.reply));
      expect(said.at(-1)).toEqual(['/rebalance xen1 (2 steps) was approved but did not run', why]);
    }
  });

  it('/evacuate approved after another evacuation froze its host: the same', async () => {
    const why = 'xen1 is frozen until /unfreeze (bob: evacuation of xen1)';
    const { desk, delivered } = await makeDesk({
      enqueue: async () => {
        throw new Refusal('Frozen', why);
      },
    });
    const id = await askPlan(
      desk,
      'req-refused-evacuate',
      'evacuate',
      { host: 'xen1', 'shutdown-rest': false },
      ['xen1'],
      [
        { op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2' },
        { op: 'domain.list', host: 'xen1' },
      ],
    );
    const before = delivered.length;
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe('Approved, but not run');
    desk.stop();
    const after = delivered.slice(before);
    expect(
      after.flatMap((d) =>
        lines(d.reply)
          .filter((l) => /running|runs\b/.test(l))
          .map((l) => `${d.channel}: ${l}`),
      ),
    ).toEqual([]);
    for (const channel of ['terminal', 'approvals']) {
      const said = after.filter((d) => d.channel === channel).map((d) => lines(d.reply));
      expect(said.at(-1)).toEqual(['/evacuate xen1 (1 step) was approved but did not run', why]);
    }
  });

  it('queued, the approval channel is told once: that it runs, and where the result goes', async () => {
    const { desk, delivered, enqueued } = await makeDesk();
    const id = await askPlan(
      desk,
      'req-queued-rebalance',
      'rebalance',
      { hosts: ['xen1'], run: true },
      ['xen1'],
      [{ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2' }],
    );
    const before = delivered.length;
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe(`Approved ${id}`);
    desk.stop();
    expect(enqueued).toEqual(['req-queued-rebalance']);
    const after = delivered.slice(before);
    expect(after.filter((d) => d.channel === 'approvals').map((d) => lines(d.reply))).toEqual([
      ['/rebalance xen1 (1 step) approved by bob', "running; the result goes to alice's chat"],
    ]);
    expect(after.filter((d) => d.channel === 'terminal').map((d) => lines(d.reply))).toEqual([
      ['/rebalance xen1 (1 step)', 'approved by bob; checking it can still run'],
    ]);
  });
});
