import type { PendingRequest } from '../../src/app/pending-store.ts';

/**
 * A pending `status` request as the bot saves it: alice at the terminal, one `host.status` job on each of `hosts`
 * hosts (h0, h1, …), no deadline, its reply not posted yet; `over` changes any field.
 */
export function pendingStatusRequest(requestId: string, hosts: number, over: Partial<PendingRequest> = {}): PendingRequest {
  const meta = { requestId, person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'terminal', command: 'status' };
  return {
    requestId,
    command: 'status',
    args: {},
    person: 'alice',
    platform: 'terminal',
    userId: 'alice',
    channelId: 'terminal',
    target: { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
    mode: 'parallel',
    jobs: Array.from({ length: hosts }, (_, i) => {
      const host = `h${i}`;
      return { jobId: `r-${requestId}-${host}`, host, op: 'host.status' as const, data: { op: 'host.status' as const, host, meta } };
    }),
    deadline: null,
    pickupBy: null,
    createdAt: Date.now(),
    ...over,
  };
}
