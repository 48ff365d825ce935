import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { ApprovalStore } from '../../src/app/approvals.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Platform } from '../../src/config/schema.ts';
import { Config } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { ChatRequest } from '../../src/core/request.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * The two-person rule through the whole pipeline (chat request → desk → queue → agent → simulated Dom0), with people
 * on three platforms: what each person is told, what the hosts receive (the simulator's command log: exactly-once is
 * a count) and what the audit keeps.
 *
 * alice admin; bob operator, on call; carol viewer; dave operates and migrates on xen2 only, with approval.grant
 * there; erin leads the web team: she operates on the web* guests only and may grant approvals for them (and plans
 * evacuations of a host, the web guests' part of which is hers); frank is a second admin. Telegram's anonymous
 * admins are allowed, as admins.
 * /reboot needs two approvers.
 */

const prefix = uniquePrefix();
const TG = { alice: '1001', bob: '1002' };
const DC = { alice: '200000000000000001', bob: '200000000000000002' };

let env: SimEnv;
let agent: Agent;
let bot: Bot;
let config: Config;
let redis: Redis;
const adapters = {
  terminal: new CaptureAdapter('terminal'),
  telegram: new CaptureAdapter('telegram'),
  discord: new CaptureAdapter('discord'),
};

const baseConfig = () =>
  Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: {
      admin: { allow: ['*'] },
      operator: { allow: ['operate'] },
      viewer: { allow: ['read'] },
      xen2lead: {
        allow: [
          { permission: 'operate', hosts: ['xen2'] },
          { permission: 'admin', hosts: ['xen2'] },
        ],
      },
      weblead: {
        allow: [
          'read',
          { permission: 'operate', hosts: ['*'], domains: ['web*'] },
          { permission: 'domain.migrate', hosts: ['*'], domains: ['web*'] },
          { permission: 'approval.grant', hosts: ['*'], domains: ['web*'] },
        ],
      },
    },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice', telegram: TG.alice, discord: DC.alice } },
      bob: { roles: ['operator'], onCall: true, identities: { terminal: 'bob', telegram: TG.bob, discord: DC.bob } },
      carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
      dave: { roles: ['xen2lead'], identities: { terminal: 'dave' } },
      erin: { roles: ['weblead'], identities: { terminal: 'erin' } },
      frank: { roles: ['admin'], identities: { terminal: 'frank' } },
    },
    channels: [
      { platform: 'terminal', id: '*' },
      { platform: 'telegram', id: '*' },
      { platform: 'discord', id: '*' },
    ],
    telegram: { allowAnonymousAdmins: true, anonymousAdminRoles: ['admin'] },
    approvals: {
      policies: [
        { commands: ['reboot'], hosts: ['*'], approvers: 'oncall', count: 2, expiresMinutes: 15 },
        { commands: ['stop', 'pause', 'migrate', 'evacuate'], risks: ['dangerous'], hosts: ['*'], approvers: 'oncall', count: 1 },
      ],
    },
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000, ha: { enabled: false } },
  });

beforeAll(async () => {
  env = await startSimEnv({
    fleet: {
      hosts: {
        xen1: {
          toolstack: 'xl',
          totalMemoryMiB: 32768,
          domains: [
            { name: 'web', memoryMiB: 1024, vcpus: 1, running: true },
            { name: 'web2', memoryMiB: 512, vcpus: 1, running: true },
            { name: 'db', memoryMiB: 512, vcpus: 1, running: true },
            { name: 'mail', memoryMiB: 512, vcpus: 1, running: true },
            { name: 'cache', memoryMiB: 512, vcpus: 1, running: true },
          ],
        },
        xen2: { toolstack: 'xl', totalMemoryMiB: 32768, domains: [{ name: 'files', memoryMiB: 1024, vcpus: 1, running: true }] },
        xen3: { toolstack: 'xl', totalMemoryMiB: 32768, domains: [{ name: 'solo', memoryMiB: 512, vcpus: 1, running: true }] },
      },
    },
    timeScale: 0.02,
    shutdownDelayMs: 100,
  });
  config = baseConfig();
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: Object.values(adapters) });
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

