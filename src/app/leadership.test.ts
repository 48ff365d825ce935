import { describe, expect, it } from 'vitest';
import { termOf } from '../../test/helpers/ha-scene.ts';
import type { ChatAdapter } from '../adapters/types.ts';

/**
 * An adapter that counts its starts and stops; given `gate`, its start() waits for it (a Telegram start retrying getMe
 * through a Bot API hiccup, say).
 */
function countingAdapter(gate?: Promise<void>): ChatAdapter & { starts: number; stops: number } {
  const a = {
    platform: 'telegram' as const,
    starts: 0,
    stops: 0,
    async start() {
      a.starts++;
      await gate;
    },
    async stop() {
      a.stops++;
    },
    async deliver(target: never) {
      return target;
    },
    async post() {
      return { platform: 'telegram' as const, channelId: 'c', requestId: 'r', state: {} };
    },
  };
  return a as unknown as ChatAdapter & { starts: number; stops: number };
}

describe('leaderTerm', () => {
  it('GIVEN begin() stuck on Redis after the adapters started THEN haltAdapters() stops them at once, and end() does not stop them twice', async () => {
    const adapter = countingAdapter();
    const started = new Set<ChatAdapter>();
    // recover() never answers: a Redis link gone half-open right after taking the lease.
    const term = termOf(adapter, started, { recover: () => new Promise<void>(() => {}) });
    void term.begin();
    await new Promise((r) => setImmediate(r));
    expect(adapter.starts).toBe(1);
    expect(started.has(adapter)).toBe(true);
    await term.haltAdapters?.();
    expect(adapter.stops).toBe(1);
    expect(started.has(adapter)).toBe(false);
    await term.end();
    expect(adapter.stops).toBe(1);
  });
});

describe('leaderTerm: the lease lost while an adapter is still starting', () => {
  it('GIVEN haltAdapters() during an adapter start and Redis then silent THEN the adapter is stopped as soon as its start ends, and begin() goes no further', async () => {
    let open: () => void = () => {};
    const adapter = countingAdapter(
      new Promise<void>((resolve) => {
        open = resolve;
      }),
    );
    const started = new Set<ChatAdapter>();
    let recovering = 0;
    const term = termOf(
      adapter,
      started,
      // Never answers: Redis gone half-open, as it is for a leader that lost its lease by being cut off.
      {
        recover: () => {
          recovering++;
          return new Promise<void>(() => {});
        },
      },
    );
    let begun = false;
    const beginning = term.begin().then(() => {
      begun = true;
    });
    await new Promise((r) => setImmediate(r));
    expect(adapter.starts).toBe(1);
    // The lease is lost (its step-down timer, a renewal answered "taken") while the start is under way.
    await term.haltAdapters?.();
    open();
    // Before: the adapter went on polling for as long as begin() waited on Redis — past the lease, alongside the
    // bot that took it over.
    await expect.poll(() => adapter.stops, { timeout: 2_000 }).toBe(1);
    expect(started.has(adapter)).toBe(false);
    await expect.poll(() => begun, { timeout: 2_000 }).toBe(true);
    await beginning;
    expect(recovering).toBe(0);
    // end() (the reconcile after the loss) does not stop it twice.
    await term.end();
    expect(adapter.stops).toBe(1);
  });
});

describe('leaderTerm: the lease lost while an adapter waits to get in', () => {
  it('GIVEN haltAdapters() during a start that ends only when stopped THEN the adapter is stopped at once, and begin() ends without failing', async () => {
    // A start that goes on until stop() (Discord's waiting for READY, Telegram's retrying getMe), then rejects.
    let stopped: () => void = () => {};
    const ended = new Promise<never>((_, reject) => {
      stopped = () => reject(new Error('stopped while starting'));
    });
    ended.catch(() => {});
    const adapter = countingAdapter(ended);
    const stop = adapter.stop.bind(adapter);
    adapter.stop = async () => {
      stopped();
      await stop();
    };
    const started = new Set<ChatAdapter>();
    let recovering = 0;
    const term = termOf(adapter, started, {
      recover: async () => {
        recovering++;
      },
    });
    const beginning = term.begin().then(
      () => 'begun',
      (e: unknown) => `failed: ${String(e)}`,
    );
    await new Promise((r) => setImmediate(r));
    expect(adapter.starts).toBe(1);
    await term.haltAdapters?.();
    // Before: the halt stopped only started adapters; this one went on trying to get in, for up to a minute.
    expect(adapter.stops).toBe(1);
    // The lease is gone, nothing failed: begin() ends quietly (a failure would give the lease up and, in a first
    // term, fail the bot's start).
    expect(await beginning).toBe('begun');
    expect(started.has(adapter)).toBe(false);
    expect(recovering).toBe(0);
    await term.end();
    expect(adapter.stops).toBe(1);
  });
});
