import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { ApprovalStore } from './approvals.ts';

/**
 * The approval news subscriber closed while its connection was subscribing again after a reconnect (a bot stopped
 * just as Redis came back): the subscription's failure ("Connection is closed.") is no unhandled rejection — a CI run
 * of the two-bot tests failed on one. News is still heard after a reconnect.
 */
const prefix = uniquePrefix();
const proxy = TcpProxy.forUrl(REDIS_URL);
const clients: Redis[] = [];
beforeAll(() => proxy.start());
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await proxy.stop();
});

function store(): ApprovalStore {
  const redis = new Redis(proxy.url, { maxRetriesPerRequest: null });
  clients.push(redis);
  return new ApprovalStore(redis, prefix);
}

const isSubscribe = (chunk: Buffer) => /subscribe/i.test(chunk.toString('latin1'));

describe('the approval news subscriber', () => {
  it('closed while subscribing again after a reconnect: no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const s = store();
      const close = await s.watchDecided(() => {});
      // Its subscriber (private): the test waits for it to end, when ioredis fails what it had not had answered.
      const [sub] = (s as unknown as { listening: Set<Redis> }).listening;
      // The next connection to subscribe hears nothing back: its subscription is still under way when it is closed.
      const subscribing = proxy.freezeAt(isSubscribe, 'replies');
      proxy.heal();
      await subscribing;
      const ended = once(sub as Redis, 'end');
      close();
      await ended;
      // An unhandled rejection is reported once the microtasks after it have run: one turn of the event loop.
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('hears news published after a reconnect, once it has caught up', async () => {
    const heard: string[] = [];
    let reconnects = 0;
    const close = await store().watchDecided(
      (id) => heard.push(id),
      () => reconnects++,
    );
    try {
      proxy.heal();
      await expect.poll(() => reconnects).toBe(1);
      await store().publishDecided('AFTER2', ['terminal']);
      await expect.poll(() => heard).toEqual(['AFTER2']);
    } finally {
      close();
    }
  });
});
