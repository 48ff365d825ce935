import { describe, expect, it, vi } from 'vitest';
import { approvalDeskScene } from '../../test/helpers/approval-desk-scene.ts';
import { Config } from '../config/schema.ts';
import type { Reply } from '../core/reply.ts';

// A policy whose approvers are the holders of approval.prod: carol holds it (and may stop guests), not on call; bob,
// on call, does not. alice, the admin, holds every permission.
const { config, person, makeDesk, askStop } = approvalDeskScene({
  roles: { prodapprover: { allow: ['operate', 'approval.prod'] } },
  people: {
    carol: { roles: ['prodapprover'], identities: { terminal: 'carol' } },
    frank: { roles: ['operator'], identities: { terminal: 'frank' } },
  },
  approvals: {
    escalateMinutes: 5,
    channels: [{ platform: 'terminal', id: 'approvals' }],
    policies: [{ commands: ['stop'], approvers: { permission: 'approval.prod' } }],
  },
});
const approvers = { permission: 'approval.prod' };

const approversField = (card: Reply | undefined) =>
  card?.blocks.flatMap((b) => (b.type === 'fields' ? b.fields : [])).find((f) => f.name === 'approvers')?.value;
const called = (card: Reply | undefined) => (card?.mentions ?? []).map((m) => m.person).sort();

describe('a request under a policy whose approvers hold a permission, when nobody on call holds it', () => {
  it('calls on those who hold it, and its card says nobody on call may approve it and who was called on', async () => {
    const { desk, delivered } = await makeDesk();
    const id = await askStop(desk, 'req-perm-1', { requester: 'frank', approvers });
    desk.stop();
    const card = delivered.find((d) => d.channel === 'terminal')?.reply;
    expect(called(card)).toEqual(['alice', 'carol']);
    expect(approversField(card)).toBe(
      'nobody on call may approve this (permission approval.prod there); called on those who may: alice, carol; 1 needed',
    );
    // The card shown in the approval channel says the same.
    expect(approversField(delivered.find((d) => d.channel === 'approvals')?.reply)).toBe(approversField(card));
    // And carol may approve it.
    expect((await desk.approve(id, person('carol'), 'terminal')).title).toBe(`Approved ${id}`);
  });

  it('held by nobody but the requester, the card says nobody can approve it and that it will expire', async () => {
    // carol is gone from the config: alice alone holds approval.prod, and she asks.
    const { carol: _gone, ...people } = config.people;
    const { desk, delivered } = await makeDesk({ config: Config.parse({ ...config, people }) });
    await askStop(desk, 'req-perm-2', { requester: 'alice', approvers });
    desk.stop();
    const card = delivered.find((d) => d.channel === 'terminal')?.reply;
    expect(called(card)).toEqual([]);
    expect(approversField(card)).toBe(
      'nobody but the requester may approve this (permission approval.prod there): it will expire unless someone else is given it; 1 needed',
    );
  });

  it('one on call holding it is called on alone, as before', async () => {
    const { desk, delivered } = await makeDesk({ onCall: async () => ['carol'] });
    await askStop(desk, 'req-perm-3', { requester: 'frank', approvers });
    desk.stop();
    const card = delivered.find((d) => d.channel === 'terminal')?.reply;
    expect(called(card)).toEqual(['carol']);
    expect(approversField(card)).toBe('permission approval.prod, on call: carol; 1 needed');
  });

  it('unanswered, its last escalation goes to everyone holding it (not only approval.grant)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      // carol is on call and holds it, but does not answer; dave holds it too, off call.
      const scene = await makeDesk({
        onCall: async () => ['carol'],
        config: Config.parse({
          ...config,
          people: { ...config.people, dave: { roles: ['prodapprover'], identities: { terminal: 'dave' } } },
        }),
      });
      const id = await askStop(scene.desk, 'req-perm-4', { requester: 'frank', approvers });
      // This request's cards only: the desk also adopted the earlier tests' requests (same Redis), which escalate too.
      const cards = () => scene.delivered.filter((d) => d.channel === 'terminal' && d.reply.title.includes(id));
      // One step at a time, as real time has them (5 min apart): each step's cards are out before the next is due.
      const before = cards().length;
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(cards().length).toBeGreaterThan(before));
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(scene.audited.filter((e) => e.detail?.startsWith(`${id} escalated`))).toHaveLength(2));
      expect(scene.audited.filter((e) => e.detail?.startsWith(`${id} escalated`)).map((e) => e.detail)).toEqual([
        `${id} escalated to nobody else is on call next`,
        `${id} escalated to everyone with approval.prod or approval.grant (alice, carol, dave)`,
      ]);
      // The step is audited before its cards are posted: the last card is awaited, not read at once.
      await vi.waitFor(() => expect(called(cards().at(-1)?.reply)).toEqual(['alice', 'carol', 'dave']));
      scene.desk.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
