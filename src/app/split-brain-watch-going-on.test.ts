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
 * A split brain taken as another going on (a copy renamed) only when it can be: on real Redis, with the watch's
 * checks called as its timer would.
 */
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

const HOSTS = ['xen1', 'xen2', 'xen3', 'xen4'];
const U1 = '11111111-1111-1111-1111-111111111111';
const U2 = '22222222-2222-2222-2222-222222222222';
const row = (name: string): DomainSample => domainSample(name);

describe('a split brain elsewhere sharing only a name with one said', () => {
  it('is no rename of it: the said one ends, the other begins', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const samples = new SampleStore(redis, prefix);
    const events = new FleetEventLog(redis, prefix);
    // The bot has heard no host list yet: no UUID known.
    let uuids: Record<string, string> = {};
    const watch = new SplitBrainWatch({
      hosts: HOSTS,
      samples,
      events,
      uuidOf: (host, name) => uuids[`${host}:${name}`] ?? null,
      intervalMs: 1_000,
      repeatMs: 60_000,
      logger: createLogger('silent'),
      now: () => 5_000_000,
    });
    let at = 1_000;
    const sample = async (byHost: Record<string, DomainSample[]>) => {
      at += 1_000;
      for (const host of HOSTS) await samples.putLatest({ host, at, intervalSeconds: 1, domains: byHost[host] ?? [] }, 60_000);
    };
    for (let i = 0; i < 2; i++) {
      await sample({ xen1: [row('web')], xen2: [row('web')] });
      await watch.check();
    }
    // The lists are heard: xen1's web is U1. xen2's copy is destroyed; on xen3 and xen4 another guest (U2) runs twice,
    // its xen4 copy renamed: no copy, host or UUID in common with the split brain said, only the name web.
    uuids = { 'xen1:web': U1, 'xen3:web': U2, 'xen4:webx': U2 };
    for (let i = 0; i < 3; i++) {
      await sample({ xen1: [row('web')], xen3: [row('web')], xen4: [row('webx')] });
      await watch.check();
    }
    const said = (await events.since(0)).map((e) => alertFor(e)?.reply.title);
    expect(said).toEqual([
      'web is running on xen1 and xen2 at once',
      'web / webx is running on xen3 and xen4 at once',
      'web runs on xen1 only again',
    ]);
  });
});
