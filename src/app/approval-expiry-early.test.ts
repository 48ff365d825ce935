import { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import type { Reply } from '../core/reply.ts';
import { ActionStore } from './actions.ts';
import { ApprovalDesk } from './approval-desk.ts';
import { ApprovalStore } from './approvals.ts';
import { FleetCache } from './fleet-cache.ts';

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
const store = new ApprovalStore(redis, prefix);
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const config = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
  roles: { admin: { allow: ['*'] }, operator: { allow: ['operate'] } },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    bob: { roles: ['operator'], onCall: true, identities: { terminal: 'bob' } },
  },
});

const stop = COMMANDS.find((c) => c.name === 'stop');
if (!stop || stop.scope === 'local') throw new Error('no stop');

describe('an approval whose expiry timer fires a moment early on the shared clock', () => {
  it('still expires: its cards say so and lose their buttons, instead of staying pending for good', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    // The desk's clock is the deployment's shared one: a new reading of Redis's TIME may put it a few ms behind the
    // last (or libuv fires a timer against a stale loop time), so the timer can come just before expiresAt.
    let offset = 0;
    const delivered: Reply[] = [];
    const desk = new ApprovalDesk({
      config,
      store,
      fleet: new FleetCache(['xen1']),
      actions: new ActionStore(redis, prefix),
      commands: new Map(COMMANDS.map((c) => [c.name, c])),
      platforms: new Set(['terminal']),
      refresh: async () => {},
      enqueue: async () => {},
      deliver: async (t, r) => {
        delivered.push(r);
        return t;
      },
      audit: async () => {},
      onCall: async () => ['bob'],
      nextOnCall: async () => null,
      wasQueued: async () => false,
      logger: createLogger('silent'),
      now: () => Date.now() + offset,
    });
    try {
      await desk.request(
        {
          id: 'req-early-1',
          platform: 'terminal',
          actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
          channel: { id: 'terminal', kind: 'direct' },
          command: 'stop',
          args: { kind: 'text', text: 'web' },
          receivedAt: Date.now(),
          source: 'command',
        },
        { platform: 'terminal', channelId: 'terminal', requestId: 'req-early-1', state: {} },
        {
          kind: 'needsApproval',
          evaluated: {
            command: stop,
            args: { domain: { domain: 'web' }, force: false },
            person: { id: 'alice', displayName: 'alice', roles: ['admin'] },
            risk: 'write',
          },
          command: stop,
          targets: [{ host: 'xen1', domain: 'web' }],
          mode: 'parallel',
          jobs: [{ op: 'domain.stop', host: 'xen1', domain: 'web', force: false }],
          policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers: 'oncall', count: 1, expiresMinutes: 15 },
        },
      );
      const [id] = await store.pendingIds();
      // A new reading of the shared clock: 5 ms behind the last one, after the timer was armed.
      offset = -5;
      await vi.advanceTimersByTimeAsync(15 * 60_000 + 1_000);
      await vi.waitFor(async () => expect((await store.get(id ?? ''))?.status).toBe('expired'));
      expect(delivered.map((r) => r.title)).toContain(`Approval ${id} expired`);
    } finally {
      desk.stop();
      vi.useRealTimers();
    }
  });
});
