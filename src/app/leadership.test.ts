import { describe, expect, it } from 'vitest';
import type { BotCore, ChatAdapter } from '../adapters/types.ts';
import { createLogger } from '../core/log.ts';
import { leaderTerm } from './leadership.ts';

/** An adapter that counts its starts and stops. */
function countingAdapter(): ChatAdapter & { starts: number; stops: number } {
  const a = {
    platform: 'telegram' as const,
    starts: 0,
    stops: 0,
    async start() {
      a.starts++;
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
    const term = leaderTerm({
      adapters: [adapter],
      core: {} as BotCore,
      started,
      relay: { recover: () => new Promise<void>(() => {}) },
      desk: { start: async () => {}, release: () => {} },
      alerts: { start: async () => {}, stop: async () => {} },
      schedules: () => ({ startWorkers: async () => {}, close: async () => {} }),
      platforms: new Set(),
      tick: async () => 'posted',
      logger: createLogger('silent'),
    });
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
