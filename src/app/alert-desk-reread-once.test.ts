import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertDesk, deskWaiter } from '../../test/helpers/alert-desk-scene.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../../test/helpers/redis.ts';
import { TcpProxy } from '../../test/helpers/tcp-proxy.ts';
import { createLogger } from '../core/log.ts';
import { FleetEventLog } from '../queue/fleet-events.ts';
import { replaceSilentConnection } from '../queue/silent-connection.ts';
import type { AlertDesk } from './alert-desk.ts';

/**
 * The bot's flows forgotten (a NAT, a firewall) in the middle of a read: the alert goes out, its "sent" record on the
 * bot's connection times out (ignored), the read's XACK waits on the silent reader. When the bot replaces its
 * connections the desk re-reads its pending entries: the one it posted must not be posted again. Real Redis behind a
 * proxy, a prefix of its own; the bot's part (its own connection replaced, then the desk's) played by the test.
 */
const prefix = uniquePrefix();
const COMMAND_TIMEOUT_MS = 500;

let proxy: TcpProxy;
let direct: Redis;
/** The bot's own connection, behind the proxy, with the command timeout the bot gives it. */
let main: Redis;
let desk: AlertDesk;
const posted: string[] = [];
const { wake, until } = deskWaiter(posted);
/** Called at the first post: the flows die while it is out. */
let onPost: (() => void) | null = null;

beforeAll(async () => {
  proxy = TcpProxy.forUrl(REDIS_URL);
  await proxy.start();
  direct = new Redis(REDIS_URL);
  main = new Redis(proxy.url, { commandTimeout: COMMAND_TIMEOUT_MS });
  desk = alertDesk({
    target: proxy.url,
    redis: main,
    prefix,
    posted,
    wake,
    beforePost: () => {
      const fire = onPost;
      onPost = null;
      fire?.();
    },
    logger: createLogger('debug', {
      write() {},
    }),
  });
  await desk.start();
});

afterAll(async () => {
  await desk?.stop();
  main?.disconnect();
  await proxy?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
  direct?.disconnect();
});

describe('the desk re-reading its pending entries after its reader was replaced', () => {
  it('THEN an alert posted while the flows died (its sent record and ack lost) is not posted again', async () => {
    const log = new FleetEventLog(direct, prefix);
    onPost = () => proxy.freezeOpen('both');
    // The first XACK is the read's with the posted entry in it (a read of nothing acks nothing).
    const ackSent = proxy.freezeAt((d) => /XACK/i.test(d.toString('latin1')), 'both');
    const id = await log.append({ kind: 'domain.crashed', host: 'xen1', domain: 'web', uuid: null, byXenops: false, at: Date.now() });
    await until(() => posted.length === 1, 10_000, 'the first post');
    // The read's ack is sent once the sent record, frozen too, has timed out.
    await ackSent;
    const sentKey = `${prefix}:alert-sent:${id}:xen1:web`;
    expect(await main.hgetall(sentKey).catch((e: Error) => e.message)).toBe('Command timed out');
    // Redis never had the post recorded.
    expect(await direct.exists(sentKey)).toBe(0);
    const pending = (await direct.xpending(log.key, 'alerts', '-', '+', 10)) as [string, string, number, number][];
    expect(pending.map((p) => p[0])).toEqual([id]);
    // Only an XACK sent from now on (on the new reader) counts: the desk is done with the re-read entry then.
    const acked = proxy.replied((d) => /XACK/i.test(d.toString('latin1')));
    // The bot found its connection silent: it replaces it, then the listeners (bot.ts).
    replaceSilentConnection(main);
    desk.replaceSilentConnection();
    await acked;
    expect(((await direct.xpending(log.key, 'alerts')) as [number])[0]).toBe(0);
    expect(posted).toEqual(['web crashed on xen1']);
  }, 30_000);
});
