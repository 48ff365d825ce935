import type { RedisOptions } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, type RedisClient } from '../../src/queue/redis-connection.ts';
import { replaceSilentConnection } from '../../src/queue/silent-connection.ts';
import { uniquePrefix } from '../helpers/redis.ts';
import { type RedisClusterHandle, startRedisCluster } from '../helpers/redis-cluster.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * A Cluster client whose node connections all go silent while open (a NAT or firewall in front of the cluster that
 * forgot them) is replaced in place by replaceSilentConnection: the commands still waiting on the old connections are
 * rejected as timed out and never run later, and the same client answers again on every master within seconds.
 *
 * Each master sits behind a TcpProxy and announces the proxy's port (cluster-announce-port, as a cluster behind NAT
 * is set up), so the client finds only proxied addresses, whether from the seeds or from CLUSTER SLOTS. The cluster
 * bus keeps its own ports: the masters go on seeing each other while their clients see nothing.
 */
const COMMAND_TIMEOUT_MS = 500;
let cluster: RedisClusterHandle;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await startRedisCluster();
  for (const url of cluster.urls) {
    const proxy = TcpProxy.forUrl(url);
    await proxy.start();
    proxies.push(proxy);
  }
  await Promise.all(proxies.map((p, i) => cluster.node(i).config('SET', 'cluster-announce-port', String(p.port))));
  // Every master's map of the slots names the proxies once the new ports have gone round by gossip.
  const proxied = proxies.map((p) => p.port).sort();
  const announced = async () => {
    const maps = await Promise.all(
      [0, 1, 2].map((i) => cluster.node(i).call('CLUSTER', 'SLOTS') as Promise<[number, number, [string, number]][]>),
    );
    return maps.map((ranges) => ranges.map((r) => r[2][1]).sort());
  };
  const want = JSON.stringify([proxied, proxied, proxied]);
  const deadline = Date.now() + 15_000;
  while (JSON.stringify(await announced()) !== want) {
    if (Date.now() > deadline) throw new Error(`the masters did not announce the proxies' ports: ${JSON.stringify(await announced())}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await cluster?.stop();
}, 30_000);

/**
 * A key of its own (hash tag) on each master, in master order. By the ports CLUSTER SLOTS names, the proxies' now
 * (the helper's ownerOf looks for the masters' own).
 */
async function keyPerMaster(tag: string): Promise<string[]> {
  const ranges = (await cluster.node(0).call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const keys: (string | undefined)[] = [undefined, undefined, undefined];
  for (let n = 0; keys.includes(undefined); n++) {
    const key = `{${tag}-${n}}`;
    const slot = Number(await cluster.node(0).call('CLUSTER', 'KEYSLOT', key));
    const port = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
    keys[proxies.findIndex((p) => p.port === port)] ??= key;
  }
  return keys as string[];
}

async function rejection(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'answered',
    (e: unknown) => (e instanceof Error ? e.message : String(e)),
  );
}

describe('replaceSilentConnection on a Redis Cluster whose node connections went silent', () => {
  // As the bot makes its own client (src/app/bot.ts), and as the agent does (src/agent/agent.ts).
  const bot: RedisOptions = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, commandTimeout: COMMAND_TIMEOUT_MS };
  const agent: RedisOptions = { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS };
  // `dropped`: the client's FIN is lost too, so each old node connection ends only when ioredis destroys it
  // (disconnectTimeout) and the Cluster reconnects after the last of them.
  it.each<[string, 'answered' | 'dropped', RedisOptions]>([
    ['the bot', 'answered', bot],
    ['the agent', 'answered', agent],
    ['the bot', 'dropped', bot],
    ['the agent', 'dropped', agent],
  ])(
    "a client made as %s's, closes %s: waiting commands rejected and never run; every master answers again",
    async (_who, closes, options) => {
      const tag = uniquePrefix().slice(1, -1);
      const keys = await keyPerMaster(tag);
      const markers = await keyPerMaster(`${tag}-never`);
      const target = { url: proxies[0]?.url as string, cluster: true, nodes: proxies.map((p) => p.url) };
      const redis: RedisClient = createRedisClient(target, options);
      try {
        if (redis.status === 'wait') await redis.connect();
        for (const key of keys) expect(await redis.set(key, 'before')).toBe('OK');
        expect(proxies.every((p) => p.connections > 0)).toBe(true);

        for (const p of proxies) p.freezeOpen('both', { closes });
        expect(await rejection(redis.get(keys[0] as string))).toBe('Command timed out');
        // Sent on the silent connections and still waiting when they are replaced.
        const waiting = markers.map((key) => rejection(redis.set(key, 'late')));
        replaceSilentConnection(redis);
        expect(await Promise.all(waiting)).toEqual(['Command timed out', 'Command timed out', 'Command timed out']);

        const t0 = Date.now();
        const everyMaster = () => Promise.all(keys.map((k) => redis.get(k).catch((e: Error) => e.message)));
        await expect.poll(everyMaster, { timeout: 5_000, interval: 100 }).toEqual(['before', 'before', 'before']);
        for (const key of keys) expect(await redis.set(key, 'after')).toBe('OK');
        expect(Date.now() - t0).toBeLessThan(5_000);
        expect(redis.status).toBe('ready');
        // The old connections, their FIN lost, are still open at the proxies beside the new ones.
        if (closes === 'dropped') expect(proxies.map((p) => p.connections >= 2)).toEqual([true, true, true]);

        // A write resent on the new connections would have landed by now, ahead of the commands that followed it there.
        for (const [i, key] of markers.entries()) expect(await cluster.node(i).exists(key)).toBe(0);
        for (const [i, key] of keys.entries()) expect(await cluster.node(i).get(key)).toBe('after');
      } finally {
        redis.disconnect();
        for (const p of proxies) p.heal();
        for (const [i, key] of [...keys.entries(), ...markers.entries()]) await cluster.node(i).del(key);
      }
    },
    30_000,
  );
});
