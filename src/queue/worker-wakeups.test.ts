import { ConnectionClosedError, type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, monitorRedis, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { startPrivateRedis } from '../../test/helpers/redis-server.ts';
import { quietLogger } from '../../test/helpers/sim.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { WokenWorker, WorkerWakeups, wakeupBackend } from './worker-wakeups.ts';

const prefix = uniquePrefix();
let redis: Redis;
let wakeups: WorkerWakeups | null = null;

beforeAll(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});
afterEach(async () => {
  await wakeups?.close();
  wakeups = null;
});
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

let run = 0;
/** Three marker keys of their own per test, and wake-ups serving them. */
function served(): [string, string, string] {
  run += 1;
  const keys = ['a', 'b', 'c'].map((q) => `${prefix}:t${run}-${q}:marker`) as [string, string, string];
  // A watchdog far past any stall of a loaded CI box: a sweep abandoned as stuck delivers its marker unchecked, which
  // the stale-marker tests would read as kept (the watchdog has tests of its own, below).
  wakeups = new WorkerWakeups(new Redis(REDIS_URL, { maxRetriesPerRequest: null }), redis, quietLogger, {
    blockSeconds: 5,
    watchdogGraceMs: 15_000,
  });
  for (const k of keys) wakeups.serve(k);
  wakeups.start();
  return keys;
}

/** What BullMQ's add does for the wake-ups: a job in the queue's wait list, and its marker (score 0, or when due). */
async function announce(marker: string, score = 0): Promise<void> {
  await redis.lpush(marker.replace(/marker$/, 'wait'), `job-${score}`);
  await redis.zadd(marker, score, '0');
}

/** A Worker waiting on marker, then a job announced there: it is woken with the base marker. */
async function expectWoken(w: WorkerWakeups, marker: string): Promise<void> {
  const waiting = w.wait(marker, 30);
  await announce(marker);
  expect(await waiting).toEqual({ member: '0', score: 0 });
}

/** Resolves once the wake-ups have popped everything under the keys (markers are popped even with nobody waiting). */
const popped = (...keys: string[]) =>
  expect.poll(async () => (await Promise.all(keys.map((k) => redis.zcard(k)))).reduce((a, b) => a + b, 0), { timeout: 5_000 }).toBe(0);

describe('WorkerWakeups', () => {
  it('wakes the Worker waiting on the marker that was set, with its score, and only that one', async () => {
    const [a, b, c] = served();
    const w = wakeups as WorkerWakeups;
    const waitA = w.wait(a, 0.3);
    const waitB = w.wait(b, 30);
    const waitC = w.wait(c, 0.3);
    await announce(b);
    expect(await waitB).toEqual({ member: '0', score: 0 });
    // The others are not woken: they time out with null, as BZPOPMIN does.
    expect(await waitA).toBeNull();
    expect(await waitC).toBeNull();
  });

  it('keeps a marker popped while its Worker is busy and hands it over at once when it waits; the earliest score wins', async () => {
    const [a] = served();
    const w = wakeups as WorkerWakeups;
    await announce(a, 5_000);
    await expect.poll(() => w.keptMarker(a), { timeout: 5_000 }).toEqual({ member: '0', score: 5_000 });
    await announce(a);
    await expect.poll(() => w.keptMarker(a), { timeout: 5_000 }).toEqual({ member: '0', score: 0 });
    expect(await w.wait(a, 30)).toEqual({ member: '0', score: 0 });
    // Handed over once: the next wait blocks again (and times out here).
    expect(await w.wait(a, 0.2)).toBeNull();
  });

  it('takes a burst on every queue in one go: each Worker is then woken at once', async () => {
    const keys = served();
    const w = wakeups as WorkerWakeups;
    await Promise.all(keys.map((k, i) => announce(k, i)));
    await expect.poll(() => keys.map((k) => w.keptMarker(k)?.score), { timeout: 5_000 }).toEqual([0, 1, 2]);
    expect(await Promise.all(keys.map((k) => w.wait(k, 30)))).toEqual(keys.map((_, i) => ({ member: '0', score: i })));
  });

  it('ends an interrupted wait as a closed blocking connection would (the Worker then does not look for a job)', async () => {
    const [a] = served();
    const w = wakeups as WorkerWakeups;
    const waiting = w.wait(a, 30);
    w.interrupt(a);
    await expect(waiting).rejects.toBeInstanceOf(ConnectionClosedError);
  });

  it('hands a marker kept for a Worker that closes back to Redis, for another agent serving the host', async () => {
    const [a, b] = served();
    const w = wakeups as WorkerWakeups;
    await announce(a);
    await popped(a);
    await w.release(a);
    // A wait already sent may still name the marker and pop it once more; it is handed back again, and then left.
    await expect.poll(() => redis.zscore(a, '0'), { timeout: 5_000 }).toBe('0');
    await expect(w.wait(a, 30)).rejects.toBeInstanceOf(ConnectionClosedError);
    // This agent still serves the rest.
    await expectWoken(w, b);
    await expect.poll(() => redis.zscore(a, '0'), { timeout: 5_000 }).toBe('0');
  });

  it('gives back what it kept when it closes', async () => {
    const [a] = served();
    await announce(a, 7);
    await popped(a);
    await wakeups?.close();
    wakeups = null;
    expect(await redis.zscore(a, '0')).toBe('7');
  });
});

