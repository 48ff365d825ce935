import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import type { Reply } from '../core/reply.ts';
import type { FleetEvent } from '../queue/fleet-events.ts';
import { AlertDesk } from './alert-desk.ts';

/** The alert desk's cool-down on real Redis (a prefix of its own per desk); events handed to it as its stream reader does. */
const prefixes: string[] = [];
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  redis.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

const config = Config.parse({
  hosts: { xen1: { address: '10.0.0.1', privateKeyPath: '/k', hostKey: `SHA256:${'Q'.repeat(43)}` } },
  roles: { admin: { allow: ['*'] } },
  people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
  alerts: { channels: [{ platform: 'terminal', id: 'alerts' }], cooldownMinutes: 15 },
});

function desk() {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const posted: Reply[] = [];
  const d = new AlertDesk({
    config,
    target: REDIS_URL,
    redis,
    prefix,
    instance: 'bot-a',
    platforms: new Set(['terminal']),
    post: async (_platform, _channel, r) => {
      posted.push(r);
    },
    logger: createLogger('silent'),
  });
  let n = 0;
  const handle = (events: FleetEvent[]) =>
    events.reduce((p, event) => p.then(() => d.handle({ id: `${++n}-0`, event })), Promise.resolve());
  return { posted, handle };
}

describe('the alert cool-down', () => {
  it('holds the same alert again, but never a change: a host down, up and down again is last said to be down', async () => {
    const { posted, handle } = desk();
    const t = Date.now();
    await handle([
      { kind: 'host.unreachable', host: 'xen1', reason: 'connect ETIMEDOUT', at: t },
      { kind: 'host.unreachable', host: 'xen1', reason: 'connect ETIMEDOUT', at: t + 1_000 },
      { kind: 'host.reachable', host: 'xen1', at: t + 60_000 },
      // The sampler says this once per outage: the only word that xen1 is down again.
      { kind: 'host.unreachable', host: 'xen1', reason: 'connect ETIMEDOUT', at: t + 120_000 },
      { kind: 'domain.stopped', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t },
      { kind: 'domain.started', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t + 1_000 },
      { kind: 'domain.stopped', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t + 2_000 },
      { kind: 'domain.stopped', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t + 3_000 },
    ]);
    expect(posted.map((r) => r.title)).toEqual([
      'xen1 is unreachable',
      'xen1 is reachable again',
      'xen1 is unreachable',
      'web stopped on xen1',
      'web started on xen1',
      'web stopped on xen1',
    ]);
  });

  it('posts every event of a guest running on two hosts at once: neither the cool-down nor the flap limit holds it', async () => {
    const { posted, handle } = desk();
    const t = Date.now();
    const base = { host: 'xen1', hosts: ['xen1', 'xen2'], domain: 'web', names: ['web'], at: t };
    // Its watch bounds these itself (a start, a reminder per cool-down, an end): each is news.
    await handle([
      ...Array.from({ length: 3 }, (_, i): FleetEvent[] => [
        { ...base, kind: 'domain.running-twice', since: t, repeat: false, at: t + 2 * i },
        { ...base, kind: 'domain.running-once', runningOn: ['xen1'], at: t + 2 * i + 1 },
      ]).flat(),
      { ...base, kind: 'domain.running-twice', since: t, repeat: true, at: t + 10 },
    ]);
    expect(posted.map((r) => r.title)).toEqual([
      ...Array.from({ length: 3 }, () => ['web is running on xen1 and xen2 at once', 'web runs on xen1 only again']).flat(),
      'web is running on xen1 and xen2 at once',
    ]);
    expect(JSON.stringify(posted.at(-1)?.blocks)).toMatch(/Still so, since \d\d:\d\d:\d\d UTC/);
  });

  it('posts a flapping subject’s first changes, then says once that it flaps, naming the latest, and holds the rest', async () => {
    const { posted, handle } = desk();
    const t = Date.now();
    const flip = (i: number): FleetEvent =>
      i % 2 === 0
        ? { kind: 'domain.stopped', host: 'xen1', domain: 'mail', uuid: null, byXenops: false, at: t + i }
        : { kind: 'domain.started', host: 'xen1', domain: 'mail', uuid: null, byXenops: false, at: t + i };
    await handle(Array.from({ length: 8 }, (_, i) => flip(i)));
    const titles = posted.map((r) => r.title);
    expect(titles).toEqual([
      'mail stopped on xen1',
      'mail started on xen1',
      'mail stopped on xen1',
      'mail started on xen1',
      'mail on xen1 is flapping',
    ]);
    expect(JSON.stringify(posted.at(-1)?.blocks)).toMatch(
      /5 changes within 15 min; the latest: mail stopped on xen1\. Further changes of it are not posted until \d\d:\d\d UTC/,
    );
  });
});

/**
 * A change xenops made itself raises no alert, but it is a change of the subject all the same: the same alert after
 * it is news, not a repeat for the cool-down to hold.
 */
describe('an alert again after xenops changed its subject in between', () => {
  it('GIVEN web crashed, was started again through xenops, and crashed again 10 min later THEN both crashes are posted', async () => {
    const { posted, handle } = desk();
    const t = Date.now();
    await handle([
      { kind: 'domain.crashed', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t },
      { kind: 'domain.stopped', host: 'xen1', domain: 'web', uuid: null, byXenops: true, at: t + 60_000 },
      { kind: 'domain.started', host: 'xen1', domain: 'web', uuid: null, byXenops: true, at: t + 120_000 },
      { kind: 'domain.crashed', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t + 600_000 },
    ]);
    expect(posted.map((r) => r.title)).toEqual(['web crashed on xen1', 'web crashed on xen1']);
  });

  it('GIVEN web stopped by hand, started through xenops, and stopped by hand again THEN both stops are posted', async () => {
    const { posted, handle } = desk();
    const t = Date.now();
    await handle([
      { kind: 'domain.stopped', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t },
      { kind: 'domain.started', host: 'xen1', domain: 'web', uuid: null, byXenops: true, at: t + 60_000 },
      { kind: 'domain.stopped', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t + 120_000 },
    ]);
    expect(posted.map((r) => r.title)).toEqual(['web stopped on xen1', 'web stopped on xen1']);
  });

  it('GIVEN the same crash said twice with nothing between THEN it is still posted once', async () => {
    const { posted, handle } = desk();
    const t = Date.now();
    await handle([
      { kind: 'domain.crashed', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t },
      { kind: 'domain.crashed', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t + 5_000 },
    ]);
    expect(posted.map((r) => r.title)).toEqual(['web crashed on xen1']);
  });
});
