import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import type { Person } from '../core/authorize.ts';
import type { RuntimeFreeze } from '../core/freeze.ts';
import { FreezeBook } from './freezes.ts';

const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL);
const key = `${prefix}:freezes`;
afterEach(async () => {
  await redis.del(key);
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const NOW = Date.parse('2026-12-07T10:00:00Z');
const HOUR = 3_600_000;
const host = { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` };
const config = Config.parse({
  hosts: { xen1: host, xen2: host },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'] }, bob: { roles: ['admin'] } },
  maintenance: [{ hosts: ['xen2'], reason: 'disk swap', from: '2026-12-07T09:00:00Z', until: '2026-12-07T15:00:00Z' }],
});
const person = (id: string): Person => ({ id, roles: ['admin'] }) as unknown as Person;
const audit = { requestId: 'r', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'c', command: 'freeze' };
const book = new FreezeBook(
  redis,
  prefix,
  config,
  async () => {},
  () => NOW,
);
const stored = async (h: string) => JSON.parse((await redis.hget(key, h)) ?? 'null') as RuntimeFreeze | null;

describe('two people freezing the same host at once', () => {
  it("keeps alice's 4-hour freeze when bob's 1-hour freeze is decided at the same moment", async () => {
    // Both read the hash before either writes: a read-then-write let the shorter one, written last, replace the longer.
    await Promise.all([
      book.freeze(person('alice'), ['xen1'], new Date(NOW + 4 * HOUR), 'storage migration', audit),
      book.freeze(person('bob'), ['xen1'], new Date(NOW + HOUR), 'kernel upgrade', audit),
    ]);
    expect(await stored('xen1')).toMatchObject({ by: 'alice', until: NOW + 4 * HOUR });
  });

  it('tells the one whose shorter freeze lost the race that the longer one is kept', async () => {
    const [, bobs] = await Promise.all([
      book.freeze(person('alice'), ['xen1'], null, 'storage migration', audit),
      book.freeze(person('bob'), ['xen1'], new Date(NOW + HOUR), 'kernel upgrade', audit),
    ]);
    expect(JSON.stringify(bobs)).toContain('xen1 stays frozen until /unfreeze (alice: storage migration)');
    expect(bobs.title).not.toContain('Frozen: xen1');
  });
});

describe('a freeze shorter than an open maintenance window', () => {
  it('does not say commands go through at its end, nor that /unfreeze lifts what holds the host', async () => {
    const r = await book.freeze(person('alice'), ['xen2'], new Date(NOW + HOUR), 'kernel upgrade', audit);
    const text = JSON.stringify(r);
    // The window (until 15:00 UTC) holds xen2 past the freeze's 11:00.
    expect(text).not.toContain('refused until then (or /unfreeze)');
    expect(text).toContain('disk swap');
    expect(text).toContain('2026-12-07 15:00 UTC');
  });
});

describe("a freeze's end as replies say it", () => {
  it('a freeze ending at 11:30:45 is not said to end at 11:30', async () => {
    const r = await book.freeze(person('alice'), ['xen1'], new Date(NOW + 90 * 60_000 + 45_000), 'kernel upgrade', audit);
    expect(JSON.stringify(r)).not.toMatch(/until 2026-12-07 11:30 UTC/);
    expect(JSON.stringify(r)).toContain('until 2026-12-07 11:30:45 UTC');
  });
});
