import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { schedule } from '../../commands/schedule.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { Config } from '../config/schema.ts';
import type { LocalContext } from '../core/define-command.ts';
import type { Reply } from '../core/reply.ts';
import { scheduleAccess } from './schedule-access.ts';
import { ScheduleBook } from './schedules.ts';

/**
 * The same schedule added twice (a demo pass typed `/schedule add status every 1m` twice): both posted every minute in
 * one channel. The second is refused, naming the first; another interval, mode, host or channel is another schedule.
 */
const hostKey = `SHA256:${'Q'.repeat(43)}`;
const config = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey } },
  roles: { admin: { allow: ['*'] } },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    bob: { roles: ['admin'], identities: { terminal: 'bob' } },
  },
  channels: [
    { platform: 'terminal', id: 'ops' },
    { platform: 'terminal', id: 'noc' },
  ],
});

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
const book = new ScheduleBook(redis, { url: REDIS_URL }, prefix, quietLogger);

afterAll(async () => {
  await book.close();
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

async function typed(who: string, spec: string, channelId = 'ops', options: { mode?: 'edit' } = {}): Promise<Reply> {
  const me = { id: who, displayName: who, roles: ['admin'] };
  const access = scheduleAccess({ config, book, audit: async () => {}, now: () => Date.now() }, me, { platform: 'terminal', channelId }, {
    requestId: 'r',
    platform: 'terminal',
    person: who,
  } as never);
  return schedule.run(schedule.args.parse({ action: 'add', spec, ...options }) as never, { schedules: access } as unknown as LocalContext);
}

const idOf = (r: Reply) => /^Schedule (S[A-Z0-9]{5}) added$/.exec(r.title)?.[1] ?? '';
const said = (r: Reply) => r.blocks.map((b) => ('text' in b ? b.text : '')).join('\n');

describe('/schedule add of a schedule that exists', () => {
  it('is refused, naming the one there and how to remove it, whoever added it; nothing is added', async () => {
    const first = idOf(await typed('alice', 'status every 1m'));
    expect(first).not.toBe('');
    const again = await typed('bob', 'status every 1m');
    expect(again.title).toBe('Already scheduled');
    expect(again.refused).toBe(true);
    expect(said(again)).toBe(
      `schedule ${first} posts status every 1m in terminal:ops, as alice: the same posts would come twice. To replace it, remove it first:\n/schedule remove ${first}`,
    );
    expect((await book.list()).map((s) => s.id)).toEqual([first]);
  });

  it('another interval, another host, another mode or another channel is another schedule', async () => {
    const before = (await book.list()).length;
    for (const [spec, channel, options] of [
      ['status every 2m', 'ops', {}],
      ['top xen1 every 1m', 'ops', {}],
      ['top every 1m', 'ops', {}],
      ['status every 1m', 'ops', { mode: 'edit' }],
      ['status every 1m', 'noc', {}],
    ] as const) {
      const r = await typed('alice', spec, channel, options);
      expect(idOf(r), `${spec} in ${channel}: ${r.title}`).not.toBe('');
    }
    expect((await book.list()).length).toBe(before + 5);
    // And each of those, typed again, is refused in its turn.
    expect((await typed('bob', 'top xen1 every 1m')).title).toBe('Already scheduled');
  });
});
