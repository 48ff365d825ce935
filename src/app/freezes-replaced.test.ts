import { describe, expect, it } from 'vitest';
import { redisPrefix } from '../../test/helpers/redis-prefix.ts';
import { renderForTerminal } from '../adapters/terminal/render.ts';
import { Config } from '../config/schema.ts';
import type { Person } from '../core/authorize.ts';
import { FreezeBook } from './freezes.ts';

/**
 * A freeze that replaces one in force says so: `/freeze xen1 30m storage work` over the asker's own freeze until
 * 18:00 (patching) shortened it without a word, and /status then showed only the 30 minutes — the host reopened in
 * the middle of the patching. Shortening one's own is allowed (it ends a window early without /unfreeze); the reply
 * names what it replaced, as it names someone else's freeze it keeps.
 */
const { redis, prefix } = redisPrefix();
const config = Config.parse({
  hosts: Object.fromEntries(
    ['xen1', 'xen2'].map((h) => [h, { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` }]),
  ),
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'] }, erin: { roles: ['admin'] } },
});
const audit = { requestId: 'r', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'c', command: 'freeze' };
const ALICE: Person = { id: 'alice', displayName: 'alice', roles: ['admin'] };
const ERIN: Person = { id: 'erin', displayName: 'erin', roles: ['admin'] };
// A fixed clock: the ends are said exactly.
const NOW = Date.parse('2026-12-07T10:00:00Z');
const book = () =>
  new FreezeBook(
    redis,
    prefix,
    config,
    async () => {},
    () => NOW,
  );
const at = (iso: string) => new Date(iso);
const text = async (p: Promise<Parameters<typeof renderForTerminal>[0]>) => renderForTerminal(await p);

describe('/freeze over a freeze in force says what it replaced', () => {
  it('shortening your own freeze names the longer one it replaced, and that the host reopens sooner', async () => {
    await book().freeze(ALICE, ['xen1'], at('2026-12-08T18:00:00Z'), 'patching', audit);
    const out = await text(book().freeze(ALICE, ['xen1'], at('2026-12-07T10:30:00Z'), 'storage work', audit));
    expect(out).toContain('Frozen: xen1');
    expect(out).toContain(
      'xen1: replaces the freeze until 2026-12-08 18:00 UTC (alice: patching), which would have ended later — this one ends sooner',
    );
  });

  it('/freeze all over freezes of some hosts names each one replaced, and only those', async () => {
    await book().freeze(ALICE, ['xen1'], at('2026-12-08T18:00:00Z'), 'patching', audit);
    const out = await text(book().freeze(ALICE, ['all'], at('2026-12-07T10:30:00Z'), 'storage work', audit));
    expect(out).toContain('Frozen: xen1, xen2');
    expect(out).toContain('xen1: replaces the freeze until 2026-12-08 18:00 UTC (alice: patching)');
    expect(out).not.toContain('xen2: replaces');
  });

  it("lengthening someone else's shorter freeze names it too (without saying it ends sooner)", async () => {
    await book().freeze(ERIN, ['xen1'], at('2026-12-07T11:00:00Z'), 'storage migration', audit);
    const out = await text(book().freeze(ALICE, ['xen1'], at('2026-12-07T14:00:00Z'), 'kernel upgrade', audit));
    expect(out).toContain('xen1: replaces the freeze until 2026-12-07 11:00 UTC (erin: storage migration)');
    expect(out).not.toContain('ends sooner');
  });

  it('a freeze that had ended replaced nothing in force: no such line', async () => {
    await redis.hset(
      `${prefix}:freezes`,
      'xen1',
      JSON.stringify({ by: 'erin', reason: 'old', since: NOW - 7_200_000, until: NOW - 1_000 }),
    );
    const out = await text(book().freeze(ALICE, ['xen1'], at('2026-12-07T14:00:00Z'), 'kernel upgrade', audit));
    expect(out).toContain('Frozen: xen1');
    expect(out).not.toContain('replaces');
  });
});
