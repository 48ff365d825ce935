import { Writable } from 'node:stream';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis, ReplyError } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { startPrivateRedis } from '../../test/helpers/redis-server.ts';
import { createLogger } from '../core/log.ts';
import type { JobData } from '../queue/jobs.ts';
import { hostQueueName } from '../queue/names.ts';
import { JobQueues } from './job-queues.ts';
import { redisRefusal } from './redis-wait.ts';

const prefix = uniquePrefix();
const HOSTS = Array.from({ length: 200 }, (_, i) => `h${String(i + 1).padStart(4, '0')}`);
let client: Redis;

const meta = { requestId: 'q-1', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'terminal', command: 'list' };
const job = (host: string, op: JobData['op'] = 'domain.list'): JobData => ({ op, host, meta }) as JobData;

function capture() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('info', sink), lines };
}

beforeAll(async () => {
  // The bot's shared BullMQ client (BullConnection): connected, maxRetriesPerRequest null.
  client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: null });
  await client.connect();
});

afterAll(async () => {
  client.disconnect();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('JobQueues (Redis): a queue per host on one shared backend', () => {
  it('adds each job to host-<name> with its id and options, once per id, and reads it back', async () => {
    const { logger } = capture();
    const queues = new JobQueues(HOSTS, client, prefix, logger);
    try {
      await queues.add([{ data: job('h0150'), jobId: 'r-a-h0150' }]);
      await queues.add([{ data: job('h0150'), jobId: 'r-a-h0150' }]);
      await queues.add([{ data: job('h0007', 'domain.start'), jobId: 'r-b-h0007' }]);
      const plain = new Queue(hostQueueName('h0150'), { connection: { url: REDIS_URL }, prefix });
      try {
        expect(await plain.getJobCountByTypes('waiting')).toBe(1);
        const added = await plain.getJob('r-a-h0150');
        expect(added?.name).toBe('domain.list');
        expect(added?.data).toEqual(job('h0150'));
        expect(added?.opts).toMatchObject({
          attempts: 2,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 86_400 },
        });
      } finally {
        await plain.close();
      }
      expect((await queues.job('h0007', 'r-b-h0007'))?.opts.attempts).toBe(1);
      expect(await queues.job('h0150', 'r-nope')).toBeUndefined();
      expect(await queues.get('h0150')?.getJobCounts('waiting')).toEqual({ waiting: 1 });
      await expect(queues.add([{ data: job('elsewhere'), jobId: 'r-c' }])).rejects.toThrow('no queue for host elsewhere');
    } finally {
      await queues.close();
    }
  });

  it('adds jobs with the commands written before them in ONE MULTI: all in Redis, or nothing when a job is refused', async () => {
    const { logger } = capture();
    const queues = new JobQueues(HOSTS, client, prefix, logger);
    const monitor = await new Redis(REDIS_URL).monitor();
    const seen: { source: string; args: string[] }[] = [];
    try {
      await queues.get('h0101')?.waitUntilReady();
      monitor.on('monitor', (_time: string, args: string[], source: string) => seen.push({ source, args }));
      await queues.add(
        [
          { data: job('h0101'), jobId: 'r-m-h0101' },
          { data: job('h0102'), jobId: 'r-m-h0102' },
        ],
        (tx) => tx.set(`${prefix}:probe-1`, 'saved'),
      );
      // MONITOR's stream may trail the answers: read it up to a PING sent after.
      const mark = `${prefix}:mark`;
      await client.ping(mark);
      await expect.poll(() => seen.some((c) => c.args[1] === mark), { timeout: 5_000 }).toBe(true);
      // Only what the connection that saved the probe sent (other test files share the server).
      const own = seen.find((c) => c.args[1] === `${prefix}:probe-1`)?.source;
      // From the MULTI on (a new connection's INFO before it); a script's first call on a connection is EVAL.
      const sent = seen
        .filter((c) => c.source === own)
        .map((c) =>
          String(c.args[0])
            .toLowerCase()
            .replace(/^eval$/, 'evalsha'),
        );
      const names = sent.slice(sent.indexOf('multi'));
      // The finding: the request saved, then its job added — two round trips, and a crash between them left one without the other.
      expect(names).toEqual(['multi', 'set', 'evalsha', 'evalsha', 'exec']);
      expect(await client.get(`${prefix}:probe-1`)).toBe('saved');
      expect((await queues.job('h0101', 'r-m-h0101'))?.data).toEqual(job('h0101'));
      expect((await queues.job('h0102', 'r-m-h0102'))?.data).toEqual(job('h0102'));

      // A job no queue takes refuses the whole add before anything is sent.
      await expect(
        queues.add(
          [
            { data: job('h0103'), jobId: 'r-n-h0103' },
            { data: job('elsewhere'), jobId: 'r-n-elsewhere' },
          ],
          (tx) => tx.set(`${prefix}:probe-2`, 'saved'),
        ),
      ).rejects.toThrow('no queue for host elsewhere');
      expect(await client.exists(`${prefix}:probe-2`)).toBe(0);
      expect(await queues.job('h0103', 'r-n-h0103')).toBeUndefined();
    } finally {
      monitor.disconnect();
      await queues.close();
    }
  });

  it('a transaction that fails only as it runs, after other commands did their work, is not taken for a refusal of the whole', async () => {
    const { logger } = capture();
    const queues = new JobQueues(HOSTS, client, prefix, logger);
    try {
      await queues.get('h0104')?.waitUntilReady();
      // Its wait list made a string: the add's script fails at run time, inside EXEC, after the SET before it.
      await client.set(`${prefix}:${hostQueueName('h0104')}:wait`, 'not a list');
      const failure = await queues
        .add([{ data: job('h0104'), jobId: 'r-w-h0104' }], (tx) => tx.set(`${prefix}:probe-3`, 'saved'))
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(String(failure)).toMatch(/a command of the transaction adding the jobs failed as it ran: WRONGTYPE/);
      // Part of it ran: answering "Redis refused it, nothing was queued" would not be true.
      expect(await client.get(`${prefix}:probe-3`)).toBe('saved');
      expect(failure).not.toBeInstanceOf(ReplyError);
      expect(redisRefusal(failure)).toBeNull();
    } finally {
      await client.del(`${prefix}:${hostQueueName('h0104')}:wait`);
      await queues.close();
    }
  });

  it('refuses within a second while Redis is down instead of waiting in the offline queue, and writes nothing', async () => {
    const { logger } = capture();
    const server = await startPrivateRedis();
    const down = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: null });
    await down.connect();
    const queues = new JobQueues(['h0104'], down, prefix, logger);
    try {
      await queues.get('h0104')?.waitUntilReady();
      await server.kill('SIGKILL');
      await expect.poll(() => down.status, { timeout: 5_000 }).not.toBe('ready');
      const added = queues.add([{ data: job('h0104'), jobId: 'r-down-h0104' }], (tx) => tx.set(`${prefix}:probe-3`, 'x'));
      await expect(added).rejects.toThrow('not connected');
      // Nothing was left queued to go out when Redis is back.
      await server.restart();
      await expect.poll(() => down.status, { timeout: 10_000 }).toBe('ready');
      expect(await down.exists(`${prefix}:probe-3`)).toBe(0);
      expect(await queues.job('h0104', 'r-down-h0104')).toBeUndefined();
    } finally {
      await queues.close();
      down.disconnect();
      await server.stop();
    }
  });

  it('refuses within a second when Redis has never answered: BullMQ waits for it without end, the add does not', async () => {
    const { logger } = capture();
    const server = await startPrivateRedis();
    await server.kill('SIGKILL');
    // As BullConnection makes it: connecting from the start, retrying for ever.
    const never = new Redis(server.url, { maxRetriesPerRequest: null });
    never.on('error', () => {});
    const queues = new JobQueues(['h0104'], never, prefix, logger);
    try {
      // Waiting for Redis, this would outlast the test's time limit.
      const added = queues.add([{ data: job('h0104'), jobId: 'r-never-h0104' }]);
      await expect(added).rejects.toThrow('timed out waiting for Redis');
    } finally {
      await queues.close();
      never.disconnect();
      await server.stop();
    }
  });

  it('goes on adding after Redis has forgotten its scripts (SCRIPT FLUSH) while the connection stayed', async () => {
    const { logger } = capture();
    const server = await startPrivateRedis();
    const own = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: null });
    await own.connect();
    const queues = new JobQueues(['h0105'], own, prefix, logger);
    try {
      await queues.add([{ data: job('h0105'), jobId: 'r-f1-h0105' }]);
      await own.script('FLUSH');
      // The finding: inside a MULTI the EVALSHA failed with NOSCRIPT, and so did every add after it.
      await queues.add([{ data: job('h0105'), jobId: 'r-f2-h0105' }], (tx) => tx.set(`${prefix}:probe-5`, 'saved'));
      await queues.add([{ data: job('h0105'), jobId: 'r-f3-h0105' }]);
      expect((await queues.job('h0105', 'r-f2-h0105'))?.data).toEqual(job('h0105'));
      expect((await queues.job('h0105', 'r-f3-h0105'))?.data).toEqual(job('h0105'));
      expect(await own.get(`${prefix}:probe-5`)).toBe('saved');
      expect(await queues.get('h0105')?.getJobCounts('waiting')).toEqual({ waiting: 3 });
    } finally {
      await queues.close();
      own.disconnect();
      await server.stop();
    }
  });

  it('puts a handful of listeners on the shared client, not three per host, and leaves it open and bare when closed', async () => {
    const { logger } = capture();
    const listeners = () => ({
      error: client.listenerCount('error'),
      ready: client.listenerCount('ready'),
      close: client.listenerCount('close'),
    });
    const before = listeners();
    const queues = new JobQueues(HOSTS, client, prefix, logger);
    await queues.get('h0001')?.waitUntilReady();
    for (const event of ['error', 'ready', 'close'] as const) expect(client.listenerCount(event) - before[event]).toBeLessThanOrEqual(1);
    await queues.close();
    expect(listeners()).toEqual(before);
    expect(await client.ping()).toBe('PONG');
  });

  it('says a connection error once, not once per host queue', async () => {
    const { logger, lines } = capture();
    const queues = new JobQueues(HOSTS, client, prefix, logger);
    try {
      await queues.get('h0001')?.waitUntilReady();
      client.emit('error', new Error('connection reset by the test'));
      await new Promise((r) => setImmediate(r));
      expect(lines.filter((l) => l['msg'] === 'queue error')).toMatchObject([{ err: 'connection reset by the test' }]);
    } finally {
      await queues.close();
    }
  });
});

