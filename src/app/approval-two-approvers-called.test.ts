import { describe, expect, it } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import type { Reply } from '../core/reply.ts';

// Two approvals needed: bob is on call, alice (an admin) has approval.grant, frank is an operator off call.
const { person, makeDesk, askStop } = approvalDeskScene({
  people: { frank: { roles: ['operator'], identities: { terminal: 'frank' } } },
  approvals: { policies: [{ commands: ['stop'], count: 2 }] },
});

const approversField = (card: Reply | undefined) =>
  card?.blocks.flatMap((b) => (b.type === 'fields' ? b.fields : [])).find((f) => f.name === 'approvers')?.value;
const called = (card: Reply | undefined) => (card?.mentions ?? []).map((m) => m.person).sort();

describe('a request that needs two approvals, with one person on call', () => {
  it('calls on the on-call person and, as one is not enough, those with approval.grant too', async () => {
    const { desk, delivered } = await makeDesk();
    const id = await askStop(desk, 'req-two-1', { requester: 'frank', count: 2 });
    const card = delivered.find((d) => d.channel === 'terminal')?.reply;
    expect(called(card)).toEqual(['alice', 'bob']);
    expect(approversField(card)).toBe('on call: bob (or approval.grant); as 2 are needed, also called on: alice; 2 needed');
    // Both may approve it, and it runs.
    expect((await desk.approve(id, person('bob'), 'terminal')).title).toBe('Approved by you (1 of 2)');
    expect((await desk.approve(id, person('alice'), 'terminal')).title).toBe(`Approved ${id}`);
    desk.stop();
  });

  it('fewer people than needed may approve it at all: the card says it will expire', async () => {
    // alice asks: bob alone may approve it (frank is not on call and has no approval.grant).
    const { desk, delivered } = await makeDesk();
    await askStop(desk, 'req-two-2', { requester: 'alice', count: 2 });
    desk.stop();
    const card = delivered.find((d) => d.channel === 'terminal')?.reply;
    expect(called(card)).toEqual(['bob']);
    expect(approversField(card)).toBe(
      'on call: bob (or approval.grant); only 1 may approve it but the requester: it will expire unless more are given the right; 2 needed',
    );
  });
});
