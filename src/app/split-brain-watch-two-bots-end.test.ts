import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { domainSample } from '../../test/helpers/domain-sample.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { createLogger } from '../core/log.ts';
import type { DomainSample } from '../core/samples.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { SplitBrainWatch, type SplitBrainWatchDeps } from './split-brain-watch.ts';

/**
 * Two bots (one per platform) each run the watch on real Redis. Bot B's check read the samples and what was said while
 * web still ran on both hosts; before it records its repeat, bot A sees the end and says it. B's late repeat must not
 * bring back what A removed: the end would be said a second time, and the record of a split brain that ended stays.
 */
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

const row = (name: string): DomainSample => domainSample(name);

describe('two bots watching, one says the end while the other repeats', () => {
  it('says the end once and leaves no record of the split brain behind', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const samples = new SampleStore(redis, prefix);
    const events = new FleetEventLog(redis, prefix);
    let at = 1_000;
    const sample = async (xen1: DomainSample[], xen2: DomainSample[]) => {
      at += 1_000;
      await samples.putLatest({ host: 'xen1', at, intervalSeconds: 1, domains: xen1 }, 60_000);
      await samples.putLatest({ host: 'xen2', at, intervalSeconds: 1, domains: xen2 }, 60_000);
    };
    const deps = (ev: SplitBrainWatchDeps['events']): SplitBrainWatchDeps => ({
      hosts: ['xen1', 'xen2'],
      samples,
      events: ev,
      uuidOf: () => null,
      intervalMs: 1_000,
      // Due again at B's check: the cool-down has passed.
      repeatMs: 1,
      logger: createLogger('silent'),
    });
    const a = new SplitBrainWatch(deps(events));
    // B's check stops after reading what was said, until let go: the instant A says the end.
    let readSaid!: () => void;
    const bRead = new Promise<void>((r) => {
      readSaid = r;
    });
    let letGo!: () => void;
    const gate = new Promise<void>((r) => {
      letGo = r;
    });
    const b = new SplitBrainWatch(
      deps({
        append: (e) => events.append(e),
        sayRunningTwice: (...a) => events.sayRunningTwice(...a),
        sayRunningOnce: (k) => events.sayRunningOnce(k),
        moveRunningTwice: (...a) => events.moveRunningTwice(...a),
        runningTwiceSaid: async () => {
          const said = await events.runningTwiceSaid();
          readSaid();
          await gate;
          return said;
        },
      }),
    );

    await sample([row('web')], [row('web')]);
    await a.check();
    await sample([row('web')], [row('web')]);
    await a.check();
    await new Promise((r) => setTimeout(r, 5));
    const bCheck = b.check();
    await bRead;
    // The copy on xen2 is stopped: A sees it in two later samples and says the end.
    await sample([row('web')], []);
    await a.check();
    await sample([row('web')], []);
    await a.check();
    letGo();
    await bCheck;
    // Later checks of both, samples unchanged.
    for (let i = 0; i < 3; i++) {
      await sample([row('web')], []);
      await a.check();
      await b.check();
    }
    const kinds = (await events.since(0)).map((e) => (e.kind === 'domain.running-twice' && e.repeat ? 'repeat' : e.kind));
    expect({ kinds, record: await redis.hgetall(`${prefix}:running-twice`) }).toEqual({
      kinds: ['domain.running-twice', 'domain.running-once'],
      record: {},
    });
  });
});
