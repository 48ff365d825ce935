import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { ApprovalStore } from '../../src/app/approvals.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { ChatRequest } from '../../src/core/request.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * Approvals and the roles of the people in them (a role bound through Discord, an approval permission scoped to
 * some hosts), with the real simulator, agent, Redis and bot.
 * Discord role 500000000000000001 is bound to the xenops role `operator`.
 */

const prefix = uniquePrefix();
const OPERATOR_ROLE = '500000000000000001';

let env: SimEnv;
let agent: Agent;
let bot: Bot;
let config: Config;
const terminal = new CaptureAdapter('terminal');
const discord = new CaptureAdapter('discord');
let redis: Redis;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: twoHostFleet([{ name: 'db', memoryMiB: 512, vcpus: 1, running: true }]),
    timeScale: 0.05,
    shutdownDelayMs: 200,
  });
  config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: {
      admin: { allow: ['*'] },
      operator: { allow: ['operate'] },
      // May approve anyone's request, but only on xen2.
      xen2approver: { allow: ['operate', { permission: 'approval.grant', hosts: ['xen2'] }] },
    },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      bob: { roles: ['operator'], onCall: true, identities: { terminal: 'bob' } },
      // frank's operator role comes from his Discord role, not from this file.
      frank: { roles: [], identities: { discord: '300000000000000006' } },
      erin: { roles: ['xen2approver'], identities: { terminal: 'erin' } },
    },
    channels: [
      { platform: 'terminal', id: '*' },
      { platform: 'discord', id: '*' },
    ],
    discord: { roleBindings: { [OPERATOR_ROLE]: ['operator'] } },
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000, ha: { enabled: false } },
  });
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [terminal, discord] });
  await bot.start();
  redis = new Redis(REDIS_URL);
}, 60_000);

afterAll(async () => {
  redis?.disconnect();
  await bot?.stop();
  await agent?.close(2_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

let n = 0;
function discordRequest(text: string, userId: string, roleIds: string[]): ChatRequest {
  const req = chatRequest(`appr-roles-${++n}`, text, userId, 'discord', userId);
  return { ...req, actor: { ...req.actor, roleIds } };
}
async function send(req: ChatRequest, adapter: CaptureAdapter): Promise<Reply> {
  await bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}
const ask = (user: string, text: string) => send(chatRequest(`appr-roles-${++n}`, text, user), terminal);

/** The id of the newest pending approval request made by `requester`. */
async function pendingOf(requester: string): Promise<string> {
  const store = new ApprovalStore(redis, prefix);
  let found = '';
  await expect
    .poll(async () => {
      for (const id of await store.pendingIds()) {
        const rec = await store.get(id);
        if (rec?.status === 'pending' && rec.requester === requester) found = id;
      }
      return found;
    })
    .not.toBe('');
  return found;
}

const sent = (host: string, re: RegExp) => (env.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length;
const flat = (r: Reply) => `${r.title}\n${r.blocks.map((b) => ('text' in b ? b.text : JSON.stringify(b))).join('\n')}`;

describe('approvals of people whose roles come from a Discord role binding', () => {
  it('frank (operator through his Discord role) asks to stop web; bob approves; web stops', async () => {
    const req = discordRequest('stop xen1:web', '300000000000000006', [OPERATOR_ROLE]);
    // The request is held for approval (not refused): frank may stop web.
    await bot.core.handle(req, targetOf(req));
    const id = await pendingOf('frank');
    const answer = await ask('bob', `approve ${id}`);
    // Was "Approved, but not run — frank may no longer run /stop there": only the config's roles were counted.
    expect(flat(answer)).not.toContain('may no longer run');
    expect(answer.title).toBe(`Approved ${id}`);
    // The approval card was the first final reply; the result replaces it.
    await discord.until(() => discord.finals(req.id).some((r) => r.title === 'web shut down on xen1'), 30_000);
    expect(sent('xen1', /\bshutdown\b.*web/)).toBe(1);
  }, 60_000);
});

describe('an approver whose approval.grant is scoped to xen2', () => {
  it('cannot approve a stop on xen1 (outside the hosts their approval.grant covers)', async () => {
    const asked = await ask('alice', 'stop xen1:db');
    expect(asked.title).toMatch(/Approval needed/);
    const id = await pendingOf('alice');
    // erin is not on call, and holds approval.grant only on xen2.
    const answer = await ask('erin', `approve ${id}`);
    expect(answer.title).toBe('Not allowed');
    expect(flat(answer)).toContain('or someone with approval.grant on xen1 may approve this');
    expect(sent('xen1', /\bshutdown\b.*\bdb\b/)).toBe(0);
  }, 60_000);
});
