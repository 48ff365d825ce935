import { afterEach, describe, expect, it, vi } from 'vitest';
import { PendingStore } from '../../src/app/pending-store.ts';
import { Relay } from '../../src/app/relay.ts';
import type { TgCall } from '../helpers/fake-telegram/server.ts';
import { textOf as text, useTelegramStack } from '../helpers/fake-telegram/stack.ts';

/**
 * A stop that lands while the relay renews its claim of a final reply it waits to try again (between two tries) ends
 * that wait at once: the relay's stop does not sit out its 2 s bound on a wait nobody woke.
 */
const TOKEN = '123456782:AAretrystopTOKENretrystopTOKENretry0';
const GROUP = { id: -1009876500011, type: 'supergroup' as const, title: 'ops' };

// The relay the stack makes: its own stop is what is timed (the bot's stops its adapters first).
const relayStarts = vi.spyOn(Relay.prototype, 'start');
const tg = useTelegramStack(TOKEN, { adjustConfig: (c) => ({ ...c, approvals: { ...c.approvals, enabled: false } }) });
const { fake } = tg;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a stop while the relay renews the claim of a final reply it waits to try again', () => {
  it('ends the wait at once', async () => {
    const relay = relayStarts.mock.contexts[0] as Relay;
    expect(relay).toBeInstanceOf(Relay);
    const isResult = (c: TgCall) => c.method === 'editMessageText' && /mail started on xen1/.test(text(c));
    const refused = () => fake.calls.filter((c) => isResult(c) && c.failedWith === 429).length;
    // Eleven 429s in a row: the adapter gives the edit up, and the relay waits to try it again.
    for (let i = 0; i < 11; i++) fake.failNext(isResult, { status: 429, description: 'Too Many Requests: retry after 1' });
    // Told of the renewal the relay starts once the adapter has given up (the call itself goes through unchanged).
    let renewing!: () => void;
    const renewed = new Promise<void>((resolve) => {
      renewing = resolve;
    });
    const renew = PendingStore.prototype.renewClaim;
    vi.spyOn(PendingStore.prototype, 'renewClaim').mockImplementation(function (this: PendingStore, requestId: string) {
      const call = renew.call(this, requestId);
      if (refused() === 11) renewing();
      return call;
    });
    fake.sendText(1001, GROUP, '/start mail');
    await renewed;
    // Redis has not answered the renewal yet (its answer needs a turn of the event loop; this runs before).
    const started = Date.now();
    await relay.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
  }, 60_000);
});
