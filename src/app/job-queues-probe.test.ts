import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { startPrivateRedis } from '../../test/helpers/redis-server.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { createLogger } from '../core/log.ts';
import { JobQueues } from './job-queues.ts';

/**
 * BullMQ's shared connection has no command timeout: gone silent while open, only JobQueues' probe of it can find it.
 * The clock is the test's: each probe is a step of it, so silentReconnectMs passes without waiting for it.
 */
const prefix = uniquePrefix();
const TIMINGS = { commandTimeoutMs: 200, silentReconnectMs: 1_000 };
const REPLACING = /probes on BullMQ's shared connection/;

afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

function capture() {
  const warned: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      const line = JSON.parse(String(chunk)) as { level: number; msg: string };
      if (line.level >= 40) warned.push(line.msg);
      done();
    },
  });
  return { logger: createLogger('info', sink), warned };
}

/** A JobQueues on `shared` whose clock moves 500 ms at each probe (probe()). */
function probed(shared: Redis) {
  const { logger, warned } = capture();
  let now = 0;
  const queues = new JobQueues(['h1'], shared, prefix, logger, { ...TIMINGS, monotonic: () => now });
  const probe = async () => {
    now += 500;
    await queues.probeShared();
  };
  return { queues, warned, probe };
}

describe("JobQueues' probe of BullMQ's shared connection", () => {
  it('replaces it after silentReconnectMs of probes that only timed out, and probes no more once closed', async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    // As BullConnection makes it.
    const shared = new Redis(proxy.url, { maxRetriesPerRequest: null });
    shared.on('error', () => {});
    const { queues, warned, probe } = probed(shared);
    try {
      await queues.get('h1')?.waitUntilReady();
      await probe();
      proxy.freezeOpen('both');
      // Timed out at 500 and 1,000 ms after the first: not yet silentReconnectMs.
      await probe();
      await probe();
      expect(warned.filter((m) => REPLACING.test(m))).toEqual([]);
      await probe();
      expect(warned.filter((m) => REPLACING.test(m))).toHaveLength(1);
      // A new connection, through the same proxy: it answers.
      expect(await shared.ping()).toBe('PONG');
      await probe();
      expect(warned.filter((m) => REPLACING.test(m))).toHaveLength(1);

      await queues.close();
      const pings = proxy.countSent(/ping/i);
      await probe();
      expect(pings()).toBe(0);
    } finally {
      await queues.close();
      shared.disconnect();
      await proxy.stop();
    }
  });

  it('starts its count again when the bot replaces every connection: the new one is judged on its own timeouts', async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const shared = new Redis(proxy.url, { maxRetriesPerRequest: null });
    shared.on('error', () => {});
    const { queues, warned, probe } = probed(shared);
    try {
      await queues.get('h1')?.waitUntilReady();
      await probe();
      proxy.freezeOpen('both');
      // Timed out 500 ms apart: half of silentReconnectMs.
      await probe();
      await probe();
      // The bot found its own connection silent and replaces all of them (as bot.ts does), this one included.
      const reconnected = new Promise((resolve) => shared.once('ready', resolve));
      queues.replaceSilentConnections();
      await reconnected;
      // The new connection goes silent too: its first timeout is the start of its own count, not the old one's end.
      proxy.freezeOpen('both');
      await probe();
      expect(warned.filter((m) => REPLACING.test(m))).toEqual([]);
      await probe();
      await probe();
      expect(warned.filter((m) => REPLACING.test(m))).toHaveLength(1);
    } finally {
      await queues.close();
      shared.disconnect();
      await proxy.stop();
    }
  });

  it('does not take a Redis down for longer than silentReconnectMs for a silent connection', async () => {
    const server = await startPrivateRedis();
    const shared = new Redis(server.url, { maxRetriesPerRequest: null });
    shared.on('error', () => {});
    const { queues, warned, probe } = probed(shared);
    try {
      await queues.get('h1')?.waitUntilReady();
      await server.kill('SIGKILL');
      await expect.poll(() => shared.status, { timeout: 5_000 }).not.toBe('ready');
      for (let i = 0; i < 6; i++) await probe();
      await server.restart();
      await expect.poll(() => shared.status, { timeout: 10_000 }).toBe('ready');
      await probe();
      expect(warned.filter((m) => REPLACING.test(m))).toEqual([]);
    } finally {
      await queues.close();
      shared.disconnect();
      await server.stop();
    }
  });
});
