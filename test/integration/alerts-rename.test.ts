import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetEventLog } from '../../src/queue/fleet-events.ts';
import { sampled, startAlertsStack } from '../helpers/alerts-stack.ts';
import type { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import type { TestStack } from '../helpers/stack.ts';

/**
 * `xl rename web www` by hand, end to end: the agent's sampler sees web go from xentop and www come (the same domain:
 * its domain id and UUID stay), and the bot's alert channel is told once that web was renamed www — not that web
 * stopped (its config file web.cfg stays, listed as defined) and a guest never seen, www, appeared.
 */
let stack: TestStack;
let adapter: CaptureAdapter;

beforeAll(async () => {
  ({ stack, adapter } = await startAlertsStack());
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const titles = () => adapter.delivered.filter((d) => d.target.channelId === 'alerts').map((d) => d.reply.title);

describe('a guest renamed outside xenops', () => {
  it('is one alert, "web was renamed www on xen1", not a stop and an appearance', async () => {
    await sampled(stack, 'xen1');
    const xen1 = stack.sim.fleet.host('xen1');
    const web = xen1.domains.find((d) => d.name === 'web');
    if (!web) throw new Error('no web on xen1');
    const { id, uuid } = web;
    // What xl rename does: the name changes in xenstore; the domain, its id and UUID stay.
    web.name = 'www';
    await adapter.until(() => titles().some((t) => /\bwww\b/.test(t)), 20_000, 'an alert about www');
    // A later event, its alert after anything said of web or www (the settle wait of a stop or appearance is over).
    const redis = new Redis(REDIS_URL);
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      await new FleetEventLog(redis, stack.prefix).append({
        kind: 'domain.crashed',
        host: 'xen2',
        domain: 'files',
        uuid: null,
        byXenops: false,
        at: Date.now(),
      });
      await adapter.until(() => titles().includes('files crashed on xen2'), 20_000, 'the sentinel alert');
      expect(titles().filter((t) => /\bwebs?\b|\bwww\b/.test(t))).toEqual(['web was renamed www on xen1']);
      expect(xen1.domains.find((d) => d.name === 'www')).toMatchObject({ id, uuid });
      const sample = JSON.parse((await redis.get(`${stack.prefix}:sample:xen1`)) ?? '{}') as { domains?: { name: string }[] };
      expect(sample.domains?.map((d) => d.name)).toContain('www');
      expect(sample.domains?.map((d) => d.name)).not.toContain('web');
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
