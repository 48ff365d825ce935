import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyTarget } from '../../src/adapters/types.ts';
import { ScheduleBook, scheduleQueueName, scheduleSnapshotKey } from '../../src/app/schedules.ts';
import type { Reply } from '../../src/core/reply.ts';
import type { ScheduleSpec } from '../../src/core/schedule.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger } from '../helpers/sim.ts';
import { startTestStack, type TestStack } from '../helpers/stack.ts';

/** A terminal-platform capture adapter that also pins, so an `edit` schedule's pinning is seen. */
class PinningAdapter extends CaptureAdapter {
  readonly pinned: ReplyTarget[] = [];
  async pin(target: ReplyTarget): Promise<void> {
    this.pinned.push(target);
  }
  /** The next scheduled post is refused, as a platform's 502 would be. */
  failNextPost = false;
  refused = 0;
  override async deliver(target: ReplyTarget, reply: Reply): Promise<ReplyTarget> {
    if (this.failNextPost && target.requestId.startsWith('sched-')) {
      this.failNextPost = false;
      this.refused++;
      throw new Error('502 Bad Gateway');
    }
    return super.deliver(target, reply);
  }
  /** Posts of one schedule (its ticks' request ids start with sched-<id>-). */
  postsOf(id: string): { target: ReplyTarget; reply: Reply }[] {
    return this.delivered.filter((d) => d.target.requestId.startsWith(`sched-${id}-`));
  }
  /** Resolves with the schedule's posts once there are `n`. */
  async waitForPosts(id: string, n: number, timeoutMs = 20_000): Promise<{ target: ReplyTarget; reply: Reply }[]> {
    await this.until(() => this.postsOf(id).length >= n, timeoutMs, `${n} posts of ${id}`);
    return this.postsOf(id);
  }
}

let stack: TestStack;
let adapter: PinningAdapter;

