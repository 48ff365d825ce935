import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { alertDeskConfig as config, deskWaiter } from '../../test/helpers/alert-desk-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { createLogger } from '../core/log.ts';
import type { Reply } from '../core/reply.ts';
import { type FleetEvent, FleetEventLog } from '../queue/fleet-events.ts';
import { AlertDesk } from './alert-desk.ts';

/**
 * A platform call that never settles (stuck behind a rate-limit wait, an HTTP request with no timeout) must cost one
 * deadline, not the desk: real Redis, a prefix per test, the desk's own loop where it matters.
 */
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: Error) => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A desk whose post hangs (until the test settles it) while `hang(call)` says so for that call; `posted` holds what
 * landed in time, `calls` every call made, `lines` what it logged. `until` waits for a check, failing after `ms`.
 */
function desk(options: {
  channels?: string[];
  retryMs?: number;
  postTimeoutMs?: number;
  repostAfterMs?: number;
  hang?: (call: number, channel: string) => boolean;
  /** Another bot's prefix, to share its Redis records (a desk of its own, as a bot taking over would be). */
  prefix?: string;
}) {
  const prefix = options.prefix ?? uniquePrefix();
  prefixes.push(prefix);
  const posted: { channel: string; title: string }[] = [];
  const calls: string[] = [];
  /** Every call's alert, and when it was made. */
  const tries: { title: string; at: number }[] = [];
  const hung: Deferred[] = [];
  const lines: Record<string, unknown>[] = [];
  const { wake, until } = deskWaiter(posted);
  const logger = createLogger('debug', {
    write(line: string) {
      lines.push(JSON.parse(line) as Record<string, unknown>);
      wake();
    },
  });
  const d = new AlertDesk({
    config: options.channels
      ? { ...config, alerts: { ...config.alerts, channels: options.channels.map((id) => ({ platform: 'terminal' as const, id })) } }
      : config,
    target: REDIS_URL,
    redis,
    prefix,
    instance: 'bot-a',
    platforms: new Set(['terminal']),
    post: async (_platform, channel, r: Reply) => {
      calls.push(channel);
      tries.push({ title: r.title, at: Date.now() });
      wake();
      if (options.hang?.(calls.length, channel)) {
        const h = deferred();
        hung.push(h);
        wake();
        await h.promise;
      }
      posted.push({ channel, title: r.title });
      wake();
    },
    logger,
    ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
    ...(options.postTimeoutMs === undefined ? {} : { postTimeoutMs: options.postTimeoutMs }),
    ...(options.repostAfterMs === undefined ? {} : { repostAfterMs: options.repostAfterMs }),
  });
  return { d, prefix, posted, calls, tries, hung, lines, until, log: new FleetEventLog(redis, prefix) };
}

const crashed = (domain: string, at: number): FleetEvent => ({
  kind: 'domain.crashed',
  host: 'xen1',
  domain,
  uuid: null,
  byXenops: false,
  at,
});

/** Appends the events in one transaction, so that the desk's next read takes them all. */
async function appendTogether(log: FleetEventLog, events: FleetEvent[]): Promise<void> {
  const m = redis.multi();
  for (const e of events) m.xadd(log.key, '*', 'data', JSON.stringify(e));
  await m.exec();
}

async function pendingCount(log: FleetEventLog): Promise<number> {
  return ((await redis.xpending(log.key, 'alerts')) as [number])[0];
}

/** Bounded below the suite's 30 s: without a deadline these hang until then, stop() in their `finally` too. */
describe('a post that never settles', { timeout: 15_000 }, () => {
  it('does not hold up the next alert: it is posted within a bounded time, and the hung one is not posted again meanwhile', async () => {
    const { d, posted, tries, until, log } = desk({ postTimeoutMs: 200, retryMs: 300, hang: (call) => call === 1 });
    await d.start();
    try {
      await appendTogether(log, [crashed('web', Date.now()), crashed('mail', Date.now())]);
      await until(() => posted.some((p) => p.title === 'mail crashed on xen1'), 8_000, 'the alert after the hung one');
      // The rest of the read was left for the next try (the channel had just hung), which takes both again, in order:
      // web's post, still out, is waited for (it may yet land, as one queued behind a rate limit does), mail's made.
      expect(tries.map((t) => t.title)).toEqual(['web crashed on xen1', 'mail crashed on xen1']);
      expect(posted.map((p) => p.title)).toEqual(['mail crashed on xen1']);
    } finally {
      await d.stop();
    }
  });

  it('leaves the timed-out alert pending: once its post has been out repostAfterMs, it is posted again, and acked then', async () => {
    const { d, posted, tries, until, log, lines } = desk({
      postTimeoutMs: 200,
      retryMs: 300,
      repostAfterMs: 2_500,
      hang: (call) => call === 1,
    });
    await d.start();
    try {
      await log.append(crashed('db', Date.now()));
      await until(() => posted.some((p) => p.title === 'db crashed on xen1'), 8_000, 'the timed-out alert, tried again');
      expect(posted.map((p) => p.title)).toEqual(['db crashed on xen1']);
      // Tried again every ~2 s (each read waits that long for news), but posted again only past the bound.
      const [first, second, ...more] = tries.map((t) => t.at);
      expect(more).toEqual([]);
      expect(Number(second) - Number(first)).toBeGreaterThanOrEqual(2_500);
      await expect.poll(() => pendingCount(log)).toBe(0);
      const timedOut = lines.find((l) => l['msg'] === 'alert post timed out; tried again later');
      expect(timedOut).toMatchObject({ channel: 'terminal:alerts', timeoutMs: 200 });
      expect(lines.find((l) => l['msg'] === 'alert post still out: posted again')).toMatchObject({ channel: 'terminal:alerts' });
    } finally {
      await d.stop();
    }
  });

  it('does not hold up the other channel, and costs one deadline per read: a hung channel is skipped for the rest of it', async () => {
    const { d, posted, calls, until, log } = desk({
      channels: ['ops', 'noc'],
      postTimeoutMs: 300,
      hang: (_call, channel) => channel === 'ops',
    });
    await d.start();
    try {
      const t = Date.now();
      await appendTogether(log, [crashed('a', t), crashed('b', t), crashed('c', t)]);
      await until(() => posted.filter((p) => p.channel === 'noc').length === 3, 5_000, 'all three alerts in noc');
      expect(calls.filter((c) => c === 'ops')).toEqual(['ops']);
      // Still owed to ops: left pending, for the next try after retryMs.
      expect(await pendingCount(log)).toBe(3);
    } finally {
      await d.stop();
    }
  });

  it('lets stop() return at once, well before the post’s deadline', async () => {
    const { d, hung, until, log } = desk({ hang: () => true });
    await d.start();
    await log.append(crashed('dns', Date.now()));
    await until(() => hung.length > 0, 5_000, 'the post to hang');
    const outcome = await Promise.race([
      d.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('still waiting on the post'), 3_000)),
    ]);
    expect(outcome).toBe('stopped');
  });
});

