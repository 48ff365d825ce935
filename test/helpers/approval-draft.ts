import { type ApprovalRecord, approvalAction } from '../../src/app/approvals.ts';

/**
 * A pending approval request, not yet recorded, for `requester`'s `stop <domain>` on xen1 (`--force` with force): what
 * the desk hands ApprovalStore.ask, its action worked out as the desk does.
 */
export function approvalDraft(requestId: string, requester = 'alice', domain = 'web', force = false): Omit<ApprovalRecord, 'id'> {
  const now = Date.now();
  const base = {
    requestId,
    command: 'stop',
    args: { domain: { domain }, force },
    requester,
    platform: 'terminal',
    userId: requester,
    channelId: 'terminal',
    target: { platform: 'terminal' as const, channelId: 'terminal', requestId, state: {} },
    mode: 'parallel' as const,
    jobs: [{ op: 'domain.stop' as const, host: 'xen1', domain, force }],
    targets: [{ host: 'xen1', domain }],
    touches: [],
    risk: 'write' as const,
    preview: [`xen1$ timeout 30 xl shutdown -w ${domain}`],
    state: [],
    policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers: 'oncall' as const, count: 1, expiresMinutes: 15 },
    createdAt: now,
    expiresAt: now + 15 * 60_000,
    approvals: [],
    status: 'pending' as const,
    announcements: [],
  };
  return { ...base, action: approvalAction(base, ['domain']) };
}