/** Two agents' wake-ups serving the same marker, a's BZPOPMIN blocked before b's (Redis wakes the first blocked). */
describe('WorkerWakeups of two agents serving one queue', () => {
  const others: WorkerWakeups[] = [];
  afterEach(async () => {
    await Promise.all(others.splice(0).map((w) => w.close()));
  });

  /** Wake-ups on their own named connection, started, once their blocking pop is blocked in Redis. */
  async function blockedOn(key: string, name: string): Promise<WorkerWakeups> {
    const w = new WorkerWakeups(new Redis(REDIS_URL, { maxRetriesPerRequest: null, connectionName: name }), redis, quietLogger, {
      blockSeconds: 5,
      watchdogGraceMs: 15_000,
    });
    others.push(w);
    w.serve(key);
    w.start();
    const blocked = async () =>
      String(await redis.client('LIST'))
        .split('\n')
        .some((c) => c.includes(`name=${name} `) && c.includes('cmd=bzpopmin'));
    await expect.poll(blocked, { timeout: 5_000 }).toBe(true);
    return w;
  }

  it('a marker popped by the agent whose Worker is busy wakes the other agent’s waiting Worker too (put back, and kept)', async () => {
    run += 1;
    const key = `${prefix}:two${run}:marker`;
    const busy = await blockedOn(key, `${prefix}-busy${run}`);
    const idle = await blockedOn(key, `${prefix}-idle${run}`);
    const waiting = idle.wait(key, 3);
    await announce(key);
    // Kept for the busy Worker alone, it left the idle one to its wait's timeout (null here).
    expect(await waiting).toEqual({ member: '0', score: 0 });
    // Redis may answer the idle one's pop before the busy one's sweep that put the marker back.
    await expect.poll(() => busy.keptMarker(key), { timeout: 5_000 }).toEqual({ member: '0', score: 0 });
  });

  it('two agents with busy Workers pass a marker round once, then keep it (no ping-pong)', async () => {
    run += 1;
    const key = `${prefix}:two${run}:marker`;
    const a = await blockedOn(key, `${prefix}-a${run}`);
    const b = await blockedOn(key, `${prefix}-b${run}`);
    const monitor = await monitorRedis();
    const sweeps = () =>
      monitor.calls.filter((c) => c.source !== 'lua' && /^eval(sha)?$/i.test(c.args[0] ?? '') && c.args.includes(key)).length;
    try {
      await announce(key);
      // a pops and puts it back, b pops and puts it back, the next pop keeps it: three pops, each swept.
      await expect.poll(sweeps, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
      await expect.poll(() => redis.zcard(key), { timeout: 5_000 }).toBe(0);
      await monitor.settle();
      expect(sweeps()).toBe(3);
      expect([a.keptMarker(key), b.keptMarker(key)]).toEqual([
        { member: '0', score: 0 },
        { member: '0', score: 0 },
      ]);
    } finally {
      monitor.stop();
    }
  });
});

describe('WorkerWakeups and stale markers', () => {
  it('hands the popped marker to the Worker waiting for it at once, before the sweep has looked at it', async () => {
    const [a] = served();
    const w = wakeups as WorkerWakeups;
    const waitA = w.wait(a, 5);
    // Even one with no job behind it (rare since moveToActive takes its own back): the sweep would have dropped it.
    await redis.zadd(a, 0, '0');
    expect(await waitA).toEqual({ member: '0', score: 0 });
  });

  it('keeps no stale base marker for a Worker that is not waiting (BullMQ leaves one behind each job it hands out)', async () => {
    const [a, b] = served();
    const w = wakeups as WorkerWakeups;
    // Popped by the blocking wait with no Worker waiting for it: stale, so not kept for its next wait.
    await redis.zadd(a, 0, '0');
    await popped(a);
    // Popped in Redis is not yet handled here: a wait sent before the loop reads the pop is handed it (the hand-over
    // above). The loop handles one pop at a time, so once it has woken b's Worker it is done with a's.
    await expectWoken(w, b);
    expect(await w.wait(a, 0.3)).toBeNull();
    // Set again beside another queue's wake-up: whether the blocking pop or a sweep takes it, it is not kept.
    await redis.zadd(a, 0, '0');
    await expectWoken(w, b);
    await popped(a);
    expect(await w.wait(a, 0.2)).toBeNull();
  });

  it('wakes a Worker for a delayed job\u2019s marker whatever the lists hold', async () => {
    const [a] = served();
    const w = wakeups as WorkerWakeups;
    const waitA = w.wait(a, 30);
    await redis.zadd(a, 1_000, '1');
    expect(await waitA).toEqual({ member: '1', score: 1_000 });
  });

  it('refuses a marker key that is not named beside its queue\u2019s lists', () => {
    const w = new WorkerWakeups(new Redis(REDIS_URL, { lazyConnect: true }), redis, quietLogger);
    expect(() => w.serve(`${prefix}:q:marker`, { wait: `${prefix}:q:wait`, prioritized: `${prefix}:other:prioritized` })).toThrow(
      /not named/,
    );
    expect(() => w.serve(`${prefix}:q:markers`)).toThrow(/not named/);
  });
});

describe('BullMQ Workers on the shared wake-ups', () => {
  const connection = () => new Redis(REDIS_URL, { maxRetriesPerRequest: null });

  it('process a job added after they went idle, and a delayed job when it is due, without polling', async () => {
    run += 1;
    const names = [`wq${run}-a`, `wq${run}-b`];
    const shared = connection();
    // No keys given: each Worker's backend has the wake-ups wait on BullMQ's own marker key for its queue.
    wakeups = new WorkerWakeups(connection(), shared, quietLogger);
    const backend = wakeupBackend(wakeups);
    const seen: string[] = [];
    // drainDelay far beyond the test's timeout: an idle Worker only ever sees a job through a wake-up.
    const workers = names.map(
      (n) =>
        new Worker(
          n,
          async (job) => {
            seen.push(`${n}:${job.name}`);
            return job.name;
          },
          { connection: shared, prefix, drainDelay: 600, stalledInterval: 60_000 },
          backend,
        ),
    );
    const queues = names.map((n) => new Queue(n, { connection: shared, prefix }));
    try {
      await Promise.all(workers.map((w) => w.waitUntilReady()));
      wakeups.start();
      const done = (w: Worker, name: string) => new Promise<void>((resolve) => w.on('completed', (job) => job.name === name && resolve()));
      const first = done(workers[1] as Worker, 'now');
      await (queues[1] as Queue).add('now', {});
      await first;
      const later = done(workers[0] as Worker, 'later');
      await (queues[0] as Queue).add('later', {}, { delay: 300 });
      await later;
      expect(seen).toEqual([`${names[1]}:now`, `${names[0]}:later`]);
      // The Workers' command connection is the shared one: closing them leaves it open.
      await Promise.all(workers.map((w) => w.close()));
      expect(shared.status).toBe('ready');
    } finally {
      await Promise.all(workers.map((w) => w.close()));
      await Promise.all(queues.map((q) => q.close()));
      shared.disconnect();
    }
  }, 20_000);
});

describe('the start of a job on the shared wake-ups', () => {
  it("is announced on the queue's event stream only for jobs not named unannounced, whichever script hands it out", async () => {
    run += 1;
    const name = `wq${run}-starts`;
    const shared = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    wakeups = new WorkerWakeups(new Redis(REDIS_URL, { maxRetriesPerRequest: null }), shared, quietLogger);
    // The queue on a connection of its own: on the Workers' one it would define BullMQ's scripts first, unwrapped.
    const adder = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection: adder, prefix });
    // Three jobs waiting before the Worker starts, run one at a time: the first is handed out by moveToActive, the others
    // by the moveToFinished of the one before (both scripts are rewritten).
    await queue.add('read', {}, { jobId: 'r1' });
    await queue.add('change', {}, { jobId: 'c1' });
    await queue.add('read', {}, { jobId: 'r2' });
    const worker = new Worker(
      name,
      async (job) => job.name,
      { connection: shared, prefix, drainDelay: 600, stalledInterval: 60_000 },
      wakeupBackend(wakeups, ['read']),
    );
    try {
      const done = new Promise<void>((resolve) => worker.on('completed', (job) => job.id === 'r2' && resolve()));
      await worker.waitUntilReady();
      wakeups.start();
      await done;
      const events = (await redis.xrange(`${prefix}:${name}:events`, '-', '+')).map(([, f]) => `${f[1]}:${f[3]}`);
      expect(events.filter((e) => e.startsWith('active:'))).toEqual(['active:c1']);
      expect(events.filter((e) => e.startsWith('completed:'))).toEqual(['completed:r1', 'completed:c1', 'completed:r2']);
    } finally {
      await worker.close();
      await queue.close();
      shared.disconnect();
      adder.disconnect();
    }
  }, 20_000);

  it('is not announced when a retried read hands out the next one either: a read that failed once (a transport error: retried after a backoff) hands the next read out unannounced', async () => {
    run += 1;
    const name = `wq${run}-retried`;
    const shared = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    wakeups = new WorkerWakeups(new Redis(REDIS_URL, { maxRetriesPerRequest: null }), shared, quietLogger);
    // On a connection of its own: on the Workers' one it would define BullMQ's scripts first, unwrapped.
    const adder = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection: adder, prefix });
    // As JobQueues adds a read: two attempts, the second after a backoff (BullMQ's moveToDelayed, which fetches the
    // Worker's next job as moveToFinished does).
    const retried = { attempts: 2, backoff: { type: 'fixed', delay: 60_000 } };
    await queue.add('read', {}, { jobId: 'r1', ...retried });
    await queue.add('read', {}, { jobId: 'r2', ...retried });
    const worker = new WokenWorker(
      name,
      async (job) => {
        if (job.id === 'r1') throw new Error('transport: the host did not answer');
        return job.name;
      },
      { connection: shared, prefix, concurrency: 1, drainDelay: 600, stalledInterval: 60_000 },
      wakeupBackend(wakeups as WorkerWakeups, ['read']),
    );
    try {
      const done = new Promise<void>((resolve) => worker.on('completed', (job) => job.id === 'r2' && resolve()));
      await worker.waitUntilReady();
      wakeups?.start();
      await done;
      expect(await queue.getJobState('r1')).toBe('delayed');
      const events = (await redis.xrange(`${prefix}:${name}:events`, '-', '+')).map(([, f]) => `${f[1]}:${f[3]}`);
      expect(events.filter((e) => e.startsWith('active:'))).toEqual([]);
      expect(events.filter((e) => e.startsWith('completed:'))).toEqual(['completed:r2']);
    } finally {
      await worker.close();
      await queue.close();
      shared.disconnect();
      adder.disconnect();
    }
  }, 20_000);
});