// ---- speaking, and reading what happened ------------------------------------------------------------------------

let n = 0;
const userIds: Record<Platform, Record<string, string>> = { terminal: {}, telegram: TG, discord: DC };

function requestOf(platform: Platform, user: string, text: string, extra: Partial<ChatRequest['actor']> = {}): ChatRequest {
  const req = chatRequest(`two-person-${++n}`, text, user, platform, userIds[platform][user] ?? user);
  return { ...req, actor: { ...req.actor, ...extra } };
}

/** Sends a request and resolves with its first final reply (for a held request, its approval card). */
async function send(req: ChatRequest): Promise<Reply> {
  await bot.core.handle(req, targetOf(req));
  return adapters[req.platform].finalReply(req.id);
}
const say = (user: string, text: string, platform: Platform = 'terminal') => send(requestOf(platform, user, text));

const flat = (r: Reply) => `${r.title}\n${r.blocks.map((b) => ('text' in b ? b.text : JSON.stringify(b))).join('\n')}`;
const idOf = (r: Reply) => /Approval needed: .* — ([A-Z2-9]{6})$/.exec(r.title)?.[1] ?? '';
const sent = (host: string, re: RegExp) => (env.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length;
const store = () => new ApprovalStore(redis, prefix);

/** The request's final replies, every one delivered to its requester's chat (the card, then what came of it). */
const finalsOf = (req: ChatRequest) => adapters[req.platform].finals(req.id);

/** Asks, and returns the request and its approval id (asserting it was held, not refused). */
async function ask(user: string, text: string, platform: Platform = 'terminal'): Promise<{ req: ChatRequest; id: string }> {
  const req = requestOf(platform, user, text);
  const card = await send(req);
  const id = idOf(card);
  expect(id, flat(card)).toMatch(/^[A-Z2-9]{6}$/);
  return { req, id };
}

function audited(id: string): string[] {
  const lines = readFileSync(config.audit.file ?? '', 'utf8')
    .trim()
    .split('\n');
  return lines
    .map((l) => JSON.parse(l) as { detail?: string; decision?: string })
    .filter((e) => e.detail?.includes(id))
    .map((e) => `${e.decision}: ${e.detail}`);
}

describe('nobody approves their own request', () => {
  it('alice asks at the terminal; alice on Telegram and on Discord is the same person, refused; nothing is sent', async () => {
    const { id } = await ask('alice', 'stop xen1:db');
    for (const platform of ['telegram', 'discord'] as const) {
      const own = await say('alice', `approve ${id}`, platform);
      expect(flat(own)).toBe('Not allowed\nyou cannot approve your own request (on any platform): someone else must');
    }
    expect((await store().get(id))?.status).toBe('pending');
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bdb\b/)).toBe(0);
    expect((await say('alice', `deny ${id} never mind`)).title).toBe(`Withdrawn ${id}`);
  });

  it('an anonymous Telegram admin (an admin by its roles) can neither approve nor ask for what needs approval', async () => {
    const { id } = await ask('bob', 'stop xen1:db');
    const anon = (text: string) => send(requestOf('telegram', 'group', text, { userId: '-1001234567890', anonymousAdmin: true }));
    expect(flat(await anon(`approve ${id}`))).toContain('an anonymous group admin cannot approve');
    expect(flat(await anon(`deny ${id}`))).toContain('an anonymous group admin cannot deny');
    expect(flat(await anon('stop xen1:mail'))).toContain('an anonymous group admin cannot ask for /stop');
    expect((await store().get(id))?.status).toBe('pending');
    expect(await say('bob', `deny ${id}`)).toMatchObject({ title: `Withdrawn ${id}` });
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\b(db|mail)\b/)).toBe(0);
  });
});