beforeAll(async () => {
  stack = await startTestStack({
    makeAdapters: () => {
      adapter = new PinningAdapter('terminal');
      return [adapter];
    },
    adjustConfig: (c) => ({
      ...c,
      approvals: { ...c.approvals, enabled: false },
      // A channel narrowed to /status: what typing there allows, a schedule there may post.
      channels: [...c.channels, { platform: 'terminal', id: 'narrow', commands: ['status'] }],
      schedules: {
        board: { what: 'status', every: '5s', channel: { platform: 'terminal', id: 'ops' }, mode: 'edit', as: 'alice' },
      },
    }),
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

async function ask(line: string, person = 'alice'): Promise<Reply> {
  const [command = '', ...rest] = line.replace(/^\//, '').split(' ');
  const req = chatRequest(`r-${Math.random().toString(36).slice(2)}`, `${command} ${rest.join(' ')}`.trim(), person);
  await stack.bot.core.handle(req, targetOf(req));
  return adapter.finalReply(req.id);
}

const text = (r: Reply) =>
  [r.title, ...r.blocks.map((b) => ('text' in b ? b.text : b.type === 'table' ? JSON.stringify(b.table.rows) : ''))].join('\n');

describe('/schedule from chat', () => {
  it('adds with an id and the exact remove line, lists it with its next run and owner, and removes it', async () => {
    const added = await ask('/schedule add top xen1 every 10m');
    const id = /^Schedule (S[A-Z0-9]{5}) added$/.exec(added.title)?.[1] ?? '';
    expect(id).not.toBe('');
    expect(added.blocks).toContainEqual({ type: 'code', text: `/schedule remove ${id}` });
    // BullMQ runs an `every` scheduler's first job at once: said so, not a "next run" that may be now or later.
    expect(text(added)).toContain('every 10m in terminal:terminal, as alice; the first post comes now.');
    const list = await ask('/schedule list', 'carol');
    const row = list.blocks.flatMap((b) => (b.type === 'table' ? b.table.rows : [])).find((r) => r[0] === id);
    expect(row?.slice(1, 4)).toEqual(['top xen1', 'every 10m', 'terminal:terminal']);
    expect(row?.[4]).toMatch(/^\d\d:\d\d:\d\d UTC$|^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(row?.[5]).toBe('alice');
    expect((await ask(`/schedule remove ${id}`)).title).toBe(`Schedule ${id} removed`);
    expect((await ask('/schedule list')).blocks.flatMap((b) => (b.type === 'table' ? b.table.rows : [])).map((r) => r[0])).not.toContain(
      id,
    );
  });

  it('refuses a viewer, a bad interval and a config schedule, each with a reason', async () => {
    expect(text(await ask('/schedule add status every 5m', 'carol'))).toContain(
      'carol may not add or remove schedules: needs permission schedule.manage',
    );
    const bad = await ask('/schedule add status every 2s');
    expect(bad.kind).toBe('error');
    expect(text(bad)).toContain('the interval must be from 5s to 7d');
    expect(bad.blocks.at(-1)).toMatchObject({ type: 'code', text: expect.stringContaining('/schedule add') });
    expect(text(await ask('/schedule remove cfg-board'))).toContain('comes from the config file');
  });

  it('refuses a cron pattern BullMQ would not run, or one posting faster than every 5s, leaving nothing behind', async () => {
    const before = await ids();
    // Accepted before, then refused by BullMQ as the scheduler was made: "Something went wrong", and a row left over.
    const range = await ask('/schedule add status cron "61 * * * *"');
    expect(range.title).toBe('Bad arguments for /schedule');
    expect(text(range)).toContain('"61 * * * *" is not a cron pattern that runs: Constraint error, got value 61 expected range 0-59');
    const seconds = await ask('/schedule add status cron "* * * * * *"');
    expect(seconds.title).toBe('Bad arguments for /schedule');
    expect(text(seconds)).toContain('"* * * * * *" would post 1s apart: posts must be at least 5s apart');
    expect(await ids()).toEqual(before);
  });

  it('refuses to schedule a command the channel does not take, as typing it there would be', async () => {
    expect((await ask('/schedule add status every 1h channel:narrow')).title).toMatch(/^Schedule S[A-Z0-9]{5} added$/);
    const top = await ask('/schedule add top xen1 every 5s channel:narrow');
    expect(top.title).toBe('Not allowed');
    expect(text(top)).toContain('/top is not allowed in terminal:narrow: the config narrows that channel');
  });
});

/** The ids /schedule list shows. */
async function ids(): Promise<string[]> {
  return (await ask('/schedule list')).blocks.flatMap((b) => (b.type === 'table' ? b.table.rows.map((r) => String(r[0])) : [])).sort();
}

describe('a schedule the config no longer lets post where it posts', () => {
  it('is skipped at each tick (the tick says so), and posts nothing there', async () => {
    const redis = new Redis(REDIS_URL);
    const book = new ScheduleBook(redis, { url: REDIS_URL }, stack.prefix, quietLogger);
    const q = new Queue(scheduleQueueName('terminal'), { connection: { url: REDIS_URL }, prefix: stack.prefix });
    try {
      // Made when the channel took it (or written by an older xenops): /top into the channel narrowed to /status.
      const id = 'SNARRW';
      await book.upsert({
        id,
        what: 'top',
        host: 'xen1',
        when: { every: 5_000 },
        channel: { platform: 'terminal', id: 'narrow' },
        mode: 'post',
        owner: 'alice',
        source: 'chat',
        createdAt: Date.now(),
      });
      await expect
        .poll(async () => (await q.getJobs(['completed'])).filter((j) => j.data.id === id).map((j) => j.returnvalue), { timeout: 15_000 })
        .toContain('skipped');
      expect(adapter.postsOf(id)).toEqual([]);
      await book.remove(id);
    } finally {
      await q.close();
      await book.close();
      redis.disconnect();
    }
  }, 30_000);
});

describe('a schedule whose owner or host left the config since it was added', () => {
  it('is skipped at each tick and named by /schedule list, instead of posting the same error at every tick', async () => {
    const redis = new Redis(REDIS_URL);
    const book = new ScheduleBook(redis, { url: REDIS_URL }, stack.prefix, quietLogger);
    const q = new Queue(scheduleQueueName('terminal'), { connection: { url: REDIS_URL }, prefix: stack.prefix });
    const base = { when: { every: 5_000 }, channel: { platform: 'terminal' as const, id: 'terminal' }, mode: 'post' as const };
    try {
      // zed was removed from the people, xen9 from the hosts, after these were added in chat.
      await book.upsert({ id: 'SGONEP', what: 'status', host: null, owner: 'zed', source: 'chat', createdAt: Date.now(), ...base });
      await book.upsert({ id: 'SGONEH', what: 'top', host: 'xen9', owner: 'alice', source: 'chat', createdAt: Date.now(), ...base });
      for (const id of ['SGONEP', 'SGONEH'])
        await expect
          .poll(async () => (await q.getJobs(['completed'])).filter((j) => j.data.id === id).map((j) => j.returnvalue), { timeout: 15_000 })
          .toContain('skipped');
      expect([adapter.postsOf('SGONEP'), adapter.postsOf('SGONEH')]).toEqual([[], []]);
      const listed = text(await ask('/schedule list'));
      expect(listed).toContain('SGONEP posts nothing: its owner zed is no longer in the config');
      expect(listed).toContain('SGONEH posts nothing: its host xen9 is no longer in the config');
      await book.remove('SGONEP');
      await book.remove('SGONEH');
    } finally {
      await q.close();
      await book.close();
      redis.disconnect();
    }
  }, 30_000);
});

describe('a yearly status post', () => {
  it('keeps what its last post saw until the next one (a snapshot kept 30 days made a monthly post "first" again)', async () => {
    const id = /^Schedule (S[A-Z0-9]{5}) added$/.exec((await ask('/schedule add status cron "0 8 29 2 *"')).title)?.[1] ?? '';
    expect(id).not.toBe('');
    await stack.bot.run({
      command: 'status',
      as: 'alice',
      channel: { platform: 'terminal', id: 'terminal' },
      requestId: `sched-${id}-1`,
      schedule: { id, mode: 'post' },
    });
    await adapter.waitForPosts(id, 1);
    const redis = new Redis(REDIS_URL);
    try {
      // Written right after the post is out.
      await expect.poll(() => redis.pttl(scheduleSnapshotKey(stack.prefix, id)), { timeout: 5_000 }).toBeGreaterThan(366 * 86_400_000);
    } finally {
      redis.disconnect();
    }
    await ask(`/schedule remove ${id}`);
  }, 30_000);
});

describe('a schedule removed while its tick runs', () => {
  it('posts nothing after "/schedule remove" answered "no more posts"', async () => {
    const id = /^Schedule (S[A-Z0-9]{5}) added$/.exec((await ask('/schedule add status every 1h')).title)?.[1] ?? '';
    expect(id).not.toBe('');
    // The tick's read of xen1 is held while the schedule is removed.
    stack.sim.faults.delayNext('xen1', { match: /xl info/, ms: 1_500 });
    const since = stack.sim.log.lastSeq;
    const tickId = `sched-${id}-1`;
    await stack.bot.run({
      command: 'status',
      as: 'alice',
      channel: { platform: 'terminal', id: 'terminal' },
      requestId: tickId,
      schedule: { id, mode: 'post' },
    });
    await stack.sim.log.waitFor({ host: 'xen1', match: /xl info/, since, timeoutMs: 10_000 });
    expect(text(await ask(`/schedule remove ${id}`))).toContain('no more posts');
    // The tick's request ends (its bookkeeping done) without a post.
    const redis = new Redis(REDIS_URL);
    try {
      await expect.poll(() => redis.exists(`${stack.prefix}:pending:${tickId}`), { timeout: 10_000 }).toBe(0);
    } finally {
      redis.disconnect();
    }
    expect(adapter.postsOf(id)).toEqual([]);
  }, 30_000);
});

describe('a config schedule in edit mode', () => {
  it('edits one pinned message and marks a guest started outside xenops in the next post', async () => {
    const first = await adapter.waitForPosts('cfg-board', 1);
    expect(first[0]?.target.channelId).toBe('ops');
    // Named by its schedule's id: another status schedule in that channel makes a first post too.
    expect(text(first[0]?.reply as Reply)).toContain('First post of this schedule (cfg-board)');
    // Started behind xenops' back, straight on the simulated host.
    const xen1 = stack.sim.fleet.hosts.get('xen1');
    if (!xen1) throw new Error('no xen1');
    stack.sim.fleet.addDomain(xen1, { name: 'mail', memoryMiB: 1024, vcpus: 2, flags: '-b----' });
    const n = adapter.postsOf('cfg-board').length;
    const posts = await adapter.waitForPosts('cfg-board', n + 1);
    const later = posts.slice(n).map((p) => text(p.reply));
    expect(later.some((t) => t.includes('▲ mail started on xen1'))).toBe(true);
    // Every post after the first went to the first post's message (the adapter's state came back to it).
    const deliveries = posts.map((p) => Number(p.target.state['deliveries'] ?? 0));
    expect(deliveries).toEqual(deliveries.map((_, i) => i));
    expect(adapter.pinned).toHaveLength(1);
  }, 30_000);

  it('a post the platform refused is not taken as seen: what changed before it is said in the next one', async () => {
    await adapter.waitForPosts('cfg-board', 1);
    const xen2 = stack.sim.fleet.hosts.get('xen2');
    if (!xen2) throw new Error('no xen2');
    adapter.failNextPost = true;
    stack.sim.fleet.addDomain(xen2, { name: 'relay', memoryMiB: 512, vcpus: 1, flags: '-b----' });
    await adapter.until(() => adapter.refused === 1, 20_000, 'the refused post');
    const n = adapter.postsOf('cfg-board').length;
    const posts = await adapter.waitForPosts('cfg-board', n + 1);
    // The refused post saw relay running; nobody did: the next post still says it came.
    expect(text(posts[n]?.reply as Reply)).toContain('+ relay appeared on xen2');
  }, 40_000);
});

describe('ScheduleBook', () => {
  const prefix = `{xenops-test-sched-${Math.random().toString(36).slice(2, 8)}}`;
  const redis = new Redis(REDIS_URL);
  const book = new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger);
  const spec = (id: string, every: number, source: ScheduleSpec['source']): ScheduleSpec => ({
    id,
    what: 'status',
    host: null,
    when: { every },
    channel: { platform: 'telegram', id: '-100' },
    mode: 'post',
    owner: 'alice',
    source,
    createdAt: 1,
  });

  afterAll(async () => {
    await book.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('never replaces a schedule with a new one that drew the same id', async () => {
    expect(await book.create(spec('SSAME1', 60_000, 'chat'))).toBe(true);
    expect(await book.create({ ...spec('SSAME1', 120_000, 'chat'), owner: 'bob' })).toBe(false);
    expect(await book.get('SSAME1')).toMatchObject({ owner: 'alice', when: { every: 60_000 } });
    await book.remove('SSAME1');
  });

  it('makes Redis match the config: removed config schedules go, chat ones stay, unchanged ones keep their next run', async () => {
    await book.syncConfig([spec('cfg-a', 60_000, 'config'), spec('cfg-b', 60_000, 'config')]);
    await book.upsert(spec('SCHAT1', 60_000, 'chat'));
    const before = new Map((await book.list()).map((s) => [s.id, s.next]));
    const { removed } = await book.syncConfig([spec('cfg-a', 60_000, 'config')]);
    expect(removed).toEqual(['cfg-b']);
    const after = await book.list();
    expect(after.map((s) => s.id).sort()).toEqual(['SCHAT1', 'cfg-a']);
    expect(after.find((s) => s.id === 'cfg-a')?.next).toBe(before.get('cfg-a'));
    // BullMQ's own job schedulers agree: the removed one is gone from the queue too.
    const q = new Queue(scheduleQueueName('telegram'), { connection: { url: REDIS_URL }, prefix });
    expect((await q.getJobSchedulers()).map((s) => s.key).sort()).toEqual(['SCHAT1', 'cfg-a']);
    await q.close();
  });
});