/** A Worker on the shared wake-ups, its queue, and the moveToActive calls (looks) MONITOR saw for it. */
async function countedWorker(name: string, process: (job: Job) => Promise<unknown>, kind: { woken: boolean; concurrency: number }) {
  const shared = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  wakeups = new WorkerWakeups(new Redis(REDIS_URL, { maxRetriesPerRequest: null }), shared, quietLogger);
  // drainDelay far beyond the tests' timeouts: an idle slot only ever takes a job through a wake-up.
  const options = { connection: shared, prefix, concurrency: kind.concurrency, drainDelay: 600, stalledInterval: 60_000 };
  const worker = kind.woken
    ? new WokenWorker(name, process, options, wakeupBackend(wakeups))
    : new Worker(name, process, options, wakeupBackend(wakeups));
  const queue = new Queue(name, { connection: shared, prefix });
  const monitor = await monitorRedis();
  // moveToActive: BullMQ's script of 11 keys, the queue's `wait` key first.
  const waitKey = `${prefix}:${name}:wait`;
  const looks = () =>
    monitor.calls.filter((c) => c.source !== 'lua' && /^evalsha$/i.test(c.args[0] ?? '') && c.args[2] === '11' && c.args[3] === waitKey)
      .length;
  // The wake-ups' blocking pops naming this queue's marker (one per wake-up, and the first).
  const marker = `${prefix}:${name}:marker`;
  const pops = () => monitor.calls.filter((c) => /^bzpopmin$/i.test(c.args[0] ?? '') && c.args.includes(marker)).length;
  await worker.waitUntilReady();
  (wakeups as WorkerWakeups).start();
  const close = async () => {
    monitor.stop();
    await worker.close();
    await queue.close();
    shared.disconnect();
  };
  return { worker, queue, monitor, looks, pops, close };
}

