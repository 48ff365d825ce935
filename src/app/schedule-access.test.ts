import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { schedule } from '../../commands/schedule.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { Config } from '../config/schema.ts';
import type { LocalContext } from '../core/define-command.ts';
import type { Reply } from '../core/reply.ts';
import type { AuditEntry } from './audit.ts';
import { scheduleAccess } from './schedule-access.ts';
import { ScheduleBook } from './schedules.ts';

const hostKey = `SHA256:${'Q'.repeat(43)}`;
const config = Config.parse({
  hosts: {
    xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey },
    xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey },
  },
  roles: {
    admin: { allow: ['*'] },
    // Manages the schedules about xen2, reads everything.
    xen2sched: { allow: ['read', { permission: 'schedule.manage', hosts: ['xen2'] }] },
    // May manage schedules, and read nothing.
    scheduler: { allow: ['schedule.manage', 'schedule.read'] },
  },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    erin: { roles: ['xen2sched'], identities: { terminal: 'erin' } },
    sam: { roles: ['scheduler'], identities: { terminal: 'sam' } },
  },
  channels: [{ platform: 'terminal', id: 'ops' }],
});

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
const book = new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger);
const audited: AuditEntry[] = [];

afterAll(async () => {
  await book.close();
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

/** `/schedule …` typed by `who` in terminal:ops, through the command's own parsing and checks. */
async function typed(who: string, args: Record<string, unknown>, now: () => number = () => Date.now()): Promise<Reply> {
  const me = { id: who, displayName: who, roles: [...(config.people[who]?.roles ?? [])] };
  const access = scheduleAccess(
    { config, book, audit: async (e) => void audited.push(e), now },
    me,
    { platform: 'terminal', channelId: 'ops' },
    {
      requestId: 'r',
      platform: 'terminal',
      person: who,
    } as never,
  );
  return schedule.run(schedule.args.parse(args) as never, { schedules: access } as unknown as LocalContext);
}

const text = (r: Reply) =>
  [r.title, ...r.blocks.map((b) => ('text' in b ? b.text : b.type === 'table' ? JSON.stringify(b.table.rows) : ''))].join('\n');
const idOf = (r: Reply) => /^Schedule (S[A-Z0-9]{5}) added$/.exec(r.title)?.[1] ?? '';

describe('/schedule add, by whom and about what', () => {
  it("refuses a schedule about a host outside the adder's schedule.manage (which they could then not remove)", async () => {
    const r = await typed('erin', { action: 'add', spec: 'top xen1 every 1h' });
    expect(r.title).toBe('Not allowed');
    expect(text(r)).toContain('erin may not manage schedules about xen1: needs permission schedule.manage on xen1');
    expect(await book.list()).toEqual([]);
    // Where the permission reaches, adding and removing both work.
    const ok = await typed('erin', { action: 'add', spec: 'top xen2 every 1h' });
    expect(idOf(ok)).not.toBe('');
    expect((await typed('erin', { action: 'remove', spec: idOf(ok) })).title).toBe(`Schedule ${idOf(ok)} removed`);
  });

  it('refuses a post its owner may not run anywhere (every tick would post "Not allowed")', async () => {
    const r = await typed('sam', { action: 'add', spec: 'status every 1h' });
    expect(r.title).toBe('Not allowed');
    expect(text(r)).toContain('sam may not run /status: needs permission host.status');
    expect(await book.list()).toEqual([]);
  });
});

describe('/schedule remove', () => {
  it('takes the id as typed in lower case, as /approve does', async () => {
    const id = idOf(await typed('alice', { action: 'add', spec: 'status every 1h' }));
    expect(id).not.toBe('');
    const r = await typed('alice', { action: 'remove', spec: id.toLowerCase() });
    expect(r.title).toBe(`Schedule ${id} removed`);
    expect(await book.get(id)).toBeNull();
  });
});

describe('/schedule list', () => {
  it('says which schedules post nothing because the config no longer lets them into their channel', async () => {
    await book.upsert({
      id: 'SOLDCH',
      what: 'status',
      host: null,
      when: { every: 3_600_000 },
      channel: { platform: 'terminal', id: 'retired' },
      mode: 'post',
      owner: 'alice',
      source: 'chat',
      createdAt: Date.now(),
    });
    const r = await typed('alice', { action: 'list' });
    expect(text(r)).toContain("SOLDCH posts nothing: xenops may not post in terminal:retired: the config's channels do not allow it");
    await book.remove('SOLDCH');
  });
});

describe('/schedule: the next run', () => {
  it("is told against the deployment's shared clock, not this bot's own: the date shows when the day differs", async () => {
    const DAY_MS = 86_400_000;
    const added: string[] = [];
    try {
      added.push(idOf(await typed('alice', { action: 'add', spec: 'status cron 0 8 * * *' })));
      const next = (await book.list()).find((s) => s.id === added[0])?.next ?? 0;
      expect(next).toBeGreaterThan(0);
      const dated = `${new Date(next).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
      // The shared clock (Redis's) two days past the next run: the day is told by it, whatever this bot's clock says.
      // Before, this bot's clock told it: one of the two checks below failed, whatever the time of day.
      const later = () => next + 2 * DAY_MS;
      // Another schedule of the same pattern (the same one again would be refused as already there).
      const second = await typed('alice', { action: 'add', spec: 'digest cron 0 8 * * *' }, later);
      added.push(idOf(second));
      expect(text(second)).toContain(`next run ${dated}.`);
      expect(text(await typed('alice', { action: 'list' }, later))).toContain(`"${dated}"`);
      // On the next run's own day by the shared clock: the time alone.
      const timeOnly = `"${new Date(next).toISOString().slice(11, 19)} UTC"`;
      expect(text(await typed('alice', { action: 'list' }, () => next))).toContain(timeOnly);
    } finally {
      for (const id of added) await book.remove(id);
    }
  });
});

describe('/schedule by someone whose schedule.manage reaches only some hosts', () => {
  it("may not remove (or add) a schedule about the whole fleet: alice's status post covers xen1 too", async () => {
    const id = idOf(await typed('alice', { action: 'add', spec: 'status every 1h' }));
    expect(id).not.toBe('');
    const removing = await typed('erin', { action: 'remove', spec: id });
    expect(removing).toMatchObject({ title: 'Not allowed', refused: true });
    expect(text(removing)).toBe(
      'Not allowed\nerin may not manage schedules about the whole fleet: needs permission schedule.manage on every host',
    );
    expect((await book.get(id))?.owner).toBe('alice');
    const adding = await typed('erin', { action: 'add', spec: 'digest every 1d' });
    expect(text(adding)).toBe(
      'Not allowed\nerin may not manage schedules about the whole fleet: needs permission schedule.manage on every host',
    );
    expect((await book.list()).map((s) => s.id)).toEqual([id]);
    expect((await typed('alice', { action: 'remove', spec: id })).title).toBe(`Schedule ${id} removed`);
  });

  it('is told "not allowed", not "no such schedule", for one about a host outside it that /schedule list shows them', async () => {
    const id = idOf(await typed('alice', { action: 'add', spec: 'top xen1 every 1h' }));
    expect(text(await typed('erin', { action: 'list' }))).toContain(id);
    const r = await typed('erin', { action: 'remove', spec: id });
    expect(text(r)).toBe('Not allowed\nerin may not manage schedules about xen1: needs permission schedule.manage on xen1');
    expect(await book.get(id)).not.toBeNull();
    // sam reads nothing: a schedule about xen1 is none of sam's business, and its existence is not told.
    expect(text(await typed('sam', { action: 'remove', spec: id }))).toBe(`No such schedule\nno schedule "${id}": see /schedule list`);
    await typed('alice', { action: 'remove', spec: id });
  });
});
