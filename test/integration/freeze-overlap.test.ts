import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL } from '../helpers/redis.ts';
import { type Conversation, conversation, startTerminalStack, type TerminalStack } from '../helpers/stack.ts';

/**
 * A second /freeze of a host already frozen: one by someone else that ends sooner must not cut short theirs (README:
 * a freeze is never "laid over someone else's freeze"). erin is a second admin.
 */
let t: TerminalStack;
let chat: Conversation;
const redis = new Redis(REDIS_URL);

beforeAll(async () => {
  t = await startTerminalStack((c) => ({
    ...c,
    people: { ...c.people, erin: { displayName: 'Erin (admin)', roles: ['admin'], identities: { terminal: 'erin' }, onCall: false } },
  }));
  chat = conversation(t);
}, 60_000);

afterEach(async () => {
  await redis.del(`${t.stack.config.redis.prefix}:freezes`);
});

afterAll(async () => {
  await t?.stack.stop();
  redis.disconnect();
});

const stored = async (host: string) =>
  JSON.parse((await redis.hget(`${t.stack.config.redis.prefix}:freezes`, host)) ?? 'null') as { by: string; until: number | null } | null;

describe('/freeze of a host someone else froze for longer', () => {
  it("keeps erin's 4-hour freeze when alice freezes the host for 1 hour, and says so", async () => {
    expect(await chat.say('@erin /freeze xen1 4h storage migration')).toContain('Frozen: xen1');
    const before = await stored('xen1');
    const out = await chat.say('/freeze xen1 1h kernel upgrade');
    expect(await stored('xen1')).toEqual(before);
    expect(out).toContain('xen1 stays frozen');
    expect(out).toContain('erin: storage migration');
  });

  it("keeps erin's freeze until /unfreeze when alice freezes the host for 1 hour", async () => {
    expect(await chat.say('@erin /freeze xen1 storage migration')).toContain('Frozen: xen1');
    await chat.say('/freeze xen1 1h kernel upgrade');
    expect(await stored('xen1')).toMatchObject({ by: 'erin', until: null });
  });

  it('lengthens a shorter freeze, and lets its owner shorten their own', async () => {
    await chat.say('@erin /freeze xen1 1h storage migration');
    expect(await chat.say('/freeze xen1 4h kernel upgrade')).toContain('Frozen: xen1');
    expect(await stored('xen1')).toMatchObject({ by: 'alice' });
    expect(await chat.say('/freeze xen1 30m kernel upgrade, shorter')).toContain('Frozen: xen1');
    const own = await stored('xen1');
    expect(own?.by).toBe('alice');
    expect((own?.until ?? 0) - Date.now()).toBeLessThanOrEqual(30 * 60_000);
  });
});

describe('/freeze of a name that is not a host', () => {
  it('"constructor" is refused as no such host, not frozen', async () => {
    const out = await chat.say('/freeze constructor testing');
    expect(out).not.toContain('Frozen');
    expect(out).toContain('no host named constructor');
    expect(await stored('constructor')).toBeNull();
  });
});
