import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TgCall } from '../helpers/fake-telegram/server.ts';
import { useTelegramStack } from '../helpers/fake-telegram/stack.ts';
import { REDIS_URL } from '../helpers/redis.ts';

/**
 * A result that goes to the asker's private chat (the bot was removed from the group) is a new message there: one
 * answered with a 502 may have been posted by Telegram all the same, so the relay must not send it again (as for a
 * new message in the group itself) — else the asker is shown the result twice.
 */
const TOKEN = '123456782:AAaskerONCEtokenASKERonceTOKEN0000';
const GROUP = { id: -1009876500101, type: 'supergroup' as const, title: 'ops' };
const ALICE = 1001;

const tg = useTelegramStack(TOKEN, { adjustConfig: (c) => ({ ...c, approvals: { ...c.approvals, enabled: false } }) });
const { fake } = tg;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(() => {
  redis?.disconnect();
});

const pendingCount = async () => (await redis.keys(`${tg.stack.prefix}:pending:*`)).length;
const toAlice = (c: TgCall) => c.method === 'sendMessage' && Number(c.body['chat_id']) === ALICE;

describe("a result in the asker's private chat answered 502 after Telegram posted it", () => {
  it('is not sent again: alice sees it once', async () => {
    fake.removeBot(GROUP.id);
    fake.failNext(toAlice, { status: 502, applied: true });
    fake.sendText(ALICE, GROUP, '/list');
    await fake.waitFor((c) => toAlice(c) && c.messageId !== undefined);
    // The request is closed once its result is out or given up (tried again, it stays pending 5 s more first).
    await expect.poll(pendingCount, { timeout: 15_000 }).toBe(0);
    expect(fake.privateMessages(ALICE).map((m) => m.text)).toEqual([expect.stringContaining('Your /list in ops')]);
    expect(fake.calls.filter(toAlice)).toHaveLength(1);
  }, 30_000);
});
