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

/**
 * A pending approval request Redis lost (restarted without its data, flushed): nobody can approve it any more, and
 * its requester and the approval channel must not be left with a card asking for it — told when it would have expired.
 */
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
  approvals: { escalateMinutes: 60, channels: [{ platform: 'terminal', id: 'approvals' }] },
});
const stop = COMMANDS.find((c) => c.name === 'stop');
if (!stop || stop.scope === 'local') throw new Error('no stop');
const person = (id: string) => ({ id, displayName: id, roles: [...(config.people[id]?.roles ?? [])] });

describe('a pending approval Redis lost', () => {
  it('is said to be lost, nothing run, on every card when it would have expired', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const delivered: { channel: string; reply: Reply }[] = [];
      const audited: AuditEntry[] = [];
      const enqueued: string[] = [];
      const fleet = new FleetCache(['xen1']);
      const desk = new ApprovalDesk({
        config,
        store,
        fleet,
        actions: new ActionStore(redis, prefix),
        commands: new Map(COMMANDS.map((c) => [c.name, c])),
        platforms: new Set(['terminal']),
        refresh: async () => {},
        enqueue: async (req) => {
          enqueued.push(req.id);
        },
        deliver: async (t, r) => {
          delivered.push({ channel: t.channelId, reply: r });
          return t;
        },
        audit: async (e) => {
          audited.push(e);
        },
        onCall: async () => ['bob'],
        nextOnCall: async () => null,
        wasQueued: async () => false,
        logger: createLogger('silent'),
      });
      await desk.start();
      const requestId = 'req-oa-lost-1';
      await desk.request(
        {
          id: requestId,
          platform: 'terminal',
          actor: { platform: 'terminal', userId: 'alice', roleIds: [], displayName: 'alice' },
          channel: { id: 'terminal', kind: 'direct' },
          command: 'stop',
          args: { kind: 'text', text: 'web' },
          receivedAt: Date.now(),
          source: 'command',
        },
        { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
        {
          kind: 'needsApproval',
          evaluated: { command: stop, args: { domain: { domain: 'web' }, force: false }, person: person('alice'), risk: 'write' },
          command: stop,
          targets: [{ host: 'xen1', domain: 'web' }],
          mode: 'parallel',
          jobs: [{ op: 'domain.stop', host: 'xen1', domain: 'web', force: false }],
          policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers: 'oncall', count: 1, expiresMinutes: 15 },
        },
      );
      const [id] = await store.pendingIds();
      expect(id).toMatch(/^[A-Z2-9]{6}$/);
      // Redis restarted without its data: every key of the prefix is gone.
      await deleteKeysWithPrefix(REDIS_URL, prefix);
      const before = delivered.length;
      await vi.advanceTimersByTimeAsync(15 * 60_000 + 1_000);
      await vi.waitFor(() => expect(delivered.length).toBeGreaterThanOrEqual(before + 2));
      desk.stop();
      const told = delivered.slice(before).map((d) => ({
        channel: d.channel,
        title: d.reply.title,
        text: d.reply.blocks.map((b) => (b.type === 'text' ? b.text : '')).join('\n'),
        buttons: d.reply.actions?.length ?? 0,
      }));
      const lost = {
        title: `Approval ${id} was lost`,
        text: '/stop xen1:web: Redis lost the request (restarted without its data, or flushed) before it was approved; nothing ran — ask again if it is still needed',
        buttons: 0,
      };
      expect(told).toEqual([
        { channel: 'terminal', ...lost },
        { channel: 'approvals', ...lost },
      ]);
      expect(audited.at(-1)?.detail).toBe(`${id} lost with Redis's data before it was decided; nothing ran`);
      expect(enqueued).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});
