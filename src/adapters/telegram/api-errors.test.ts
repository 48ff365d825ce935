import { TelegramError } from 'telegraf';
import { describe, expect, it } from 'vitest';
import { isDefinitiveRefusal, isEditTargetGone, isNotModified, neverReachedTelegram, retryDelayMs } from './api-errors.ts';

const api = (error_code: number, description: string, retry_after?: number) =>
  new TelegramError({ error_code, description, ...(retry_after === undefined ? {} : { parameters: { retry_after } }) });
/** What telegraf throws when the HTTP request itself fails (node-fetch's FetchError carries the system error code). */
const transport = (code: string, reason: string) =>
  Object.assign(new Error(`request to https://api.telegram.org/bot1:[REDACTED]/sendMessage failed, reason: ${reason}`), {
    name: 'FetchError',
    code,
  });

describe('retryDelayMs', () => {
  it('waits out a 429 for any call, as long as Telegram asks', () => {
    expect(retryDelayMs(api(429, 'Too Many Requests: retry after 3', 3), 0, false)).toBe(3000);
    expect(retryDelayMs(api(429, 'Too Many Requests: retry after 3', 3), 0, true)).toBe(3000);
  });

  it('retries an edit after a 5xx or a lost connection, backing off, a bounded number of times', () => {
    const badGateway = api(502, 'Bad Gateway');
    expect([0, 1, 2, 3, 4, 5].map((attempt) => retryDelayMs(badGateway, attempt, true))).toEqual([1000, 2000, 4000, 8000, 16_000, null]);
    expect(retryDelayMs(transport('ECONNRESET', 'socket hang up'), 0, true)).toBe(1000);
  });

  it('sends a new message again only when the request never reached Telegram: a 5xx may come after it was posted', () => {
    expect(retryDelayMs(api(502, 'Bad Gateway'), 0, false)).toBeNull();
    expect(retryDelayMs(transport('ECONNRESET', 'socket hang up'), 0, false)).toBeNull();
    expect(retryDelayMs(transport('ECONNREFUSED', 'connect ECONNREFUSED 149.154.167.220:443'), 0, false)).toBe(1000);
    expect(retryDelayMs(transport('ETIMEDOUT', 'connect ETIMEDOUT 149.154.167.220:443'), 0, false)).toBe(1000);
    expect(neverReachedTelegram(transport('ETIMEDOUT', 'read ETIMEDOUT'))).toBe(false);
  });

  it('never retries what Telegram refused (a 400, a 403)', () => {
    expect(retryDelayMs(api(400, "Bad Request: can't parse entities"), 0, true)).toBeNull();
    expect(retryDelayMs(api(403, 'Forbidden: bot was kicked from the supergroup chat'), 0, true)).toBeNull();
  });
});

describe('edit failures', () => {
  it('tells a message that is gone from one that already shows the text', () => {
    expect(isEditTargetGone(api(400, 'Bad Request: message to edit not found'))).toBe(true);
    expect(isEditTargetGone(api(400, "Bad Request: message can't be edited"))).toBe(true);
    expect(isEditTargetGone(api(400, 'Bad Request: message is not modified: specified new message content…'))).toBe(false);
    expect(isNotModified(api(400, 'Bad Request: message is not modified: specified new message content…'))).toBe(true);
  });
});

describe('isDefinitiveRefusal', () => {
  it("is Telegram's answer about the chat, never a failure that says nothing of it (asked again: see askAboutGroups)", () => {
    expect(isDefinitiveRefusal(api(400, 'Bad Request: chat not found'))).toBe(true);
    expect(isDefinitiveRefusal(api(403, 'Forbidden: bot was kicked from the group chat'))).toBe(true);
    expect(isDefinitiveRefusal(api(429, 'Too Many Requests: retry after 3', 3))).toBe(false);
    expect(isDefinitiveRefusal(api(401, 'Unauthorized'))).toBe(false);
    expect(isDefinitiveRefusal(api(502, 'Bad Gateway'))).toBe(false);
    expect(isDefinitiveRefusal(transport('ECONNRESET', 'socket hang up'))).toBe(false);
    expect(isDefinitiveRefusal(new Error('telegram getChat got no answer in 5 s'))).toBe(false);
  });
});