describe('two approvers (/reboot)', () => {
  it('bob twice (terminal, then Telegram) counts once; alice makes two; the guest reboots once', async () => {
    const { req, id } = await ask('dave', 'reboot xen2:files');
    const first = await say('bob', `approve ${id}`);
    expect(flat(first)).toBe(`Approved by you (1 of 2)\n${id} waits for more approvals`);
    const again = await say('bob', `approve ${id.toLowerCase()}`, 'telegram');
    expect(flat(again)).toBe(`You already approved ${id}\nwaiting for 1 more`);
    expect(flat(await say('bob', `approve ${id}`, 'discord'))).toContain(`You already approved ${id}`);
    expect((await store().get(id))?.status).toBe('pending');
    expect(sent('xen2', /\breboot\b.*\bfiles\b/)).toBe(0);
    const second = await say('alice', `approve ${id}`, 'discord');
    expect(second.title).toBe(`Approved ${id}`);
    await adapters.terminal.until(() => finalsOf(req).some((r) => /files rebooted on xen2|files.*reboot/i.test(r.title)), 30_000);
    expect(sent('xen2', /\breboot\b.*\bfiles\b/)).toBe(1);
    expect(flat(await say('bob', `approve ${id}`))).toContain(`${id} was already approved`);
    expect(audited(id).filter((l) => l.startsWith('allowed: approve'))).toEqual([
      `allowed: approve ${id} by bob (1/2)`,
      `allowed: approve ${id} by alice (2/2)`,
    ]);
  }, 60_000);
});

describe('decided once', () => {
  it('approve after deny runs nothing; deny after approve changes nothing', async () => {
    const denied = await ask('alice', 'stop xen1:mail');
    expect((await say('bob', `deny ${denied.id} not now`)).title).toBe(`Denied ${denied.id}`);
    expect(flat(await say('bob', `approve ${denied.id}`))).toContain(`${denied.id} was denied\nby bob`);
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bmail\b/)).toBe(0);

    const approved = await ask('alice', 'pause xen1:cache');
    expect((await say('bob', `approve ${approved.id}`)).title).toBe(`Approved ${approved.id}`);
    expect(flat(await say('bob', `deny ${approved.id}`))).toContain(`${approved.id} was already approved`);
    await adapters.terminal.until(() => finalsOf(approved.req).length >= 2, 30_000);
    expect(sent('xen1', /\bpause\b.*\bcache\b/)).toBe(1);
    expect((await store().get(approved.id))?.status).toBe('approved');
  }, 60_000);

  it('an id typed with letters the alphabet leaves out (O for 0, I for 1) is refused as not an id, not matched', async () => {
    const reply = await say('bob', 'approve K7Q2XO');
    expect(reply.title).not.toMatch(/Approved/);
    // Said as it is: "6 letters and digits" was untrue of K7Q2XO and ABC123, which are.
    expect(flat(reply)).toContain('id: "K7Q2XO" is no approval id: one is 6 of A–Z and 2–9 (never 0, 1, I or O), e.g. K7Q2XM');
  });
});

describe('scope on every host and guest the command acts on', () => {
  it('dave (approval.grant on xen2 only) may not approve a migration off xen2 to xen1: the target is not his', async () => {
    const { id } = await ask('alice', 'migrate xen2:files xen1');
    const dave = await say('dave', `approve ${id}`);
    expect(dave.title).toBe('Not allowed');
    expect((await store().get(id))?.status).toBe('pending');
    expect(sent('xen2', /\bmigrate\b/)).toBe(0);
    expect((await say('alice', `deny ${id}`)).title).toBe(`Withdrawn ${id}`);
  });
});

