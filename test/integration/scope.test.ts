import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * What a person scoped to some hosts (or to read only) is shown and may do, through the real bot (Redis, audit,
 * pipeline; no agent needed): nothing about hosts outside the scope, and nothing offered that would be refused.
 */

const prefix = uniquePrefix();
const fakeHost = (port: number) => ({
  address: '127.0.0.1',
  port,
  privateKey: 'not-a-real-key',
  hostKey: `SHA256:${'A'.repeat(43)}`,
});

const config = Config.parse({
  redis: { url: REDIS_URL, prefix },
  hosts: { xen1: fakeHost(1), xen2: fakeHost(2) },
  roles: {
    admin: { allow: ['*'] },
    viewer: { allow: ['read'] },
    // An admin for xen2 only: every admin permission, audit.read included, scoped to xen2.
    xen2admin: { allow: [{ permission: 'admin', hosts: ['xen2'] }] },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    carol: { roles: ['viewer'], identities: { terminal: 'carol' } },
    erin: { roles: ['xen2admin'], identities: { terminal: 'erin' } },
  },
  channels: [{ platform: 'terminal', id: '*' }],
  audit: { file: `/tmp/${prefix}-audit.jsonl`, streamLingerMs: 0 },
  bot: { readTimeoutMs: 2_000, fleetRefreshMs: 600_000 },
  approvals: { enabled: false },
});

let bot: Bot;
const adapter = new CaptureAdapter();

beforeAll(async () => {
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

let n = 0;
async function ask(user: string, text: string): Promise<Reply> {
  const req = chatRequest(`scope-${++n}`, text, user);
  await bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

const flat = (r: Reply) => JSON.stringify(r);

describe('/help lists only what the person may run', () => {
  it('a viewer is not offered /stop, /start or /migrate by /help', async () => {
    // carol (viewer) may not run /stop: the pipeline refuses it ("carol may not run /stop: needs permission domain.stop").
    const refused = await ask('carol', 'stop web');
    expect(refused.title).toBe('Not allowed');
    const help = await ask('carol', 'help');
    const table = help.blocks.find((b) => b.type === 'table');
    const usages = table && table.type === 'table' ? table.table.rows.map((r) => r[0]) : [];
    expect(usages.some((u) => u?.startsWith('/list'))).toBe(true);
    // /help asked without arguments once stopped at "missing argument", before the permission check, and offered them all.
    expect(usages.filter((u) => /^\/(stop|start|migrate|reboot|console)\b/.test(u ?? ''))).toEqual([]);
  });
});

describe('/audit and host scope', () => {
  it('an admin scoped to xen2 does not see audit entries about xen1', async () => {
    // alice (admin everywhere) works on xen1; the entries name xen1.
    await ask('alice', 'freeze xen1 1h secret-xen1-maintenance');
    await ask('alice', 'unfreeze xen1');
    // erin may read the audit on xen2 only.
    const r = await ask('erin', 'audit 50');
    expect(r.kind).toBe('result');
    expect(flat(r)).not.toContain('xen1');
    expect(flat(r)).not.toContain('secret-xen1-maintenance');
  });
});

describe('local commands that name hosts, asked by an admin scoped to xen2', () => {
  it('/freeze of an unknown host lists only the hosts erin may use', async () => {
    const r = await ask('erin', 'freeze nosuch 1h testing');
    expect(r.title).toBe('Cannot do that');
    expect(flat(r)).toContain('no host named nosuch (hosts: xen2)');
    // As the pipeline's own answer for an unknown host: "hosts: xen2", the ones she may use.
    expect(flat(r)).not.toContain('xen1');
  });

  it('/schedule add top with an unknown host lists only the hosts erin may use', async () => {
    const r = await ask('erin', 'schedule add top nosuch every 1h');
    expect(r.kind).toBe('error');
    expect(flat(r)).toMatch(/nosuch.*xen2/);
    expect(flat(r)).not.toContain('xen1');
  });

  it('/schedule list does not show erin a schedule about xen1', async () => {
    const added = await ask('alice', 'schedule add top xen1 every 1h');
    expect(added.title).toMatch(/^Schedule S[A-Z0-9]{5} added$/);
    const r = await ask('erin', 'schedule list');
    expect(r.kind).toBe('result');
    expect(flat(await ask('alice', 'schedule list'))).toContain('top xen1');
    expect(flat(r)).not.toContain('xen1');
  });
});

describe('/schedule remove and host scope', () => {
  it('an admin scoped to xen2 cannot remove a schedule that posts about xen1', async () => {
    const added = await ask('alice', 'schedule add top xen1 every 2h');
    const id = /^Schedule (S[A-Z0-9]{5}) added$/.exec(added.title)?.[1] ?? '';
    expect(id).not.toBe('');
    const r = await ask('erin', `schedule remove ${id}`);
    // erin may not even read xen1 (/top xen1 is refused): to her there is no such schedule, and it stays.
    expect((await ask('erin', 'top xen1')).title).toBe('Not allowed');
    expect(r.title).toBe('No such schedule');
    expect(flat(await ask('alice', 'schedule list'))).toContain(id);
    await ask('alice', `schedule remove ${id}`);
  });
});

describe('/freeze input', () => {
  it('/freeze xen2 2h (a time, no reason) is refused with the usage, not a freeze until /unfreeze with reason "2h"', async () => {
    const r = await ask('alice', 'freeze xen2 2h');
    // Was "Frozen: xen2 … until /unfreeze (alice: 2h)": the time became the reason of a freeze that never ended.
    expect(r.kind).toBe('error');
    expect(r.title).toBe('Bad arguments for /freeze');
    await ask('alice', 'unfreeze xen2');
  });
});

describe('what an audit entry is about', () => {
  it("the hosts its command names, not a quoted reason that mentions another, nor /audit's own filters", async () => {
    await ask('alice', 'freeze xen2 1h "follow-up of the xen1 outage"');
    await ask('alice', 'unfreeze xen2');
    // About xen2 only: erin (xen2) sees it, reason and all.
    expect(flat(await ask('erin', 'audit command:freeze'))).toContain('follow-up of the xen1 outage');
    // Asking the audit about xen1 is not an entry about xen1.
    await ask('alice', 'audit host:xen1');
    expect((await ask('alice', 'audit host:xen1 command:audit')).title).toMatch(/^No audit entries match/);
  });
});

describe('options that are not text (a forged button or interaction)', () => {
  it('are answered, not "Something went wrong": reading which hosts an entry is about never stringifies an object', async () => {
    const req = {
      ...chatRequest(`scope-${++n}`, 'help', 'alice'),
      // As a forged interaction may carry it: not the string the type says.
      args: { kind: 'options' as const, options: { host: { toString: false } as unknown as string } },
    };
    await bot.core.handle(req, targetOf(req));
    expect((await adapter.finalReply(req.id)).title).not.toBe('Something went wrong');
  });
});

describe('a mistyped command', () => {
  it('suggests only what /help would list for the person: a viewer typing /stp is not offered /stop', async () => {
    const r = await ask('carol', 'stp web');
    expect(r.title).toBe('Unknown command');
    expect(flat(r)).not.toContain('did you mean /stop?');
    expect(flat(await ask('carol', 'lst'))).toContain('did you mean /list?');
  });
});
