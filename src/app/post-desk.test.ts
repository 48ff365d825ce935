import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { digest } from '../../commands/digest.ts';
import { top } from '../../commands/top.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import type { HostOutcome } from '../core/define-command.ts';
import { createLogger } from '../core/log.ts';
import type { HistoryFigures, HistoryPoint } from '../core/samples.ts';
import { sparklineText } from './charts.ts';
import type { PendingRequest } from './pending-store.ts';
import { PostDesk, type PostDeskDeps } from './post-desk.ts';
import { scheduleBookKey, scheduleMessageKey } from './schedules.ts';

/** The charts a reply gets (/top chart:true, /digest): the post desk reads the history and draws them per host. */
const T0 = Date.UTC(2026, 7, 1, 12, 0);
const config = Config.parse({ hosts: { xen2: { address: '10.0.0.2', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } } });

function figures(cpuAvg: number, memoryMiB = 1024): HistoryFigures {
  return {
    cpuAvg,
    cpuMax: cpuAvg,
    memoryKiB: memoryMiB * 1024,
    cpuSeconds: 10,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
  };
}

/** Ten minutes of xen2's history: Domain-0, files and backup. */
const history: HistoryPoint[] = Array.from({ length: 10 }, (_, i) => ({
  at: T0 + i * 60_000,
  domains: { 'Domain-0': figures(3, 2048), files: figures(10 + i, 4096), backup: figures(60 - i, 512) },
}));

/** A desk over that history whose PNGs are the points they were drawn from (what was charted, not pixels). */
function desk(over: Partial<PostDeskDeps> = {}): { desk: PostDesk; charted: HistoryPoint[][] } {
  const charted: HistoryPoint[][] = [];
  const d = new PostDesk({
    redis: null as never, // no schedule: the desk reads nothing from Redis
    prefix: 'unused',
    config,
    history: async () => ({ xen2: history }),
    chart: async (_host, points) => {
      charted.push(points);
      return new Uint8Array([1]);
    },
    sparkline: (host, points, now) => sparklineText(host, points, { now }),
    pin: async () => true,
    deliverOrThrow: async (t) => t,
    clock: { now: () => T0 + 600_000 } as never,
    logger: createLogger('silent'),
    ...over,
  });
  return { desk: d, charted };
}

function request(command: string, args: Record<string, unknown>): PendingRequest {
  const target = { platform: 'terminal', channelId: 'c', requestId: 'r1', state: {} };
  return { requestId: 'r1', command, args, target, mode: 'parallel', jobs: [] } as unknown as PendingRequest;
}

const topOutcome: HostOutcome<'host.top'> = {
  host: 'xen2',
  ok: true,
  result: { host: 'xen2', live: true, sampledAt: T0, domains: [] },
  agent: null,
  frozen: null,
};

describe('PostDesk.prepare: charts', () => {
  it('GIVEN a person who may see only files* on xen2 THEN the chart and its text fallback show files alone', async () => {
    const { desk: d, charted } = desk();
    const mayName = (host: string, domain: string) => host === 'xen2' && domain.startsWith('files');
    const { ctx } = await d.prepare(request('top', { chart: true }), top as never, [topOutcome] as never, mayName);
    expect(charted.map((points) => [...new Set(points.flatMap((p) => Object.keys(p.domains)))])).toEqual([['files']]);
    expect(charted[0]?.map((p) => p.at)).toEqual(history.map((p) => p.at));
    const text = ctx.charts?.[0]?.text ?? '';
    expect(text).toContain('files');
    expect(text).not.toMatch(/backup|Domain-0/);
  });

  it('GIVEN a host whose sampling stopped 40 min ago THEN the chart ends now and its text does not call old figures "now"', async () => {
    const at = T0 + 49 * 60_000;
    const nows: number[] = [];
    const { desk: d } = desk({
      clock: { now: () => at } as never,
      chart: async (_host, _points, now) => {
        nows.push(now);
        return new Uint8Array([1]);
      },
    });
    const { ctx } = await d.prepare(request('top', { chart: true }), top as never, [topOutcome] as never);
    expect(nows).toEqual([at]);
    const [header, ...lines] = (ctx.charts?.[0]?.text ?? '').split('\n');
    expect(header).toMatch(/; no sample for 40 min$/);
    expect(lines.join('\n')).not.toContain(' now /');
  });

  it('GIVEN no domain filter THEN charts every domain of the host', async () => {
    const { desk: d, charted } = desk();
    await d.prepare(request('top', { chart: true }), top as never, [topOutcome] as never);
    expect(Object.keys(charted[0]?.[0]?.domains ?? {}).sort()).toEqual(['Domain-0', 'backup', 'files']);
  });

  it('GIVEN a text fallback that cannot be drawn THEN the reply is prepared, its chart still attached', async () => {
    const { desk: d } = desk({
      sparkline: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'toFixed')");
      },
    });
    const outcomes: HostOutcome<'host.digest'>[] = [
      { host: 'xen2', ok: true, result: { host: 'xen2', hours: 24, since: T0, points: 10, domains: [] }, agent: null, frozen: null },
    ];
    const { ctx } = await d.prepare(request('digest', { hours: 24 }), digest as never, outcomes as never);
    expect(ctx.charts).toEqual([{ host: 'xen2', png: new Uint8Array([1]), text: 'xen2: no chart (it could not be drawn)' }]);
  });

  it('GIVEN a PNG that cannot be drawn THEN the text fallback is sent instead', async () => {
    const { desk: d } = desk({
      chart: async () => {
        throw new Error('resvg failed');
      },
    });
    const { ctx } = await d.prepare(request('top', { chart: true }), top as never, [topOutcome] as never);
    expect(ctx.charts?.map((c) => [c.png, c.text.split('\n')[0]])).toEqual([
      [null, 'xen2: CPU % over 9 min (10 samples), 12:00–12:09 UTC'],
    ]);
  });
});

