import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { type JobEvent, JobEventReader } from './job-events.ts';

const prefix = uniquePrefix();

afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('JobEventReader', () => {
  it('reconnects when its blocking read never answers (a half-open connection), and reads on from where it was', async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const direct = new Redis(REDIS_URL);
    const client = new Redis(proxy.url, { maxRetriesPerRequest: null });
    const seen: JobEvent[] = [];
    const reader = new JobEventReader(client, prefix, ['q1'], (e) => seen.push(e), quietLogger, { blockMs: 200, watchdogGraceMs: 300 });
    const stream = `${prefix}:q1:events`;
    try {
      await reader.start();
      await direct.xadd(stream, '*', 'event', 'completed', 'jobId', 'j1', 'returnvalue', '{"n":1}');
      await expect.poll(() => seen.map((e) => e.jobId), { timeout: 5_000 }).toEqual(['j1']);
      // The reader's connection goes silent for good; the network works for new connections.
      proxy.freezeOpen();
      await direct.xadd(stream, '*', 'event', 'completed', 'jobId', 'j2', 'returnvalue', '{"n":2}');
      await direct.xadd(stream, '*', 'event', 'failed', 'jobId', 'j3', 'failedReason', 'boom');
      await expect.poll(() => seen.map((e) => e.jobId), { timeout: 10_000 }).toEqual(['j1', 'j2', 'j3']);
      expect(seen[1]).toMatchObject({ queue: 'q1', event: 'completed', returnvalue: { n: 2 } });
      expect(seen[2]).toMatchObject({ event: 'failed', failedReason: 'boom' });
    } finally {
      await reader.stop();
      direct.disconnect();
      await proxy.stop();
    }
  }, 20_000);
});
