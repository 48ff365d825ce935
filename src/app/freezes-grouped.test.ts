import { describe, expect, it } from 'vitest';
import { redisPrefix } from '../../test/helpers/redis-prefix.ts';
import { Config } from '../config/schema.ts';
import type { Person } from '../core/authorize.ts';
import type { Reply } from '../core/reply.ts';
import type { AuditEntry } from './audit.ts';
import { FreezeBook } from './freezes.ts';

/**
 * `/freeze all` on a fleet answered with one line per host ("xen1 is frozen until …", "xen2 is frozen until …", …)
 * and a title naming every host: 1,000 lines at 1,000 hosts, sent as a file or split. What is the same for many hosts
 * is said once, their list shortened past a few; hosts whose line differs (a window open on them, a freeze replaced
 * or kept) keep lines of their own, and the audit still names every host.
 */
const { redis, prefix } = redisPrefix();
const HOSTS = Array.from({ length: 40 }, (_, i) => `xen${i + 1}`);
const host = { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` };
const config = Config.parse({
  hosts: Object.fromEntries(HOSTS.map((h) => [h, host])),
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'] }, bob: { roles: ['admin'] } },
  maintenance: [{ hosts: ['xen39', 'xen40'], reason: 'disk swap', from: '2026-12-07T09:00:00Z', until: '2026-12-07T15:00:00Z' }],
});
const ALICE: Person = { id: 'alice', displayName: 'alice', roles: ['admin'] };
const audit = { requestId: 'r', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'c', command: 'freeze' } as const;
const NOW = Date.parse('2026-12-07T10:00:00Z');
const TWO_HOURS = new Date(NOW + 2 * 3_600_000);
const audited: AuditEntry[] = [];
const book = new FreezeBook(
  redis,
  prefix,
  config,
  async (e) => {
    audited.push(e);
  },
  () => NOW,
);
const lines = (r: Reply) => r.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));
/** Hosts as a shortened list names them: the first 20 (NAMED_HOSTS_MAX), and the rest counted. */
const listed = (hosts: string[]) => `${hosts.slice(0, 20).join(', ')} and ${hosts.length - 20} more`;
const FROZEN =
  'frozen until 2026-12-07 12:00 UTC (alice: kernel upgrade) — reads go on; mutating commands are refused until then (or /unfreeze)';
const WINDOW_SET =
  'frozen until 2026-12-07 12:00 UTC (alice: kernel upgrade), and by the maintenance window "disk swap" until 2026-12-07 15:00 UTC (from the config) — reads go on; mutating commands are refused until the window closes (2026-12-07 15:00 UTC): /unfreeze does not lift it';

describe('/freeze all on 40 hosts', () => {
  it('says the freeze once for the hosts it is the same for, and gives a window and a replaced freeze lines of their own', async () => {
    await book.freeze(ALICE, ['xen2'], new Date('2026-12-08T18:00:00Z'), 'patching', audit);
    audited.length = 0;
    const r = await book.freeze(ALICE, ['all'], TWO_HOURS, 'kernel upgrade', audit);
    expect(r.title).toBe('Frozen: all 40 hosts');
    const plain = HOSTS.filter((h) => !['xen2', 'xen39', 'xen40'].includes(h));
    expect(lines(r)).toEqual([
      `${listed(plain)} are ${FROZEN}`,
      `xen2 is ${FROZEN}`,
      'xen2: replaces the freeze until 2026-12-08 18:00 UTC (alice: patching), which would have ended later — this one ends sooner',
      `xen39, xen40 are ${WINDOW_SET}`,
    ]);
    // The audit is not shortened: every host, by name.
    expect(audited).toHaveLength(1);
    expect(audited[0]?.targets).toEqual(HOSTS.map((h) => ({ host: h })));
    expect(audited[0]?.detail).toBe(`froze ${HOSTS.join(', ')}: kernel upgrade`);
  });

  it("says someone else's longer freeze kept on several hosts once, and counts only the hosts frozen in the title", async () => {
    const bobs = JSON.stringify({ by: 'bob', reason: 'storage migration', since: NOW - 60_000, until: Date.parse('2026-12-08T20:00:00Z') });
    await redis.hset(`${prefix}:freezes`, 'xen5', bobs, 'xen6', bobs);
    const r = await book.freeze(ALICE, ['all'], TWO_HOURS, 'kernel upgrade', audit);
    expect(r.title).toBe('Frozen: 38 hosts');
    const plain = HOSTS.filter((h) => !['xen5', 'xen6', 'xen39', 'xen40'].includes(h));
    expect(lines(r)).toEqual([
      `${listed(plain)} are ${FROZEN}`,
      `xen39, xen40 are ${WINDOW_SET}`,
      'xen5, xen6 stay frozen until 2026-12-08 20:00 UTC (bob: storage migration): a freeze that ends later is kept — /unfreeze xen5,xen6 first to replace them',
    ]);
  });

  it('names the hosts in the title when they are a few, as before', async () => {
    const r = await book.freeze(ALICE, ['xen1', 'xen2', 'xen3'], TWO_HOURS, 'kernel upgrade', audit);
    expect(r.title).toBe('Frozen: xen1, xen2, xen3');
    expect(lines(r)).toEqual([`xen1, xen2, xen3 are ${FROZEN}`]);
  });
});

describe('/unfreeze all on 40 hosts', () => {
  const STILL =
    'still frozen by the maintenance window "disk swap" until 2026-12-07 15:00 UTC (from the config): /unfreeze cannot lift it; mutating commands are refused until the window closes';

  it('says the hosts lifted, those a window still holds and those not frozen once each', async () => {
    await book.freeze(ALICE, HOSTS.slice(0, 30), TWO_HOURS, 'kernel upgrade', audit);
    audited.length = 0;
    const r = await book.unfreeze(ALICE, ['all'], audit);
    expect(r.title).toBe('Unfrozen: 30 hosts');
    expect(lines(r)).toEqual([
      `mutating commands may run on ${listed(HOSTS.slice(0, 30))} again`,
      `xen39, xen40 are ${STILL}`,
      `${HOSTS.slice(30, 38).join(', ')} were not frozen: nothing to unfreeze`,
    ]);
    expect(audited[0]?.targets).toEqual(HOSTS.slice(0, 30).map((h) => ({ host: h })));
    expect(audited[0]?.detail).toBe(`unfroze ${HOSTS.slice(0, 30).join(', ')}`);
  });

  it('says all when every host was lifted', async () => {
    await book.freeze(ALICE, ['all'], TWO_HOURS, 'kernel upgrade', audit);
    const r = await book.unfreeze(ALICE, ['all'], audit);
    expect(r.title).toBe('Unfrozen: all 40 hosts');
    expect(lines(r)).toEqual([`mutating commands may run on ${listed(HOSTS.slice(0, 38))} again`, `xen39, xen40 are ${STILL}`]);
  });
});
