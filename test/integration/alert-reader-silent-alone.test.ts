import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertDesk } from '../../src/app/alert-desk.ts';
import { createLogger } from '../../src/core/log.ts';
import { type FleetEvent, FleetEventLog } from '../../src/queue/fleet-events.ts';
import { alertDesk, deskWaiter } from '../helpers/alert-desk-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * Only the alert desk's reader forgotten by a NAT or firewall (both ways, the connection left open), while the bot's
 * own connection answers: nothing that judges the bot's connection ever fires, so the desk's
 * replaceSilentConnection() is never called. Before the reader had a watchdog of its own, its command never answered
 * nor failed until TCP gave up (some 15 minutes), and no alert was posted meanwhile. Real Redis: the reader behind a
 * proxy, the bot's connection and the test's appends direct; a prefix per test.
 */
const READ_BLOCK_MS = 2_000;
const WATCHDOG_GRACE_MS = 2_000;
/** A read's block, its watchdog's grace, a reconnect and a post, with room for a loaded CI box. */
const BOUND_MS = READ_BLOCK_MS + WATCHDOG_GRACE_MS + 4_000;

let proxy: TcpProxy;
let direct: Redis;
let desk: AlertDesk;
let prefix: string;
let log: FleetEventLog;
let posted: string[];
let lines: Record<string, unknown>[];
let until: ReturnType<typeof deskWaiter>['until'];

beforeEach(async () => {
  prefix = uniquePrefix();
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  direct = new Redis(REDIS_URL);
  log = new FleetEventLog(direct, prefix);
  posted = [];
  lines = [];
  const waiter = deskWaiter(posted);
  until = waiter.until;
  desk = alertDesk({
    target: proxy.url,
    redis: direct,
    prefix,
    posted,
    wake: waiter.wake,
    logger: createLogger('debug', {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
        waiter.wake();
      },
    }),
  });
  await desk.start();
});

afterEach(async () => {
  await desk?.stop();
  await proxy?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  direct?.disconnect();
});

const crashed = (domain: string): FleetEvent => ({
  kind: 'domain.crashed',
  host: 'xen1',
  domain,
  uuid: null,
  byXenops: false,
  at: Date.now(),
});

/** Only the reader goes through the proxy: any of these commands is the reader's. */
const sent = (pattern: RegExp) => (d: Buffer) => pattern.test(d.toString('latin1'));
const blockingRead = (d: Buffer) => {
  const s = d.toString('latin1');
  return /XREADGROUP/i.test(s) && /BLOCK/i.test(s) && s.includes(`${prefix}:fleet-events`);
};

async function pendingFor(consumer: string): Promise<number> {
  const consumers = (await direct.xinfo('CONSUMERS', log.key, 'alerts')) as unknown[][];
  for (const c of consumers) {
    const f = Object.fromEntries(Array.from({ length: c.length / 2 }, (_, i) => [c[2 * i], c[2 * i + 1]]));
    if (f['name'] === consumer) return Number(f['pending']);
  }
  return 0;
}

describe("the alert desk's reader forgotten alone", () => {
  it('THEN an alert handed to the blocked read is posted within a bounded time, once, and acked', async () => {
    await proxy.freezeAt(blockingRead, 'both');
    const id = await log.append(crashed('web'));
    // Redis handed it to the blocked read (pending for this bot): its answer is what the flow lost.
    await expect.poll(() => pendingFor('bot-a')).toBe(1);
    const since = Date.now();
    await until(() => posted.length > 0, BOUND_MS, 'the alert, with only the reader silent');
    expect(Date.now() - since).toBeLessThan(BOUND_MS);
    // Said, at warn (pino's 40), naming the command that did not answer.
    expect(lines.find((l) => l['msg'] === 'alerts: the reader did not answer; reconnecting')).toMatchObject({ level: 40, command: 'read' });
    await expect.poll(() => direct.xpending(log.key, 'alerts').then((p) => (p as [number])[0])).toBe(0);
    // One more blocking read answered on the new connection: nothing of that entry is left to post again.
    await proxy.replied(blockingRead);
    expect(posted).toEqual(['web crashed on xen1']);
    expect(await direct.exists(`${prefix}:alert-sent:${id}:xen1:web`)).toBe(1);
  }, 30_000);

  it('THEN an ack whose answer is lost does not stop the desk: the next alert is posted, the acked one not again', async () => {
    // The read's ack after the first post is the first XACK (a read of nothing acks nothing); it reaches Redis.
    const ackFrozen = proxy.freezeAt(sent(/XACK/i), 'both');
    await log.append(crashed('web'));
    await until(() => posted.length === 1, BOUND_MS, 'the first alert');
    await ackFrozen;
    await log.append(crashed('mail'));
    await until(() => posted.length === 2, BOUND_MS, 'the alert after the lost ack');
    expect(lines.find((l) => l['msg'] === 'alerts: the reader did not answer; reconnecting')).toMatchObject({ command: 'ack' });
    await expect.poll(() => direct.xpending(log.key, 'alerts').then((p) => (p as [number])[0])).toBe(0);
    await proxy.replied(blockingRead);
    expect(posted).toEqual(['web crashed on xen1', 'mail crashed on xen1']);
  }, 30_000);
});