describe('BullMQ Workers on the shared wake-ups, counted', () => {
  it.each([
    ['BullMQ\u2019s Worker, one job at a time', { woken: false, concurrency: 1 }],
    // BullMQ's Worker at concurrency 2 looks again for its free slot at once: twice per job.
    ['a WokenWorker at concurrency 2 (its free slot waits for a wake-up)', { woken: true, concurrency: 2 }],
  ])(
    'look for a job once per job, and are woken once per job (not again for the marker BullMQ sets after each job it hands out): %s',
    async (_, kind) => {
      run += 1;
      const name = `wc${run}`;
      const t = await countedWorker(name, async (job) => job.name, kind);
      try {
        const jobs = 5;
        for (let i = 0; i < jobs; i++) {
          const done = new Promise<void>((resolve) => t.worker.once('completed', () => resolve()));
          await t.queue.add(`j${i}`, {});
          await done;
          // Idle again before the next job: the marker of the job just handed out is gone, and nothing is kept for it.
          await expect.poll(() => redis.zcard(`${prefix}:${name}:marker`), { timeout: 5_000 }).toBe(0);
        }
        await t.monitor.settle();
        expect(t.looks()).toBe(jobs);
        // The backend's moveToActive takes that marker back when nothing else waits; with BullMQ's own, 1 + 2 per job.
        expect(t.pops()).toBe(1 + jobs);
      } finally {
        await t.close();
      }
    },
    20_000,
  );

  it('are not woken again when a finishing job fetches the next one and none is left waiting', async () => {
    run += 1;
    const name = `wf${run}`;
    const release: (() => void)[] = [];
    const t = await countedWorker(name, () => new Promise<void>((resolve) => release.push(resolve)), { woken: false, concurrency: 1 });
    const marker = `${prefix}:${name}:marker`;
    try {
      let completed = 0;
      t.worker.on('completed', () => {
        completed += 1;
      });
      await t.queue.add('first', {});
      await expect.poll(() => release.length, { timeout: 5_000 }).toBe(1);
      // The second waits while the Worker is busy: its wake-up is popped and kept for the Worker (and put back once, for
      // another agent: with none, this one's next pop takes it again and keeps it).
      await t.queue.add('second', {});
      await expect
        .poll(async () => (wakeups as WorkerWakeups).keptMarker(marker) !== null && (await redis.zcard(marker)) === 0, { timeout: 5_000 })
        .toBe(true);
      await t.monitor.settle();
      const before = t.pops();
      // The first's moveToFinished fetches the second, and BullMQ's sets the marker again as it hands it out: with
      // none left waiting, the backend's takes it back, and the wake-ups' pop is not answered for it.
      release[0]?.();
      await expect.poll(() => release.length, { timeout: 5_000 }).toBe(2);
      await t.monitor.settle();
      expect(await redis.zcard(marker)).toBe(0);
      expect(t.pops()).toBe(before);
      release[1]?.();
      await expect.poll(() => completed, { timeout: 5_000 }).toBe(2);
    } finally {
      // A job left running would hold the Worker's close.
      for (const r of release) r();
      await t.close();
    }
  }, 20_000);

  it('a WokenWorker still runs two jobs at once when several wait, and takes every one of a burst without polling', async () => {
    run += 1;
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const t = await countedWorker(
      `ww${run}`,
      async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => release.push(resolve));
        running -= 1;
      },
      { woken: true, concurrency: 2 },
    );
    try {
      const jobs = 6;
      let completed = 0;
      t.worker.on('completed', () => {
        completed += 1;
      });
      await t.queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: `b${i}`, data: {} })));
      // Both slots fill although the Worker never looks for a second job by itself; each job let go makes room for the next.
      for (let done = 0; done < jobs; done++) {
        await expect.poll(() => release.length, { timeout: 5_000 }).toBeGreaterThan(done);
        if (done < jobs - 1) await expect.poll(() => running, { timeout: 5_000 }).toBe(2);
        release[done]?.();
      }
      await expect.poll(() => completed, { timeout: 5_000 }).toBe(jobs);
      expect(most).toBe(2);
    } finally {
      await t.close();
    }
  }, 20_000);
});

