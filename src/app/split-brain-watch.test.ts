import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { domainSample } from '../../test/helpers/domain-sample.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { alertFor } from '../core/alerts.ts';
import { createLogger } from '../core/log.ts';
import type { DomainSample } from '../core/samples.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { SplitBrainWatch } from './split-brain-watch.ts';

/**
 * The split-brain watch on real Redis: samples written as the agents write them, each check() called as its timer
 * would. Two bots (one per platform) watch alike: each change is put on the stream once.
 */
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

const row = (name: string, state = '--b---'): DomainSample => domainSample(name, { state });

function scene(repeatMs = 60_000) {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const samples = new SampleStore(redis, prefix);
  const events = new FleetEventLog(redis, prefix);
  let at = 1_000;
  const watch = () =>
    new SplitBrainWatch({
      hosts: ['xen1', 'xen2'],
      samples,
      events,
      uuidOf: () => null,
      intervalMs: 1_000,
      repeatMs,
      logger: createLogger('silent'),
    });
  return {
    a: watch(),
    b: watch(),
    /** One iteration of each host, later than the last. */
    async sample(xen1: DomainSample[], xen2: DomainSample[]) {
      at += 1_000;
      await samples.putLatest({ host: 'xen1', at, intervalSeconds: 1, domains: xen1 }, 60_000);
      await samples.putLatest({ host: 'xen2', at, intervalSeconds: 1, domains: xen2 }, 60_000);
    },
    said: async () => (await events.since(0)).map((e) => alertFor(e)?.reply.title),
  };
}

describe('SplitBrainWatch', () => {
  it('says a guest up on two hosts once both show it in a later sample, once across bots, and its end', async () => {
    const s = scene();
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.b.check();
    // One sample of each may be of before and after a move: not taken yet.
    expect(await s.said()).toEqual([]);
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.b.check();
    expect(await s.said()).toEqual(['web is running on xen1 and xen2 at once']);
    await s.a.check();
    expect(await s.said()).toHaveLength(1);
    await s.sample([row('web')], []);
    await s.a.check();
    await s.sample([row('web')], []);
    await s.a.check();
    await s.b.check();
    expect(await s.said()).toEqual(['web is running on xen1 and xen2 at once', 'web runs on xen1 only again']);
  });

  it('takes no migration by hand whose source sample was older than the move: the next one shows it gone', async () => {
    const s = scene();
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.sample([], [row('web')]);
    await s.a.check();
    await s.sample([], [row('web')]);
    await s.a.check();
    expect(await s.said()).toEqual([]);
  });

  it('says it again once per repeat while it lasts, never within it', async () => {
    const s = scene(200);
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.a.check();
    expect(await s.said()).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 250));
    await s.b.check();
    await s.a.check();
    const said = await s.said();
    expect(said).toEqual(['web is running on xen1 and xen2 at once', 'web is running on xen1 and xen2 at once']);
  });

  it('takes no paused copy (a migration receiving), and no change a host without a sample cannot show', async () => {
    const s = scene();
    await s.sample([row('web')], [row('web', '----p-')]);
    await s.a.check();
    await s.sample([row('web')], [row('web', '----p-')]);
    await s.a.check();
    expect(await s.said()).toEqual([]);
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await redis.del(`${prefixes.at(-1)}:sample:xen2`);
    await s.a.check();
    await s.a.check();
    expect(await s.said()).toEqual(['web is running on xen1 and xen2 at once']);
  });
});

describe('the watch’s pace', () => {
  it('compares at the sampling pace only for a few checks after a change was heard, else once a minute', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const store = new SampleStore(redis, prefix);
    let reads = 0;
    let read: () => void = () => {};
    const watch = new SplitBrainWatch({
      hosts: ['xen1', 'xen2'],
      // Our own interface, counted: each comparison reads every host's latest sample once.
      samples: {
        latest: (hosts) => {
          reads++;
          read();
          return store.latest(hosts);
        },
      },
      events: new FleetEventLog(redis, prefix),
      uuidOf: () => null,
      intervalMs: 20,
      idleIntervalMs: 60_000,
      repeatMs: 60_000,
      logger: createLogger('silent'),
    });
    const readsReach = (n: number) =>
      new Promise<void>((resolve) => {
        read = () => {
          if (reads >= n) resolve();
        };
      });
    watch.start();
    try {
      // At start: a few checks at the sampling pace, then the idle pace (a minute).
      await readsReach(4);
      const settled = reads;
      await new Promise((r) => setTimeout(r, 300));
      expect(reads).toBe(settled);
      // A change heard: the sampling pace again, for as many checks.
      const more = readsReach(settled + 4);
      watch.nudge();
      await more;
      await new Promise((r) => setTimeout(r, 300));
      expect(reads).toBe(settled + 4);
    } finally {
      await watch.stop();
    }
  });
});
