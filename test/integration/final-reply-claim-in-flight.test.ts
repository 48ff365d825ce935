import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PendingStore } from '../../src/app/pending-store.ts';
import type { TgCall } from '../helpers/fake-telegram/server.ts';
import { textOf as text, useTelegramStack } from '../helpers/fake-telegram/stack.ts';
import { REDIS_URL } from '../helpers/redis.ts';

/**
 * One delivery of a final reply can outlast the grace after which another bot's recovery takes its claim over (the
 * adapter waiting out ten Telegram 429s in a row): the claim is kept young while that delivery is under way, so no
 * other bot sends the reply a second time.
 */
const TOKEN = '123456783:AAclaiminflightTOKENclaiminflight000';
const GROUP = { id: -1009876500021, type: 'supergroup' as const, title: 'ops' };
// A 2 s leader lease: the grace before a takeover is 2 × 2 s + 2 s = 6 s, shorter than ten 1 s waits.
const LEASE_MS = 2_000;
const GRACE_MS = 2 * LEASE_MS + 2_000;

const tg = useTelegramStack(TOKEN, {
  adjustConfig: (c) => ({
    ...c,
    approvals: { ...c.approvals, enabled: false },
    bot: { ...c.bot, ha: { ...c.bot.ha, leaseMs: LEASE_MS } },
  }),
});
const { fake } = tg;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(() => {
  redis?.disconnect();
});

describe('a final reply whose one delivery outlasts the takeover grace', () => {
  it("keeps its claim this bot's: another bot's recovery finds it too young to take over", async () => {
    const isResult = (c: TgCall) => c.method === 'editMessageText' && /mail started on xen1/.test(text(c));
    const refused = () => fake.calls.filter((c) => isResult(c) && c.failedWith === 429).length;
    // Ten 429s of 1 s each: the adapter waits them all out in one delivery, and the eleventh try goes through.
    for (let i = 0; i < 10; i++) fake.failNext(isResult, { status: 429, description: 'Too Many Requests: retry after 1' });
    fake.sendText(1001, GROUP, '/start mail');
    await fake.waitFor((c) => isResult(c) && c.failedWith === 429);
    const [finalKey] = await redis.keys(`${tg.stack.prefix}:final:*`);
    expect(finalKey).toBeDefined();
    const requestId = String(finalKey).slice(`${tg.stack.prefix}:final:`.length);
    // Past the grace since the claim (made before the first try): seven 1 s waits later, the same delivery still
    // waiting out 429s.
    const firstRefusal = Date.now();
    await expect.poll(refused, { timeout: 15_000, interval: 50 }).toBeGreaterThanOrEqual(8);
    expect(Date.now() - firstRefusal).toBeGreaterThan(GRACE_MS);
    expect(refused()).toBeLessThan(10);
    const otherBot = new PendingStore(redis, tg.stack.prefix, 'other-bot');
    const claim = await otherBot.claimFinal(requestId, { takeOver: true, graceMs: GRACE_MS, ours: true });
    expect(claim?.kind).toBe('tooYoung');
    await expect.poll(() => fake.calls.filter((c) => isResult(c) && c.failedWith === undefined).length, { timeout: 10_000 }).toBe(1);
  }, 60_000);
});
