import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TgCall } from '../helpers/fake-telegram/server.ts';
import { repliesTo, textOf as text, useTelegramStack } from '../helpers/fake-telegram/stack.ts';
import { REDIS_URL } from '../helpers/redis.ts';

/**
 * A final reply the platform does not take for a while (Telegram rate-limiting the chat past the adapter's ten waits
 * in a row) must still reach the chat once the platform takes it again: the request's result is not dropped with
 * the "queued" line left standing for good.
 */
const TOKEN = '123456781:AAgivenupTOKENgivenupTOKENgivenup00';
const GROUP = { id: -1009876500001, type: 'supergroup' as const, title: 'ops' };
const OTHER = { id: -1009876500002, type: 'supergroup' as const, title: 'ops-2' };

// No approvals: the tests pause running guests, which would otherwise wait for the on-call approver.
const tg = useTelegramStack(TOKEN, { adjustConfig: (c) => ({ ...c, approvals: { ...c.approvals, enabled: false } }) });
const { fake } = tg;
let redis: Redis;

const showing = (pattern: RegExp) => [...fake.messages.values()].filter((m) => m.chatId === GROUP.id && pattern.test(m.text));

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(() => {
  redis?.disconnect();
});

/** The requests still pending in this run's Redis. */
const pendingCount = async () => (await redis.keys(`${tg.stack.prefix}:pending:*`)).length;

describe('a final reply the platform refuses for longer than the adapter waits', () => {
  it('is delivered once Telegram takes it again (eleven 429s in a row on the result edit)', async () => {
    const isResult = (c: TgCall) => c.method === 'editMessageText' && /mail started on xen1/.test(text(c));
    // The adapter waits out ten 429s in a row for one call, then gives that call up.
    for (let i = 0; i < 11; i++) fake.failNext(isResult, { status: 429, description: 'Too Many Requests: retry after 1' });
    const id = fake.sendText(1001, GROUP, '/start mail');
    const queued = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
    // The eleventh refusal: the adapter has given the edit up.
    await expect.poll(() => fake.calls.filter((c) => isResult(c) && c.failedWith === 429).length, { timeout: 20_000 }).toBe(11);
    await expect
      .poll(() => fake.message(GROUP.id, queued.messageId ?? 0)?.text ?? '', { timeout: 30_000 })
      .toContain('mail started on xen1');
    expect(showing(/mail started on xen1/)).toHaveLength(1);
  }, 70_000);

  it('does not hold the guest meanwhile: another chat may change it while the result waits to be delivered', async () => {
    const isResult = (c: TgCall) => c.method === 'editMessageText' && /web paused on xen1/.test(text(c));
    for (let i = 0; i < 11; i++) fake.failNext(isResult, { status: 429, description: 'Too Many Requests: retry after 1' });
    fake.sendText(1001, GROUP, '/pause web');
    await expect.poll(() => fake.calls.filter((c) => isResult(c) && c.failedWith === 429).length, { timeout: 20_000 }).toBe(11);
    // The relay now waits 5 s before it tries again; the agent released web when its job ended: not "busy" elsewhere.
    const id = fake.sendText(1001, OTHER, '/unpause web');
    const queued = await fake.waitFor((c) => c.method === 'sendMessage' && c.messageId !== undefined && repliesTo(c, id));
    await expect.poll(() => fake.message(OTHER.id, queued.messageId ?? 0)?.text ?? '', { timeout: 10_000 }).toMatch(/unpaused|busy/);
    expect(fake.message(OTHER.id, queued.messageId ?? 0)?.text).not.toMatch(/busy/);
    await expect.poll(() => showing(/web paused on xen1/).length, { timeout: 30_000 }).toBe(1);
  }, 70_000);

  it('is not tried again when Telegram refuses the reply itself (a 400): the request is closed, its guest free', async () => {
    const isResult = (c: TgCall) => c.method === 'editMessageText' && /gateway paused on xen1/.test(text(c));
    for (let i = 0; i < 3; i++) fake.failNext(isResult, { status: 400, description: "Bad Request: can't parse entities" });
    fake.sendText(1001, GROUP, '/pause gateway');
    await fake.waitFor((c) => isResult(c) && c.failedWith === 400);
    // Closed at once (tried again, it would stay pending for the 5 s before the next try).
    await expect.poll(pendingCount, { timeout: 3_000 }).toBe(0);
    expect(fake.calls.filter(isResult)).toHaveLength(1);
  }, 30_000);
});
