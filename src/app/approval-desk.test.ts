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
import type { AuditEntry } from './audit.ts';
import { FleetCache } from './fleet-cache.ts';

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
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
    erin: { roles: ['operator'], identities: { terminal: 'erin' } },
  },
  approvals: { escalateMinutes: 5 },
});

describe('approval escalation', () => {
  it('unanswered, a request goes to the next on call after escalateMinutes, then to the admins; each step posted and audited', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    try {
      const delivered: Reply[] = [];
      const audited: AuditEntry[] = [];
      const fleet = new FleetCache(['xen1']);
      fleet.update('xen1', [
        { name: 'web', uuid: null, id: 2, status: 'blocked', flags: '-b----', memoryMiB: 2048, vcpus: 2, cpuSeconds: 1, configPath: null },
      ]);
      const desk = new ApprovalDesk({
        config,
        store: new ApprovalStore(redis, prefix),
        fleet,
        actions: new ActionStore(redis, prefix),
        commands: new Map(COMMANDS.map((c) => [c.name, c])),
        platforms: new Set(['terminal']),
        refresh: async () => {},
        enqueue: async () => {},
        deliver: async (t, r) => {
          delivered.push(r);
          return t;
        },
        audit: async (e) => {
          audited.push(e);
        },
        onCall: async () => ['bob'],
        nextOnCall: async () => 'erin',
        logger: createLogger('silent'),
      });
      const stop = COMMANDS.find((c) => c.name === 'stop');
      if (!stop || stop.scope === 'local') throw new Error('no stop');
      await desk.request(
        {
          id: 'req-esc',
          platform: 'terminal',
          actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
          channel: { id: 'terminal', kind: 'direct' },
          command: 'stop',
          args: { kind: 'text', text: 'web' },
          receivedAt: Date.now(),
          source: 'command',
        },
        { platform: 'terminal', channelId: 'terminal', requestId: 'req-esc', state: {} },
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
      const id = /— ([A-Z2-9]{6})$/.exec(delivered[0]?.title ?? '')?.[1] ?? '';
      expect(id).toMatch(/^[A-Z2-9]{6}$/);
      // erin is not on call: refused before the escalation…
      expect((await desk.approve(id, { id: 'erin', displayName: 'erin', roles: ['operator'] }, 'terminal')).title).toBe('Not allowed');
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(delivered.some((r) => r.title.startsWith('Escalated to erin (next on call)'))).toBe(true));
      await vi.advanceTimersByTimeAsync(5 * 60_000);
      await vi.waitFor(() => expect(delivered.some((r) => r.title.startsWith('Escalated to the admins (alice)'))).toBe(true));
      expect(audited.filter((e) => e.event === 'approval' && /escalated/.test(e.detail ?? '')).map((e) => e.detail)).toEqual([
        `${id} escalated to erin (next on call)`,
        `${id} escalated to the admins (alice)`,
      ]);
      // …and may approve after it.
      expect((await desk.approve(id, { id: 'erin', displayName: 'erin', roles: ['operator'] }, 'terminal')).title).toBe(`Approved ${id}`);
      desk.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
