import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { Config } from '../config/schema.ts';
import { createLogger } from '../core/log.ts';
import type { Reply } from '../core/reply.ts';
import { type FleetEvent, FleetEventLog } from '../queue/fleet-events.ts';
import { AlertDesk } from './alert-desk.ts';

/** Alerts lost, posted twice or out of order by the desk: real Redis, a prefix per test, the desk's own loop where it matters. */
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

/** A desk on a prefix of its own whose post fails while `failing` says so; `posted` resolves waiters as posts come. */
function desk(options: { retryMs?: number; channels?: string[] } = {}) {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  const posted: Reply[] = [];
  const postedTo: string[] = [];
  const waiters: { check: () => boolean; resolve: () => void }[] = [];
  const state = { failing: 0 };
  const d = new AlertDesk({
    config: options.channels
      ? { ...config, alerts: { ...config.alerts, channels: options.channels.map((id) => ({ platform: 'terminal' as const, id })) } }
      : config,
    target: REDIS_URL,
    redis,
    prefix,
    instance: 'bot-a',
    platforms: new Set(['terminal']),
    post: async (_platform, channel, r) => {
      if (state.failing > 0) {
        state.failing--;
        throw new Error('Discord answered 503');
      }
      posted.push(r);
      postedTo.push(channel);
      for (const w of waiters.filter((x) => x.check())) w.resolve();
    },
    logger: createLogger('silent'),
    ...(options.retryMs === undefined ? {} : { retryMs: options.retryMs }),
  });
  const until = (check: () => boolean, ms: number, what: string) =>
    check()
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; posted: ${posted.map((p) => p.title)}`)), ms);
          waiters.push({
            check,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
          });
        });
  return { d, prefix, posted, postedTo, state, until, log: new FleetEventLog(redis, prefix) };
}

const down = (at: number): FleetEvent => ({ kind: 'host.unreachable', host: 'xen1', reason: 'connect ETIMEDOUT', at });
const up = (at: number): FleetEvent => ({ kind: 'host.reachable', host: 'xen1', at });
const crashed = (domain: string, at: number): FleetEvent => ({
  kind: 'domain.crashed',
  host: 'xen1',
  domain,
  uuid: null,
  byXenops: false,
  at,
});

describe('alerts whose post failed', () => {
  it('posts a crash alert when it is handled again after its post failed (a 503, or adapters stopped on a lost lease)', async () => {
    const { d, posted, state } = desk();
    const entry = { id: '1700000000000-0', event: crashed('web', Date.now()) };
    state.failing = 1;
    await d.handle(entry);
    expect(posted).toEqual([]);
    // The entry was left pending; the next bot (or this one) claims it and handles it again.
    await d.handle(entry);
    expect(posted.map((r) => r.title)).toEqual(['web crashed on xen1']);
    // Handled once more (acked late): not posted twice.
    await d.handle(entry);
    expect(posted).toHaveLength(1);
  });

  it('posts again only to the channel that refused it, not to the one that had it', async () => {
    const { d, postedTo, state } = desk({ channels: ['ops', 'noc'] });
    const entry = { id: '1700000000001-0', event: crashed('api', Date.now()) };
    state.failing = 1; // ops refuses it, noc takes it
    await d.handle(entry);
    expect(postedTo).toEqual(['noc']);
    await d.handle(entry);
    expect(postedTo).toEqual(['noc', 'ops']);
  });

  it('gives up (acks) an alert no channel ever takes, rather than keep it pending for ever', async () => {
    const { d, log, state } = desk({ retryMs: 50 });
    state.failing = Number.POSITIVE_INFINITY;
    await d.start();
    try {
      await log.append(crashed('dns', Date.now()));
      // Ten tries ~50 ms apart (each after a blocking read of up to 2 s when nothing else comes): polled, 40 s at most.
      let pending = -1;
      let seen = false;
      for (let i = 0; i < 400 && !(seen && pending === 0); i++) {
        pending = ((await redis.xpending(log.key, 'alerts')) as [number])[0];
        seen ||= pending > 0;
        if (!(seen && pending === 0)) await new Promise((r) => setTimeout(r, 100));
      }
      expect(seen && pending === 0).toBe(true);
    } finally {
      await d.stop();
    }
  }, 60_000);

  it('the running desk tries a failed post again and acks it once posted', async () => {
    const { d, posted, state, until, log } = desk({ retryMs: 300 });
    await d.start();
    try {
      state.failing = 1;
      await log.append(crashed('db', Date.now()));
      await until(() => posted.length > 0, 8_000, 'the retried crash alert');
      expect(posted.map((r) => r.title)).toEqual(['db crashed on xen1']);
      // Acked once posted (no event says so: Redis is asked until it does, 5 s at most).
      let pending = -1;
      for (let i = 0; i < 100 && pending !== 0; i++) {
        pending = ((await redis.xpending(log.key, 'alerts')) as [number])[0];
        if (pending !== 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(pending).toBe(0);
    } finally {
      await d.stop();
    }
  });
});

describe('alerts handled out of stream order', () => {
  it('does not post a host as down again after it was said to be back, when the down event is handled once more', async () => {
    const { d, posted } = desk();
    const t = Date.now();
    await d.handle({ id: `${t}-0`, event: down(t) });
    await d.handle({ id: `${t + 20_000}-0`, event: up(t + 20_000) });
    // A dead leader's unacked "down" claimed 30 s later: it was posted already.
    await d.handle({ id: `${t}-0`, event: down(t) });
    expect(posted.map((r) => r.title)).toEqual(['xen1 is unreachable', 'xen1 is reachable again']);
  });

  it('posts a late "down" that nobody posted, saying it is late, and keeps "back" as the last word', async () => {
    const { d, posted } = desk();
    const t = Date.now();
    // The leader died holding the "down" before it handled it; the next one saw "back" first.
    await d.handle({ id: `${t + 20_000}-0`, event: up(t + 20_000) });
    await d.handle({ id: `${t}-0`, event: down(t) });
    expect(posted.map((r) => r.title)).toEqual(['xen1 is reachable again', 'xen1 is unreachable']);
    expect(JSON.stringify(posted[1]?.blocks)).toMatch(/late/i);
    // A later "down" is a change from "back": posted as news, not as late.
    await d.handle({ id: `${t + 60_000}-0`, event: down(t + 60_000) });
    expect(posted).toHaveLength(3);
    expect(JSON.stringify(posted[2]?.blocks)).not.toMatch(/late/i);
  });
});

describe('an event that cannot be handled', () => {
  it('does not hold up the events read with it', async () => {
    const { d, posted, until, log } = desk();
    await d.start();
    try {
      // One read takes both: 1e400 parses as Infinity, which no Date takes.
      await redis
        .multi()
        .xadd(log.key, '*', 'data', '{"kind":"host.unreachable","host":"xen1","reason":"x","at":1e400}')
        .xadd(log.key, '*', 'data', JSON.stringify(crashed('mail', Date.now())))
        .exec();
      await until(() => posted.some((r) => r.title === 'mail crashed on xen1'), 5_000, 'the crash read with the bad event');
      expect(posted.map((r) => r.title)).toEqual(['mail crashed on xen1']);
    } finally {
      await d.stop();
    }
  });
});

describe('a flapping notice a channel refused', () => {
  it('is posted to that channel when the event is handled again, not dropped nor swapped for the plain alert', async () => {
    const { d, posted, postedTo, state } = desk({ channels: ['ops', 'noc'] });
    const t = Date.now();
    const flip = (i: number): FleetEvent =>
      i % 2 === 0 ? crashed('web', t + i) : { kind: 'domain.started', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: t + i };
    // crashed, started, crashed, started: four changes, each posted to both channels.
    for (let i = 0; i < 4; i++) await d.handle({ id: `${t + i}-0`, event: flip(i) });
    expect(posted).toHaveLength(8);
    // The fifth change is the flapping notice: ops refuses it (a 503), noc takes it.
    const fifth = { id: `${t + 4}-0`, event: flip(4) };
    state.failing = 1;
    await d.handle(fifth);
    expect(postedTo.slice(8)).toEqual(['noc']);
    expect(posted.slice(8).map((r) => r.title)).toEqual(['web on xen1 is flapping']);
    // Handled again (claimed ~30 s later): ops gets the same notice, noc nothing twice.
    await d.handle(fifth);
    expect(postedTo.slice(8)).toEqual(['noc', 'ops']);
    expect(posted.slice(8).map((r) => r.title)).toEqual(['web on xen1 is flapping', 'web on xen1 is flapping']);
    expect(posted[9]?.blocks).toEqual(posted[8]?.blocks);
  });

  it('is posted when every channel refused it the first time, even after a change of another kind', async () => {
    const { d, posted, state } = desk();
    const t = Date.now();
    const events: FleetEvent[] = [
      crashed('api', t),
      { kind: 'domain.started', host: 'xen1', domain: 'api', uuid: null, byXenops: false, at: t + 1 },
      { kind: 'domain.stopped', host: 'xen1', domain: 'api', uuid: null, byXenops: false, at: t + 2 },
      { kind: 'domain.started', host: 'xen1', domain: 'api', uuid: null, byXenops: false, at: t + 3 },
      // The fifth change, of a kind not said before (no cool-down of its own yet).
      { kind: 'domain.vanished', host: 'xen1', domain: 'api', uuid: null, byXenops: false, at: t + 4 },
    ];
    for (let i = 0; i < 4; i++) await d.handle({ id: `${t + i}-0`, event: events[i] as FleetEvent });
    const fifth = { id: `${t + 4}-0`, event: events[4] as FleetEvent };
    state.failing = 1;
    await d.handle(fifth);
    await d.handle(fifth);
    expect(posted.map((r) => r.title)).toEqual([
      'api crashed on xen1',
      'api started on xen1',
      'api stopped on xen1',
      'api started on xen1',
      'api on xen1 is flapping',
    ]);
  });
});
