import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { alertDesk, deskWaiter } from '../../test/helpers/alert-desk-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import type { AlertDesk } from './alert-desk.ts';

/**
 * An entry whose XACK reached Redis but whose answer was lost (the desk's reader went silent) is remembered as done,
 * so that read again it is acked rather than posted twice. Remembered for an hour only: by then another bot has long
 * claimed and handled one never read here again. Real Redis, the desk's reader behind a proxy; the clock the desk
 * reads (Date) is the test's, moved past the hour; its timers are real.
 */
const prefix = uniquePrefix();
const HOUR_MS = 3_600_000;
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const xack = (d: Buffer) => /XACK/i.test(d.toString('latin1'));

let proxy: TcpProxy;
let direct: Redis;
let desk: AlertDesk;
const posted: string[] = [];
const { wake, until } = deskWaiter(posted);

beforeAll(async () => {
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  direct = new Redis(REDIS_URL);
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(T0);
  desk = alertDesk({ target: proxy.url, redis: direct, prefix, posted, wake });
  await desk.start();
});

afterAll(async () => {
  vi.useRealTimers();
  await desk?.stop();
  await proxy?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  direct?.disconnect();
});

/**
 * A crash of `domain` posted, its XACK's answer lost on the reader (the ack itself reaches Redis), its "sent" record
 * lost too (written on the bot's connection that went silent with it): the desk, its reader replaced, remembers the
 * entry as done but not acked, from the clock's time now.
 */
async function postedAckLost(log: FleetEventLog, domain: string): Promise<void> {
  const ackSent = proxy.freezeAt(xack, 'both');
  const id = await log.append({ kind: 'domain.crashed', host: 'xen1', domain, uuid: null, byXenops: false, at: Date.now() });
  const title = `${domain} crashed on xen1`;
  await until(() => posted.includes(title), 10_000, `the post of ${title}`);
  await ackSent;
  // The record is written before the ack is sent.
  await direct.del(`${prefix}:alert-sent:${id}:xen1:${domain}`);
  const reads = proxy.countSent(/XREADGROUP/i);
  desk.replaceSilentConnection();
  // Its read again comes after the lost ack has failed in the desk (and after the pause that follows).
  await expect.poll(reads, { timeout: 10_000, interval: 20 }).toBeGreaterThan(0);
}

describe('the entries the desk is done with whose ack was lost', () => {
  it('GIVEN one remembered over an hour ago and one 21 min ago THEN read again, the first is posted again, the second acked', async () => {
    const log = new FleetEventLog(direct, prefix);
    await postedAckLost(log, 'web');
    vi.setSystemTime(T0 + 40 * 60_000);
    await postedAckLost(log, 'db');
    expect(posted).toEqual(['web crashed on xen1', 'db crashed on xen1']);
    vi.setSystemTime(T0 + HOUR_MS + 60_000);
    // What is an hour old is forgotten at the desk's next ack, after a read: two reads from now, one ack has run.
    const reads = proxy.countSent(/XREADGROUP/i);
    await expect.poll(reads, { timeout: 10_000, interval: 20 }).toBeGreaterThanOrEqual(2);
    // Both entries read again (a group moved back: the same as a claim or a re-read hands them over).
    const acked = proxy.replied(xack);
    await direct.xgroup('SETID', log.key, 'alerts', '0');
    await acked;
    // web's memory is gone: with no "sent" record it is posted again. db's is kept: acked, not posted twice.
    expect(posted).toEqual(['web crashed on xen1', 'db crashed on xen1', 'web crashed on xen1']);
    expect(((await direct.xpending(log.key, 'alerts')) as [number])[0]).toBe(0);
  }, 60_000);
});