describe('a post that lands or fails after its deadline', { timeout: 15_000 }, () => {
  it('records one that lands late, so the alert is not posted again to that channel when handled again', async () => {
    const { d, posted, calls, hung, lines, until } = desk({ postTimeoutMs: 100, hang: (call) => call === 1 });
    const entry = { id: '1700000000000-0', event: crashed('web', Date.now()) };
    await d.handle(entry);
    expect(posted).toEqual([]);
    hung[0]?.resolve();
    await until(() => lines.some((l) => l['msg'] === 'alert post landed after it was given up'), 5_000, 'the late post to be recorded');
    await d.handle(entry);
    expect(calls).toHaveLength(1);
    expect(posted.map((p) => p.title)).toEqual(['web crashed on xen1']);
  });

  it('does not post it again while the timed-out post is still out, until repostAfterMs: then a duplicate rather than a silence', async () => {
    const { d, posted, calls, tries } = desk({ postTimeoutMs: 100, repostAfterMs: 1_000, hang: (call) => call === 1 });
    const entry = { id: '1700000000001-0', event: crashed('api', Date.now()) };
    await d.handle(entry);
    await d.handle(entry);
    expect(calls).toEqual(['alerts']);
    // The bound is a time, with no event to wait for: past it, the post still out is taken as hung for good.
    await new Promise((r) => setTimeout(r, Math.max(0, Number(tries[0]?.at) + 1_000 - Date.now())));
    await d.handle(entry);
    expect(calls).toEqual(['alerts', 'alerts']);
    expect(posted.map((p) => p.title)).toEqual(['api crashed on xen1']);
  });

  it('is posted by another bot handling it while this one has its post out: what one bot waits for, another cannot', async () => {
    const a = desk({ postTimeoutMs: 100, hang: () => true });
    const b = desk({ postTimeoutMs: 100, prefix: a.prefix });
    const entry = { id: '1700000000004-0', event: crashed('ldap', Date.now()) };
    await a.d.handle(entry);
    await b.d.handle(entry);
    expect(a.posted).toEqual([]);
    expect(b.posted.map((p) => p.title)).toEqual(['ldap crashed on xen1']);
  });

  it('posts it again at the next try once the timed-out post has failed, without waiting for repostAfterMs', async () => {
    const { d, posted, calls, hung, lines, until } = desk({ postTimeoutMs: 100, hang: (call) => call === 1 });
    const entry = { id: '1700000000003-0', event: crashed('ns', Date.now()) };
    await d.handle(entry);
    hung[0]?.reject(new Error('socket hang up'));
    await until(() => lines.some((l) => l['msg'] === 'alert post failed after it was given up'), 5_000, 'the late failure to be logged');
    await d.handle(entry);
    expect(calls).toEqual(['alerts', 'alerts']);
    expect(posted.map((p) => p.title)).toEqual(['ns crashed on xen1']);
  });

  it('leaves no unhandled rejection when the abandoned post fails, and logs its error without the secret in it', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { d, hung, lines, until } = desk({ postTimeoutMs: 100, hang: () => true });
      const token = `123456789:${'A'.repeat(35)}`;
      await d.handle({ id: '1700000000002-0', event: crashed('dns', Date.now()) });
      hung[0]?.reject(new Error(`request to https://api.telegram.org/bot${token}/sendMessage failed: socket hang up`));
      await until(() => lines.some((l) => l['msg'] === 'alert post failed after it was given up'), 5_000, 'the late failure to be logged');
      // An unhandled rejection is reported once the microtasks after it have run: one turn of the event loop.
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
      const text = JSON.stringify(lines);
      expect(text).not.toContain(token);
      expect(text).toContain('socket hang up');
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
