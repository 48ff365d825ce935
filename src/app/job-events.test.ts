import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, monitorRedis, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { type JobEvent, JobEventReader } from './job-events.ts';

const prefix = uniquePrefix();

afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('JobEventReader', () => {
  it.each([
    ['every stream in every read', false],
    ['the watched streams only', true],
  ])(
    'reconnects when its blocking read never answers (a half-open connection), and reads on from where it was (%s)',
    async (_, hotSet) => {
      const proxy = TcpProxy.forUrl(REDIS_URL);
      await proxy.start();
      const direct = new Redis(REDIS_URL);
      const client = new Redis(proxy.url, { maxRetriesPerRequest: null });
      const seen: JobEvent[] = [];
      const reader = new JobEventReader(
        client,
        prefix,
        ['q1'],
        (e) => seen.push(e),
        quietLogger,
        { blockMs: 200, watchdogGraceMs: 300, sweepMs: 60_000 },
        hotSet ? direct : null,
      );
      const stream = `${prefix}:q1:events`;
      try {
        await reader.start();
        reader.watch('q1');
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
    },
    20_000,
  );

  describe('with a command connection: the blocking read names the watched streams only', () => {
    const queues = ['h1', 'h2', 'h3'];
    const unblockCalls = async () => {
      const stats = new Redis(REDIS_URL);
      try {
        return Number(/cmdstat_client\|unblock:calls=(\d+)/.exec(await stats.info('commandstats'))?.[1] ?? 0);
      } finally {
        stats.disconnect();
      }
    };
    const setup = async (timing: { blockMs: number; sweepMs: number; lingerMs?: number; lingerMax?: number }, commandsUrl = REDIS_URL) => {
      const direct = new Redis(REDIS_URL);
      const commands = new Redis(commandsUrl);
      const seen: JobEvent[] = [];
      const reader = new JobEventReader(
        new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
        prefix,
        queues,
        (e) => seen.push(e),
        quietLogger,
        { watchdogGraceMs: 2_000, ...timing },
        commands,
      );
      await reader.start();
      const add = (q: string, jobId: string) =>
        direct.xadd(`${prefix}:${q}:events`, '*', 'event', 'completed', 'jobId', jobId, 'returnvalue', '1');
      const close = async () => {
        await reader.stop();
        direct.disconnect();
        commands.disconnect();
      };
      return { reader, seen, add, close };
    };

    it('a stream watched while a read of another blocks is taken in at once (CLIENT UNBLOCK), not at the read’s timeout', async () => {
      // Reads that would block for a minute and a sweep never due: only the unblock can bring h2's event in time.
      const { reader, seen, add, close } = await setup({ blockMs: 60_000, sweepMs: 120_000 });
      const monitor = await monitorRedis();
      try {
        reader.watch('h1');
        await add('h1', 'a');
        await expect.poll(() => seen.map((e) => e.jobId), { timeout: 5_000 }).toEqual(['a']);
        const unblocks = await unblockCalls();
        reader.watch('h2');
        await add('h2', 'b');
        await expect.poll(() => seen.map((e) => e.jobId), { timeout: 5_000 }).toEqual(['a', 'b']);
        // CLIENT UNBLOCK is an admin command: MONITOR does not show it; Redis counts it.
        expect(await unblockCalls()).toBeGreaterThan(unblocks);
        await monitor.settle();
        const blocking = monitor.calls.filter((c) => c.args[0]?.toLowerCase() === 'xread' && c.args.includes('BLOCK'));
        expect(blocking.length).toBeGreaterThan(0);
        for (const c of blocking) expect(c.args.some((a) => a.endsWith(':h3:events'))).toBe(false);
        expect(reader.hot().sort()).toEqual(['h1', 'h2']);
      } finally {
        monitor.stop();
        await close();
      }
    });

    it('streams watched together while a read of another blocks are taken in with ONE CLIENT UNBLOCK', async () => {
      // The command connection through a proxy that counts what it sends (other test files share the server's counters).
      const proxy = TcpProxy.forUrl(REDIS_URL);
      await proxy.start();
      const { reader, seen, add, close } = await setup({ blockMs: 60_000, sweepMs: 120_000 }, proxy.url);
      try {
        reader.watch('h1');
        await add('h1', 'a');
        await expect.poll(() => seen.map((e) => e.jobId), { timeout: 5_000 }).toEqual(['a']);
        const unblocks = proxy.countSent(/unblock/i);
        // A fan-out's watches come in one go, while the read naming h1 alone blocks.
        reader.watch('h2');
        reader.watch('h3');
        await add('h2', 'b');
        await add('h3', 'c');
        await expect.poll(() => seen.map((e) => e.jobId).sort(), { timeout: 5_000 }).toEqual(['a', 'b', 'c']);
        expect(unblocks()).toBe(1);
      } finally {
        await close();
        await proxy.stop();
      }
    });

    it('reads every stream once per sweep: an event of a stream nobody watches still arrives', async () => {
      const { reader, seen, add, close } = await setup({ blockMs: 60_000, sweepMs: 200 });
      try {
        expect(reader.hot()).toEqual([]);
        await add('h3', 'c');
        await expect.poll(() => seen.map((e) => e.jobId), { timeout: 5_000 }).toEqual(['c']);
      } finally {
        await close();
      }
    });

    it('keeps a stream in the read for lingerMs after its last watcher, then drops it', async () => {
      const { reader, close } = await setup({ blockMs: 60_000, sweepMs: 120_000, lingerMs: 10_000 });
      try {
        reader.watch('h1');
        reader.watch('h1');
        reader.unwatch('h1');
        expect(reader.hot()).toEqual(['h1']);
        reader.unwatch('h1');
        const now = Date.now();
        expect(reader.hot(now + 9_000)).toEqual(['h1']);
        expect(reader.hot(now + 10_001)).toEqual([]);
        // Unknown queues are not watched.
        reader.watch('nope');
        expect(reader.hot()).toEqual([]);
      } finally {
        await close();
      }
    });

    it('leaves lingering streams out of the read once it would name more than lingerMax (a fan-out’s finished hosts)', async () => {
      const { reader, close } = await setup({ blockMs: 60_000, sweepMs: 120_000, lingerMs: 10_000, lingerMax: 2 });
      try {
        for (const q of ['h1', 'h2']) reader.watch(q);
        for (const q of ['h1', 'h2']) reader.unwatch(q);
        expect(reader.hot().sort()).toEqual(['h1', 'h2']);
        // The finding: every read of a /status over 1,000 hosts named all of them until the last answered.
        reader.watch('h3');
        expect(reader.hot()).toEqual(['h3']);
        reader.unwatch('h3');
        expect(reader.hot()).toEqual([]);
        // Watched again: in the read whatever lingers.
        reader.watch('h1');
        expect(reader.hot()).toEqual(['h1']);
      } finally {
        await close();
      }
    });
  });
});
