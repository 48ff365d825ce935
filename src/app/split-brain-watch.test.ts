import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { domainSample } from '../../test/helpers/domain-sample.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { alertFor } from '../core/alerts.ts';
import { createLogger } from '../core/log.ts';
import type { DomainSample } from '../core/samples.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { SplitBrainWatch, type SplitBrainWatchDeps } from './split-brain-watch.ts';

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

function scene(repeatMs = 60_000, uuidOf: (host: string, name: string) => string | null = () => null) {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const samples = new SampleStore(redis, prefix);
  const events = new FleetEventLog(redis, prefix);
  let at = 1_000;
  const watch = (ev: SplitBrainWatchDeps['events'] = events) =>
    new SplitBrainWatch({
      hosts: ['xen1', 'xen2'],
      samples,
      events: ev,
      uuidOf,
      intervalMs: 1_000,
      repeatMs,
      logger: createLogger('silent'),
    });
  return {
    events,
    watch,
    a: watch(),
    b: watch(),
    /** One iteration of each host, later than the last. */
    async sample(xen1: DomainSample[], xen2: DomainSample[]) {
      at += 1_000;
      await samples.putLatest({ host: 'xen1', at, intervalSeconds: 1, domains: xen1 }, 60_000);
      await samples.putLatest({ host: 'xen2', at, intervalSeconds: 1, domains: xen2 }, 60_000);
    },
    said: async () => (await events.since(0)).map((e) => alertFor(e)?.reply.title),
    /** The events put on the stream: a start, a repeat, an end. */
    kinds: async () => (await events.since(0)).map((e) => (e.kind === 'domain.running-twice' && e.repeat ? 'repeat' : e.kind)),
    /** What is recorded as said, by key. */
    record: async () =>
      Object.fromEntries(Object.entries(await redis.hgetall(`${prefix}:running-twice`)).map(([k, v]) => [k, JSON.parse(v)])),
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

  it('takes a copy renamed during a split brain (xl rename) as the same one going on, and says its end once', async () => {
    // Both copies share the UUID, whatever a copy is named.
    const s = scene(60_000, () => '11111111-1111-1111-1111-111111111111');
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.b.check();
    expect(await s.kinds()).toEqual(['domain.running-twice']);
    const [start] = await s.events.since(0);
    // On xen2: xl rename web www. No end (it still runs twice), no new start.
    for (let i = 0; i < 3; i++) {
      await s.sample([row('web')], [row('www')]);
      await s.a.check();
      await s.b.check();
    }
    expect(await s.kinds()).toEqual(['domain.running-twice']);
    const since = start?.kind === 'domain.running-twice' ? start.since : null;
    // Its names follow the rename; it began when it began.
    expect(await s.record()).toEqual({
      '["web","www"]': { hosts: ['xen1', 'xen2'], names: ['web', 'www'], since, uuids: ['11111111-1111-1111-1111-111111111111'] },
    });
    // xen2's www stops: the end, once.
    for (let i = 0; i < 3; i++) {
      await s.sample([row('web')], []);
      await s.a.check();
      await s.b.check();
    }
    expect(await s.said()).toEqual(['web is running on xen1 and xen2 at once', 'web / www runs on xen1 only again']);
    expect(await s.record()).toEqual({});
  });

  it('moves what was said once when two bots see the rename: the later finds it moved, and says nothing', async () => {
    const s = scene(60_000, () => '11111111-1111-1111-1111-111111111111');
    // B's check stops after reading what was said (still under "web"), until let go: A has moved it by then.
    let readSaid!: () => void;
    const bRead = new Promise<void>((r) => {
      readSaid = r;
    });
    let letGo!: () => void;
    const gate = new Promise<void>((r) => {
      letGo = r;
    });
    const b = s.watch({
      append: (e) => s.events.append(e),
      sayRunningTwice: (...a) => s.events.sayRunningTwice(...a),
      sayRunningOnce: (k) => s.events.sayRunningOnce(k),
      moveRunningTwice: (...a) => s.events.moveRunningTwice(...a),
      runningTwiceSaid: async () => {
        const said = await s.events.runningTwiceSaid();
        readSaid();
        await gate;
        return said;
      },
    });
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.sample([row('web')], [row('web')]);
    await s.a.check();
    await s.sample([row('web')], [row('www')]);
    const bCheck = b.check();
    await bRead;
    await s.a.check();
    letGo();
    await bCheck;
    expect(await s.kinds()).toEqual(['domain.running-twice']);
    expect(Object.keys(await s.record())).toEqual(['["web","www"]']);
  });

  it('takes a rename undone during a split brain as the same one going on', async () => {
    const s = scene(60_000, () => '11111111-1111-1111-1111-111111111111');
    for (const xen2 of ['www', 'www', 'web', 'web', 'web']) {
      await s.sample([row('web')], [row(xen2)]);
      await s.a.check();
      await s.b.check();
    }
    expect(await s.said()).toEqual(['web / www is running on xen1 and xen2 at once']);
    expect(Object.keys(await s.record())).toEqual(['["web"]']);
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
    // The watch's timers, run by hand: each fired once its check has set the next, so no check is in flight between.
    type Timer = { run: () => void; ms: number; live: boolean };
    const timers: Timer[] = [];
    let set: () => void = () => {};
    const live = () => timers.filter((t) => t.live).map((t) => t.ms);
    const fire = async () => {
      const due = timers.filter((t) => t.live);
      expect(due).toHaveLength(1);
      const [t] = due as [Timer];
      const next = new Promise<void>((r) => {
        set = r;
      });
      t.live = false;
      t.run();
      await next;
    };
    const watch = new SplitBrainWatch({
      hosts: ['xen1', 'xen2'],
      // Our own interface, counted: each comparison reads every host's latest sample once.
      samples: {
        latest: (hosts) => {
          reads++;
          return store.latest(hosts);
        },
      },
      events: new FleetEventLog(redis, prefix),
      uuidOf: () => null,
      intervalMs: 20,
      idleIntervalMs: 60_000,
      repeatMs: 60_000,
      logger: createLogger('silent'),
      setTimer: (run, ms) => {
        const t = { run, ms, live: true };
        timers.push(t);
        set();
        return {
          clear: () => {
            t.live = false;
          },
        };
      },
    });
    watch.start();
    try {
      // At start: a few checks at the sampling pace, then the idle pace (a minute) — the one timer left.
      const paces: number[] = [];
      for (let i = 0; i < 4; i++) {
        paces.push(...live());
        await fire();
      }
      expect({ paces, reads, next: live() }).toEqual({ paces: [20, 20, 20, 20], reads: 4, next: [60_000] });
      // A change heard: the sampling pace again, for as many checks.
      watch.nudge();
      paces.length = 0;
      for (let i = 0; i < 4; i++) {
        paces.push(...live());
        await fire();
      }
      expect({ paces, reads, next: live() }).toEqual({ paces: [20, 20, 20, 20], reads: 8, next: [60_000] });
    } finally {
      await watch.stop();
    }
  });
});