describe('after a Redis restart', () => {
  it('the shared wait comes back by itself and wakes a Worker for a job added afterwards', async () => {
    const server = await startPrivateRedis();
    const shared = new Redis(server.url, { maxRetriesPerRequest: null });
    const own = new WorkerWakeups(new Redis(server.url, { maxRetriesPerRequest: null }), shared, quietLogger);
    const names: string[] = [];
    const worker = new Worker(
      'rq',
      async (job) => {
        names.push(job.name);
      },
      { connection: shared, prefix, drainDelay: 600, stalledInterval: 60_000 },
      wakeupBackend(own),
    );
    worker.on('error', () => {});
    const queue = new Queue('rq', { connection: shared, prefix });
    const completed = (name: string) => new Promise<void>((resolve) => worker.on('completed', (job) => job.name === name && resolve()));
    try {
      await worker.waitUntilReady();
      own.start();
      const before = completed('before');
      await queue.add('before', {});
      await before;
      await server.restart();
      const after = completed('after');
      await queue.add('after', {});
      await after;
      expect(names).toEqual(['before', 'after']);
    } finally {
      await worker.close();
      await own.close();
      await queue.close();
      shared.disconnect();
      await server.stop();
    }
  }, 30_000);
});

describe('a blocking wait that never answers', () => {
  it('a sweep whose answer never comes is abandoned too: the Worker is woken, and what the re-sent sweep pops is delivered', async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const monitor = await monitorRedis();
    run += 1;
    const [a, b] = [`${prefix}:s${run}-a:marker`, `${prefix}:s${run}-b:marker`];
    const own = new WorkerWakeups(new Redis(proxy.url, { maxRetriesPerRequest: null }), redis, quietLogger, {
      blockSeconds: 5,
      watchdogGraceMs: 300,
    });
    own.serve(a);
    own.serve(b);
    const sweeps = () => monitor.calls.filter((c) => /^eval(sha)?$/i.test(c.args[0] ?? '') && c.args.includes(b)).length;
    try {
      own.start();
      const first = own.wait(a, 30);
      // b's Worker waits too: a marker popped for a Worker not waiting would also be put back (for another agent), and
      // popped and swept once more here.
      const second = own.wait(b, 30);
      // The sweep that follows the pop arrives and runs; its answer is lost, and so is every later byte.
      proxy.freezeRepliesAt((chunk) => chunk.includes('eval'));
      await announce(a);
      await expect.poll(sweeps, { timeout: 5_000 }).toBe(1);
      // Set while the loop waits for the lost answer: the sweep ioredis sends again after the reconnect pops it.
      await announce(b);
      // The finding: the loop awaited the sweep with no watchdog, and the wake-ups stopped for good.
      expect(await first).toEqual({ member: '0', score: 0 });
      expect(await second).toEqual({ member: '0', score: 0 });
      // MONITOR's stream may trail the answer the loop already has: read it up to a mark sent after.
      await monitor.settle();
      expect(sweeps()).toBe(2);
    } finally {
      monitor.stop();
      await own.close();
      await proxy.stop();
    }
  }, 20_000);

  it('is abandoned past its timeout and the connection reset: a half-open connection does not stop the wake-ups', async () => {
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    run += 1;
    const a = `${prefix}:h${run}-a:marker`;
    const own = new WorkerWakeups(new Redis(proxy.url, { maxRetriesPerRequest: null }), redis, quietLogger, {
      blockSeconds: 0.2,
      watchdogGraceMs: 300,
    });
    own.serve(a);
    try {
      own.start();
      const first = own.wait(a, 30);
      await announce(a);
      expect(await first).toEqual({ member: '0', score: 0 });
      // The blocking connection goes silent for good; new connections work.
      proxy.freezeOpen();
      const second = own.wait(a, 30);
      await announce(a);
      expect(await second).toEqual({ member: '0', score: 0 });
    } finally {
      await own.close();
      await proxy.stop();
    }
  }, 20_000);
});
