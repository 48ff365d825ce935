import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { createLogger } from '../core/log.ts';
import { DomainLocks } from '../queue/coordination.ts';
import { type FleetEvent, FleetEventLog } from '../queue/fleet-events.ts';
import { SampleStore } from '../queue/samples.ts';
import { Sampler } from './sampler.ts';
import type { RemoteRunner } from './ssh/types.ts';

/** The sampler's fleet events when Redis refuses one (real Redis; the refusal is the one fault injected). */
const prefix = uniquePrefix();
const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  redis.disconnect();
});

/** The fleet events on real Redis, whose first `refusals` appends fail as they do while Redis restarts. */
class RefusingLog extends FleetEventLog {
  constructor(private refusals: number) {
    super(redis, prefix);
  }
  override async append(event: FleetEvent): Promise<string> {
    if (this.refusals > 0) {
      this.refusals--;
      throw new Error('Connection is closed.');
    }
    return super.append(event);
  }
}

/** A host whose sshd does not answer: every xentop poll fails to connect. */
const unreachableHost: RemoteRunner = {
  run: async () => {
    throw new Error('connect ETIMEDOUT 10.0.0.9:22');
  },
};

describe('a fleet event Redis refused', () => {
  it('is appended once Redis takes it: a host said unreachable during a Redis blip is not left unsaid for good', async () => {
    const events = new RefusingLog(1);
    const t0 = Date.now() - 1;
    const sampler = new Sampler(
      {
        hosts: ['xen9'],
        intervalSeconds: 1,
        historyEverySeconds: 1,
        historyHours: 1,
        unreachableAfterFailures: 2,
        restartBaseMs: 20,
        restartMaxMs: 50,
      },
      {
        runner: unreachableHost,
        samples: new SampleStore(redis, prefix),
        events,
        locks: new DomainLocks(redis, prefix),
        list: async () => [],
        logger: createLogger('silent'),
      },
    );
    sampler.start();
    try {
      await expect
        .poll(async () => (await events.since(t0)).map((e) => `${e.kind} ${e.host}`), { timeout: 8_000 })
        .toEqual(['host.unreachable xen9']);
    } finally {
      await sampler.close();
    }
    // Said once, not again at each failed start.
    expect((await events.since(t0)).length).toBe(1);
  }, 15_000);
});
