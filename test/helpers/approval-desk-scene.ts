import { Redis } from 'ioredis';
import { afterAll, afterEach } from 'vitest';
import { COMMANDS } from '../../commands/index.ts';
import { ActionStore } from '../../src/app/actions.ts';
import { ApprovalDesk, type ApprovalDeskDeps } from '../../src/app/approval-desk.ts';
import { ApprovalStore } from '../../src/app/approvals.ts';
import type { AuditEntry } from '../../src/app/audit.ts';
import { FleetCache } from '../../src/app/fleet-cache.ts';
import type { ApprovalPolicy } from '../../src/config/approvals-schema.ts';
import { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import type { Reply } from '../../src/core/reply.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from './redis.ts';

/** What a test adds to the scene's config: xen1, admin alice and on-call operator bob are always there. */
export interface ApprovalSceneConfig {
  roles?: Record<string, unknown>;
  people?: Record<string, unknown>;
  approvals?: Record<string, unknown>;
  /** Where commands may be used: every terminal channel unless given. */
  channels?: unknown[];
}

/** One desk and what it delivered (with the channel), audited and queued. */
export interface SceneDesk {
  desk: ApprovalDesk;
  delivered: { channel: string; reply: Reply }[];
  audited: AuditEntry[];
  enqueued: string[];
  titles: () => string[];
}

/**
 * The approval desk's tests on real Redis: a prefix of their own (deleted after the file), the config, and desks wired
 * as the bot wires them, keeping what each delivers, audits and queues. Call at a test file's top level.
 */
export function approvalDeskScene(extra: ApprovalSceneConfig = {}) {
  const prefix = uniquePrefix();
  const redis = new Redis(REDIS_URL);
  const store = new ApprovalStore(redis, prefix);
  afterAll(async () => {
    redis.disconnect();
    await deleteKeysWithPrefix(REDIS_URL, prefix);
  });
  // A test's requests may be left pending: the next test's same ask (alice's /stop web) is a request of its own.
  afterEach(async () => {
    const held = await redis.keys(`${prefix}:approval-action:*`);
    if (held.length > 0) await redis.del(...held);
  });
  const config = Config.parse({
    hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
    roles: { admin: { allow: ['*'] }, operator: { allow: ['operate'] }, ...extra.roles },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      bob: { roles: ['operator'], onCall: true, identities: { terminal: 'bob' } },
      ...extra.people,
    },
    // Every request of the scene is asked in a terminal channel the config lets in (as the pipeline requires).
    channels: extra.channels ?? [{ platform: 'terminal', id: '*' }],
    ...(extra.approvals ? { approvals: extra.approvals } : {}),
  });
  const stop = COMMANDS.find((c) => c.name === 'stop');
  if (!stop || stop.scope === 'local') throw new Error('no stop');
  const person = (id: string) => ({ id, displayName: id, roles: [...(config.people[id]?.roles ?? [])] });

  /** A desk on the scene's Redis, xen1 running web; `over` replaces any of its deps. Started unless `leads` is false. */
  async function makeDesk(over: Partial<ApprovalDeskDeps> = {}, leads = true): Promise<SceneDesk> {
    const delivered: SceneDesk['delivered'] = [];
    const audited: AuditEntry[] = [];
    const enqueued: string[] = [];
    const fleet = new FleetCache(['xen1']);
    fleet.update('xen1', [
      { name: 'web', uuid: null, id: 2, status: 'blocked', flags: '-b----', memoryMiB: 2048, vcpus: 2, cpuSeconds: 1, configPath: null },
    ]);
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
      ...over,
    });
    if (leads) await desk.start();
    return { desk, delivered, audited, enqueued, titles: () => delivered.map((d) => d.reply.title) };
  }

  /**
   * `requester` asks for /stop web (on call approves, unless `approvers` says who does; `count` of them) as request
   * `requestId`; resolves with the approval id. `system`: xenops asks for them.
   */
  async function askStop(
    desk: ApprovalDesk,
    requestId: string,
    {
      requester = 'alice',
      system = false,
      expiresMinutes = 15,
      approvers = 'oncall',
      count = 1,
      reason,
    }: {
      /** Its --reason, shown on the card. */
      reason?: string;
      requester?: string;
      system?: boolean;
      expiresMinutes?: number;
      approvers?: ApprovalPolicy['approvers'];
      count?: number;
    } = {},
  ): Promise<string> {
    if (!stop || stop.scope === 'local') throw new Error('no stop');
    await desk.request(
      {
        id: requestId,
        platform: 'terminal',
        actor: { platform: 'terminal', userId: system ? `xenops:${requester}` : requester, roleIds: [], displayName: requester },
        channel: { id: 'terminal', kind: 'direct' },
        command: 'stop',
        args: { kind: 'text', text: 'web' },
        receivedAt: Date.now(),
        source: system ? 'system' : 'command',
        ...(system ? { asPerson: requester } : {}),
      },
      { platform: 'terminal', channelId: 'terminal', requestId, state: {} },
      {
        kind: 'needsApproval',
        evaluated: {
          command: stop,
          args: { domain: { domain: 'web' }, force: false, ...(reason === undefined ? {} : { reason }) },
          person: person(requester),
          risk: 'write',
        },
        command: stop,
        targets: [{ host: 'xen1', domain: 'web' }],
        mode: 'parallel',
        jobs: [{ op: 'domain.stop', host: 'xen1', domain: 'web', force: false }],
        policy: { commands: ['stop'], risks: [], hosts: ['*'], approvers, count, expiresMinutes },
      },
    );
    for (const id of await store.pendingIds()) if ((await store.get(id))?.requestId === requestId) return id;
    throw new Error('no approval recorded');
  }

  return { prefix, redis, store, config, stop, person, makeDesk, askStop };
}