describe('JobQueues.finished: where a job ended', () => {
  it('reads the state before the job, so a job completed while it is read is never "completed" without its result', async () => {
    const { logger } = capture();
    const queues = new JobQueues(['h0001'], client, prefix, logger);
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(hostQueueName('h0001'), null, { connection, prefix, autorun: false });
    try {
      await queues.add([{ data: job('h0001'), jobId: 'r-fin-h0001' }]);
      const active = (await worker.getNextJob('token-1')) as Job;
      expect(await queues.finished('h0001', 'r-fin-h0001')).toMatchObject({ state: 'unfinished' });
      // The finding: a job read while active and completed before its state is asked says "completed", with no result.
      const readEarly = (await queues.job('h0001', 'r-fin-h0001')) as Job;
      await active.moveToCompleted({ host: 'h0001', domains: [] }, 'token-1', false);
      expect(await readEarly.getState()).toBe('completed');
      expect(readEarly.returnvalue).toBeNull();
      expect(await queues.finished('h0001', 'r-fin-h0001')).toEqual({ state: 'completed', returnvalue: { host: 'h0001', domains: [] } });
      expect(await queues.finished('h0001', 'no-such-job')).toBeNull();
    } finally {
      await worker.close();
      connection.disconnect();
      await queues.close();
    }
  });

  it('reads a job of a host the bot no longer has (queued before it left the config), without writing to its queue', async () => {
    const { logger } = capture();
    const before = new JobQueues(['gone2'], client, prefix, logger);
    await before.add([{ data: job('gone2'), jobId: 'r-gone-gone2' }]);
    await before.close();
    await client.del(`${prefix}:${hostQueueName('gone2')}:meta`);
    const queues = new JobQueues(['h0001'], client, prefix, logger);
    try {
      expect(await queues.finished('gone2', 'r-gone-gone2')).toEqual({ state: 'unfinished' });
      expect((await queues.job('gone2', 'r-gone-gone2'))?.data).toEqual(job('gone2'));
      expect(await queues.finished('none3', 'r-none')).toBeNull();
      // BullMQ's Queue writes its meta key when opened: a host taken out of the config would get it back for good.
      expect([
        await client.exists(`${prefix}:${hostQueueName('gone2')}:meta`),
        await client.exists(`${prefix}:${hostQueueName('none3')}:meta`),
      ]).toEqual([0, 0]);
      await expect(queues.add([{ data: job('gone2'), jobId: 'r-new-gone2' }])).rejects.toThrow('no queue for host gone2');
    } finally {
      await queues.close();
    }
  });
});