describe('approved against a fleet that changed since it was asked', () => {
  it('the guest moved to another host by hand: the approved stop touches neither copy', async () => {
    const { req, id } = await ask('alice', 'stop xen1:web2');
    const xen1 = env.sim.fleet.host('xen1');
    const guest = env.sim.fleet.findDomain(xen1, 'web2');
    if (!guest) throw new Error('no web2');
    env.sim.fleet.removeDomain(xen1, guest);
    // Same guest (same UUID), another domid there, as a live migration leaves it.
    const { name, memoryMiB, vcpus, flags, uuid } = guest;
    env.sim.fleet.addDomain(env.sim.fleet.host('xen2'), { name, memoryMiB, vcpus, flags, uuid });
    expect((await say('bob', `approve ${id}`)).title).toBe(`Approved ${id}`);
    await adapters.terminal.until(() => finalsOf(req).length >= 2, 30_000, 'the stop result');
    expect(flat(finalsOf(req).at(-1) as Reply)).toBe(
      `Could not stop xen1:web2\n⚠ xen1: not found — web2 was running and is not any more since approval ${id} was asked for: nothing was done — ask again if it is still needed`,
    );
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bweb2\b/) + sent('xen2', /\b(shutdown|destroy)\b.*\bweb2\b/)).toBe(0);
  }, 60_000);

  it('renamed, and another guest given its name: the approved stop touches neither', async () => {
    const { req, id } = await ask('alice', 'stop xen1:db');
    const xen1 = env.sim.fleet.host('xen1');
    const old = env.sim.fleet.findDomain(xen1, 'db');
    if (!old) throw new Error('no db');
    old.name = 'db-old';
    env.sim.fleet.addDomain(xen1, { name: 'db', memoryMiB: 512, vcpus: 1, flags: '-b----', uuid: '11111111-2222-3333-4444-555555555555' });
    expect((await say('bob', `approve ${id}`)).title).toBe(`Approved ${id}`);
    await adapters.terminal.until(() => finalsOf(req).length >= 2, 30_000, 'the stop result');
    // Its words ("was restarted" for another guest) are src/agent/approval-state-change-words.test.ts's matter.
    expect(flat(finalsOf(req).at(-1) as Reply)).toMatch(
      new RegExp(`^Could not stop xen1:db\\n⚠ xen1: refused — db .* since approval ${id} was asked for: nothing was done`),
    );
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bdb(-old)?\b/)).toBe(0);
    // Put back as it was, for the evacuation below.
    const fresh = env.sim.fleet.findDomain(xen1, 'db');
    if (fresh) env.sim.fleet.removeDomain(xen1, fresh);
    old.name = 'db';
  }, 60_000);

  it('a migration whose target host was frozen since: approved, not run, said so to all, audited as not run', async () => {
    const { req, id } = await ask('alice', 'migrate xen3:solo xen2');
    expect(await say('alice', 'freeze xen2 1h storage work')).toMatchObject({ title: expect.stringMatching(/Frozen: xen2/) });
    const frank = await say('frank', `approve ${id}`);
    expect(flat(frank)).toMatch(/Approved, but not run\nxen2 is frozen until/);
    expect(flat(finalsOf(req).at(-1) as Reply)).toMatch(/was approved but did not run\nxen2 is frozen until/);
    expect(flat(await say('frank', `approve ${id}`))).toMatch(
      new RegExp(`${id} was approved but did not run\\nby frank at .*xen2 is frozen`),
    );
    expect(audited(id).some((l) => l.startsWith(`rejected: ${id} approved but not run: xen2 is frozen`))).toBe(true);
    expect((await say('alice', 'unfreeze xen2')).title).toMatch(/Unfrozen/);
    expect(sent('xen3', /\bmigrate\b/)).toBe(0);
  }, 60_000);
});

/** Stops the bot and starts another on the same prefix with `next` as its config (a restart with an edited file). */
async function restartWith(next: Config): Promise<void> {
  await bot.stop();
  bot = await createBot({ config: next, redis: REDIS_URL, logger: quietLogger, adapters: Object.values(adapters) });
  await bot.start();
}

