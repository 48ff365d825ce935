import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { FreezeBook } from '../../src/app/freezes.ts';
import { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';

/**
 * `/freeze HOSTS [until] REASON` through the real bot on real Redis.
 * The zone `until` is read in is the on-call section's (Europe/Berlin here).
 */
const ZONE = 'Europe/Berlin';
const prefix = uniquePrefix();
const auditFile = `/tmp/${prefix}-audit.jsonl`;
const config = Config.parse({
  redis: { url: REDIS_URL, prefix },
  hosts: {
    xen1: { address: '127.0.0.1', port: 1, privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true },
    xen2: { address: '127.0.0.1', port: 1, privateKeyPath: '/k', dangerouslyAcceptAnyHostKey: true },
  },
  roles: { admin: { allow: ['*'] } },
  people: {
    alice: { roles: ['admin'], identities: { terminal: 'alice' } },
    bob: { roles: ['admin'], identities: { terminal: 'bob' } },
  },
  oncall: { timezone: ZONE },
  channels: [{ platform: 'terminal', id: '*' }],
  audit: { file: auditFile },
  bot: { fleetRefreshMs: 600_000 },
});

let bot: Bot;
const adapter = new CaptureAdapter();
const redis = new Redis(REDIS_URL);
const book = new FreezeBook(redis, prefix, config, async () => {});
let n = 0;

beforeAll(async () => {
  bot = await createBot({ config, redis: REDIS_URL, logger: createLogger('silent'), adapters: [adapter] });
  await bot.start();
}, 30_000);
afterEach(async () => {
  await redis.del(`${prefix}:freezes`);
});
afterAll(async () => {
  await bot?.stop();
  redis.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  rmSync(auditFile, { force: true });
});

async function say(text: string, user = 'alice'): Promise<Reply> {
  const id = `hf${++n}`;
  await bot.core.handle(chatRequest(id, text, user), targetOf(chatRequest(id, '')));
  return adapter.finalReply(id);
}
const textOf = (r: Reply) => JSON.stringify(r);

describe('/freeze with an until of two words', () => {
  it('"tomorrow 09:00" (a documented until form) ends tomorrow at 09:00, not never', async () => {
    const before = Date.now();
    const r = await say('freeze xen1 "tomorrow 09:00" kernel upgrade');
    const expected = DateTime.fromMillis(before, { zone: ZONE }).plus({ days: 1 }).set({ hour: 9, minute: 0, second: 0, millisecond: 0 });
    const f = (await book.runtime())['xen1'];
    expect(r.kind, textOf(r)).toBe('result');
    // Today: "xen1 is frozen until /unfreeze (alice: tomorrow 09:00 kernel upgrade)" — a freeze that never ends.
    expect(f?.reason).toBe('kernel upgrade');
    expect(f?.until).toBe(expected.toMillis());
  });

  it('unquoted, "tomorrow 09:00" is not silently turned into a freeze until /unfreeze', async () => {
    const r = await say('freeze xen1 tomorrow 09:00 kernel upgrade');
    const f = (await book.runtime())['xen1'];
    // Either read as tomorrow 09:00 or refused as a bad until; never an endless freeze whose reason is the time.
    if (r.kind === 'result') expect(f?.until ?? null, textOf(r)).not.toBeNull();
    else expect(f).toBeUndefined();
  });
});

describe('/freeze with an until that is not a time', () => {
  // Each first word is shaped as an until (the forms parseUntil matches) but is not a valid one: 24:00 (midnight as
  // people write it), a leap day in a year without one, the 31st of a 30-day month, a zero duration.
  for (const bad of ['24:00', '2027-02-29T22:00', '2027-04-31T18:00', '0h']) {
    it(`"${bad}" is refused, not taken as the start of the reason of a freeze that never ends`, async () => {
      const r = await say(`freeze xen1 ${bad} kernel upgrade`);
      const f = (await book.runtime())['xen1'];
      // Today: "Frozen: xen1 — xen1 is frozen until /unfreeze (alice: 24:00 kernel upgrade)".
      expect({ kind: r.kind, stored: f ?? null }, textOf(r)).toEqual({ kind: 'error', stored: null });
    });
  }
});

describe('/freeze with an until in the past', () => {
  it('is refused rather than answered "Frozen" while nothing is frozen', async () => {
    const r = await say('freeze xen1 2020-01-01T00:00 kernel upgrade');
    const frozen = await book.frozen(['xen1']);
    // Today: "Frozen: xen1 — xen1 is frozen until 2019-12-31 23:00 UTC … refused until then" and frozen is [].
    expect({ kind: r.kind, frozen: frozen.length }, textOf(r)).toEqual({ kind: 'error', frozen: 0 });
  });

  it("does not lift someone else's freeze by replacing it with one that has already ended", async () => {
    expect((await say('freeze xen2 storage migration', 'bob')).kind).toBe('result');
    expect(await book.frozen(['xen2'])).toHaveLength(1);
    await say('freeze xen2 2020-01-01T00:00 typo', 'alice');
    // Today: bob's freeze until /unfreeze is overwritten by one that ended in 2020: xen2 takes mutations again.
    expect((await book.frozen(['xen2'])).map((f) => [f.by, f.reason, f.until])).toEqual([['bob', 'storage migration', null]]);
  });
});
