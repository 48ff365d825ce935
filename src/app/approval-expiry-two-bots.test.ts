import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
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
 * Two bots (HA: the one that took the request, and one that adopted its timers when it took the lease) both time a
 * request's expiry, on real Redis, while bob's /approve lands on one of them at that very moment. Whatever wins,
 * there is one outcome: run once and never said expired, or expired with nothing run — each said and audited once.
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
});
const stop = COMMANDS.find((c) => c.name === 'stop');
if (!stop || stop.scope === 'local') throw new Error('no stop');
const bob = { id: 'bob', displayName: 'bob', roles: ['operator'] };

/** One bot's desk; `skewMs`: its shared clock reads that much ahead of the other's (a fresh TIME reading). */
function makeDesk(audited: AuditEntry[], delivered: Reply[], enqueued: string[], skewMs = 0) {
  const fleet = new FleetCache(['xen1']);
  fleet.update('xen1', [
    { name: 'web', uuid: null, id: 2, status: 'blocked', flags: '-b----', memoryMiB: 2048, vcpus: 2, cpuSeconds: 1, configPath: null },
  ]);
  return new ApprovalDesk({
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
      delivered.push(r);
      return t;
    },
    audit: async (e) => {
      audited.push(e);
    },
    onCall: async () => ['bob'],
    nextOnCall: async () => null,
    wasQueued: async () => false,
    logger: createLogger('silent'),
    now: () => Date.now() + skewMs,
  });
}

let counter = 0;

describe('two bots timing one expiry, and an approval at that moment', () => {
  it('one outcome each time: run once and not said expired, or expired once with nothing run', async () => {
    const outcomes = new Set<string>();
    for (let round = 0; round < 12; round++) {
      const audited: AuditEntry[] = [];
      const delivered: Reply[] = [];
      const enqueued: string[] = [];
      const took = makeDesk(audited, delivered, enqueued);
      // The other bot's clock reads a few ms ahead or behind: either may count the instant as past first.
      const adopted = makeDesk(audited, delivered, enqueued, (round % 3) - 1);
      const requestId = `req-two-bots-${++counter}`;
      await took.request(
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
          // 300 ms to live: the timers are real, and both bots' fire at its end.
          policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers: 'oncall', count: 1, expiresMinutes: 0.005 },
        },
      );
      const rec = (await Promise.all((await store.pendingIds()).map((x) => store.get(x)))).find((r) => r?.requestId === requestId);
      if (!rec) throw new Error('no approval recorded');
      await adopted.start();
      // bob's click reaches the adopting bot as the timers fire: from a few ms before (its checks take round trips) to
      // the instant itself.
      const early = (round % 4) * 4;
      const answer = await new Promise<Reply>((resolve, reject) =>
        setTimeout(() => adopted.approve(rec.id, bob, 'terminal').then(resolve, reject), Math.max(0, rec.expiresAt - Date.now() - early)),
      );
      await expect.poll(async () => (await store.get(rec.id))?.status, { timeout: 5_000 }).not.toBe('pending');
      // Both timers have had their turn.
      await new Promise<void>((resolve) => setTimeout(resolve, 100));
      took.stop();
      adopted.stop();
      const status = (await store.get(rec.id))?.status;
      const saidExpired = delivered.filter((r) => r.title === `Approval ${rec.id} expired`).length;
      const auditedExpired = audited.filter((e) => e.detail === `${rec.id} expired unanswered`).length;
      const auditedApproved = audited.filter((e) => e.decision === 'allowed').length;
      if (status === 'approved') {
        outcomes.add('approved');
        expect({ answer: answer.title, enqueued: enqueued.length, saidExpired, auditedExpired, auditedApproved }).toEqual({
          answer: `Approved ${rec.id}`,
          enqueued: 1,
          saidExpired: 0,
          auditedExpired: 0,
          auditedApproved: 1,
        });
      } else {
        outcomes.add(status ?? 'gone');
        expect({ status, answer: answer.title, enqueued: enqueued.length, saidExpired, auditedExpired, auditedApproved }).toEqual({
          status: 'expired',
          answer: `${rec.id} expired`,
          enqueued: 0,
          saidExpired: 1,
          auditedExpired: 1,
          auditedApproved: 0,
        });
      }
    }
    // Not asserted which won: each round is one or the other; the set says the race was real.
    expect([...outcomes].every((o) => o === 'approved' || o === 'expired')).toBe(true);
  }, 60_000);
});