describe('the config changed (a restart with an edited file) between the request and its approval', () => {
  afterEach(() => restartWith(baseConfig()));

  it('/stop now needs two approvers: a request asked under one approver waits for a second', async () => {
    const { req, id } = await ask('alice', 'stop xen1:mail');
    const before = baseConfig();
    await restartWith(
      Config.parse({
        ...before,
        approvals: {
          ...before.approvals,
          policies: [{ commands: ['stop'], hosts: ['*'], approvers: 'oncall', count: 2, expiresMinutes: 15 }, ...before.approvals.policies],
        },
      }),
    );
    const bob = await say('bob', `approve ${id}`);
    // Was "Approved": the policy copied into the request when it was asked still counted, so it ran on one approval
    // after the operators had raised the bar to two.
    expect(flat(bob)).toBe(`Approved by you (1 of 2)\n${id} waits for more approvals`);
    expect(sent('xen1', /\b(shutdown|destroy)\b.*\bmail\b/)).toBe(0);
    expect((await say('frank', `approve ${id}`)).title).toBe(`Approved ${id}`);
    await adapters.terminal.until(() => finalsOf(req).length >= 2, 30_000, 'the stop result');
    expect(sent('xen1', /\bshutdown\b.*\bmail\b/)).toBe(1);
  }, 60_000);

  it('the requester lost their role: approved, not run, and they, the approver and the audit are told', async () => {
    const { req, id } = await ask('dave', 'stop xen2:files');
    const before = baseConfig();
    await restartWith(
      Config.parse({ ...before, people: { ...before.people, dave: { roles: ['viewer'], identities: { terminal: 'dave' } } } }),
    );
    const bob = await say('bob', `approve ${id}`);
    expect(flat(bob)).toBe('Approved, but not run\ndave may no longer run /stop there; nothing ran');
    expect(finalsOf(req).at(-1)?.title).toBe('/stop xen2:files was approved but did not run');
    expect(audited(id)).toContain(`rejected: ${id} approved but not run: dave may no longer run /stop there; nothing ran`);
    expect(sent('xen2', /\b(shutdown|destroy)\b.*\bfiles\b/)).toBe(0);
  }, 60_000);

  it('approvals turned off: a request still pending is not let through without its approval', async () => {
    const { id } = await ask('alice', 'pause xen1:web');
    await restartWith(Config.parse({ ...baseConfig(), approvals: { enabled: false } }));
    expect((await say('alice', `approve ${id}`)).title).toBe('Not allowed');
    expect(sent('xen1', /\bpause\b.*\bweb\b/)).toBe(0);
    expect((await say('alice', `deny ${id}`)).title).toBe(`Withdrawn ${id}`);
  }, 60_000);
});

// Last: the evacuation moves xen1's running guests.
describe('an evacuation plan, approved by someone scoped to some of its guests', () => {
  it('erin (approval.grant for the web* guests only) may not approve an evacuation that also moves db', async () => {
    const { req, id } = await ask('alice', 'evacuate xen1 to xen2');
    const rec = await store().get(id);
    expect(rec?.jobs.filter((j) => j.op === 'domain.migrate').map((j) => ('domain' in j ? j.domain : ''))).toEqual(
      expect.arrayContaining(['web', 'db']),
    );
    const erin = await say('erin', `approve ${id}`);
    // Was "Approved": the plan's guests were never checked against her scope, only its hosts — db was moved on the
    // word of someone who may not touch (nor see) it.
    expect(erin.title).toBe('Not allowed');
    expect(flat(erin)).not.toMatch(/\b(db|mail|cache)\b/);
    expect((await store().get(id))?.status).toBe('pending');
    expect(sent('xen1', /\bmigrate\b/)).toBe(0);
    expect(audited(id)).toContain(
      `rejected: approve ${id} by erin refused: only the person on call (bob) or someone with approval.grant on xen1, xen2 may approve this`,
    );
    // bob, on call and an operator of every guest, approves it: each guest moves once.
    expect((await say('bob', `approve ${id}`)).title).toBe(`Approved ${id}`);
    await adapters.terminal.until(() => finalsOf(req).length >= 2, 30_000, 'the evacuation result');
    for (const guest of ['web', 'db']) expect(sent('xen1', new RegExp(`\\bmigrate\\b.*\\b${guest}\\b`))).toBe(1);
    // cache, paused on xen1 by a test above, stays: the host is not empty, and the reply no longer says evacuated.
    expect(finalsOf(req).at(-1)?.title).toBe(
      'xen1 is not empty: 2 guests moved, but cache (paused) is there (the plan left it there: see below)',
    );
  }, 60_000);
});