describe("PostDesk.afterDelivery: an edit schedule's pin", () => {
  it('GIVEN a pin that failed THEN the next post pins the message again, and once done it is not pinned again', async () => {
    const prefix = uniquePrefix();
    const redis = new Redis(REDIS_URL);
    try {
      // In the book: a schedule removed meanwhile would have its records deleted after the post.
      await redis.hset(scheduleBookKey(prefix), 'SPIN02', '{}');
      const answers = [false, true];
      let pins = 0;
      const { desk: d } = desk({
        redis,
        prefix,
        pin: async () => {
          pins++;
          return answers.shift() ?? true;
        },
      });
      const post = (at: number) =>
        d.afterDelivery(
          { ...request('list', {}), requestId: `sched-SPIN02-${at}`, schedule: { id: 'SPIN02', mode: 'edit' } } as PendingRequest,
          { name: 'list' } as never,
          [],
          { platform: 'telegram', channelId: '-1001', requestId: `sched-SPIN02-${at}`, state: { messageId: 7 } },
        );
      await post(1_000); // a new message: pinned, but the pin failed (a 429, a timeout)
      await post(2_000); // the same message: its pin is tried again, and goes through
      await post(3_000); // pinned by now: left alone
      // Before: a failed pin was recorded as done, and the message stayed unpinned for good (1 pin).
      expect(pins).toBe(2);
    } finally {
      await deleteKeysWithPrefix(REDIS_URL, prefix);
      redis.disconnect();
    }
  });

  it("GIVEN an edit schedule's posts THEN its message's record expires as its snapshot does, renewed at each post", async () => {
    const prefix = uniquePrefix();
    const redis = new Redis(REDIS_URL);
    const DAY_MS = 86_400_000;
    try {
      await redis.hset(scheduleBookKey(prefix), 'STTL01', '{}');
      const answers = [false, true];
      const { desk: d } = desk({ redis, prefix, pin: async () => answers.shift() ?? true });
      const post = (at: number) =>
        d.afterDelivery(
          { ...request('list', {}), requestId: `sched-STTL01-${at}`, schedule: { id: 'STTL01', mode: 'edit' } } as PendingRequest,
          { name: 'list' } as never,
          [],
          { platform: 'telegram', channelId: '-1001', requestId: `sched-STTL01-${at}`, state: { messageId: 7 } },
        );
      const key = scheduleMessageKey(prefix, 'STTL01');
      const days = async () => (await redis.pttl(key)) / DAY_MS;
      await post(1_000); // recorded; its pin failed
      expect(await days()).toBeGreaterThan(399);
      expect(await days()).toBeLessThanOrEqual(400);
      await redis.pexpire(key, DAY_MS); // as it would be a year on, had no post come since
      await post(2_000); // the same message, pinned this time: marked so, and renewed
      expect(JSON.parse((await redis.get(key)) ?? '{}')).toMatchObject({ pinned: true });
      // Before: no TTL at all (-1): a schedule gone for good without its keys deleted left this one for ever.
      expect(await days()).toBeGreaterThan(399);
      expect(await days()).toBeLessThanOrEqual(400);
    } finally {
      await deleteKeysWithPrefix(REDIS_URL, prefix);
      redis.disconnect();
    }
  });
});
