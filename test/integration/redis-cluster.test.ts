import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditStream } from '../../src/app/audit.ts';
import { hostQueueName } from '../../src/queue/names.ts';
import { BullConnection, createRedisClient } from '../../src/queue/redis-connection.ts';
import { SharedClock } from '../../src/queue/shared-clock.ts';
import { clusterWithBotClient } from '../helpers/redis-cluster.ts';
import { type Conversation, conversation, startTerminalStack, type TerminalStack, type TestStack } from '../helpers/stack.ts';

/**
 * The whole stack (simulated fleet, agent, bot at a terminal) on a private three-master Redis Cluster, with
 * `redis.cluster: true` and nothing else changed: reads, mutations, approvals and scheduled posts run on it, and every
 * key of the run is in the one hash slot of its `{…}` prefix, on the one master that owns it. The seed node given as
 * `redis.url` does not own that slot: a client that were not in cluster mode would get MOVED for every key.
 */
const scene = clusterWithBotClient();
let t: TerminalStack;
let stack: TestStack;
let chat: Conversation;
const say = (line: string) => chat.say(line);
const printed = (re: RegExp, from = 0) => chat.printed(re, from);

const sent = (host: string, re: RegExp) => (stack.sim.hosts[host]?.commandLog ?? []).filter((c) => re.test(c)).length;

async function keysOf(node: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...page);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

beforeAll(async () => {
  const { cluster, prefix } = scene;
  t = await startTerminalStack(
    (c) => ({
      ...c,
      // Its first tick comes at once; the next ones not before the run ends (they would print between the replies).
      schedules: { board: { what: 'status', every: '1h', channel: { platform: 'terminal', id: 'ops' }, mode: 'post', as: 'alice' } },
    }),
    { redis: { url: cluster.urls[0] as string, cluster: true }, prefix },
  );
  chat = conversation(t);
  stack = t.stack;
  await printed(/First post of this schedule/);
}, 60_000);

afterAll(async () => {
  t?.input.end();
  await stack?.stop();
}, 30_000);

describe('the stack on a three-master Redis Cluster', () => {
  it('runs on the cluster: the config says so and the masters split the slots', async () => {
    const { cluster } = scene;
    expect(stack.config.redis).toMatchObject({ url: cluster.urls[0], cluster: true });
    const info = (await cluster.node(1).call('CLUSTER', 'INFO')) as string;
    expect(info).toMatch(/^cluster_state:ok/m);
    expect(info).toMatch(/^cluster_known_nodes:3/m);
  });

  it('answers a read', async () => {
    const list = await say('/list');
    expect(list).toMatch(/xen1\s+mail\s+-\s+defined \(not running\)/);
    expect(list).toMatch(/xen2\s+files\s+\d+\s+blocked/);
  });

  it('runs a mutation once: the host receives `xl create` exactly once', async () => {
    const started = await say('/start mail');
    expect(started).toContain('✔ mail started on xen1');
    expect(sent('xen1', /xl create .*mail\.cfg/)).toBe(1);
    expect(await say('/list xen1')).toMatch(/xen1\s+mail\s+\d+\s+blocked/);
    expect(sent('xen1', /xl create/)).toBe(1);
  });

  it('takes an approval (WATCH/MULTI on the cluster) and runs the approved stop once', async () => {
    const asked = await say('@alice /stop web --reason "cluster test"');
    const id = /Approval needed: .* — ([A-Z2-9]{6})/.exec(asked)?.[1] ?? '';
    expect(id).toMatch(/^[A-Z2-9]{6}$/);
    expect(sent('xen1', /\bshutdown\b/)).toBe(0);
    const mark = t.output().length;
    await say(`@bob /approve ${id}`);
    await printed(/✔ web shut down on xen1/, mark);
    expect(sent('xen1', /\bshutdown\b.*web/)).toBe(1);
    expect(await say(`@bob /approve ${id}`)).toContain(`ℹ ${id} was already approved`);
    expect(sent('xen1', /\bshutdown\b/)).toBe(1);
  });

  it('posts a config schedule from its BullMQ job scheduler on the cluster', async () => {
    expect(await printed(/✔ Fleet status\nFirst post of this schedule/)).toBeTruthy();
    const bull = new BullConnection(stack.config.redis);
    const queue = new Queue('xenops-schedules-terminal', { connection: bull.options, prefix: stack.prefix });
    try {
      expect((await queue.getJobSchedulers()).map((s) => s.key)).toContain('cfg-board');
    } finally {
      await queue.close();
      bull.close();
    }
  });

  it('chains the audit stream with the Lua script on the cluster, and `audit verify` reads it back intact', async () => {
    const redis = createRedisClient(stack.config.redis, { maxRetriesPerRequest: 1 });
    try {
      const report = await verifyAuditStream(redis, `${stack.prefix}:audit`);
      expect(report.broken).toBeNull();
      expect(report.entries).toBeGreaterThan(5);
    } finally {
      redis.disconnect();
    }
  });

  it("reads the shared clock on the master that owns the prefix's slot, so every process reads the same clock", async () => {
    const { cluster } = scene;
    const { index } = await cluster.ownerOf(stack.prefix);
    const others = [0, 1, 2].filter((i) => i !== index).map((i) => cluster.node(i));
    // Scripts (or a bare TIME) anywhere else: nothing of the run's is there, so no other caller adds to these.
    const scripts = async () =>
      Promise.all(
        others.map(async (n) => {
          const stats = (await n.info('commandstats')).match(/^cmdstat_(eval|evalsha|time):calls=(\d+)/gm) ?? [];
          return stats.join(',');
        }),
      );
    const ownerScripts = async () =>
      [...(await cluster.node(index).info('commandstats')).matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce(
        (n, m) => n + Number(m[1]),
        0,
      );
    const before = await scripts();
    const ownerBefore = await ownerScripts();
    const redis = createRedisClient(stack.config.redis, { maxRetriesPerRequest: 1 });
    const clock = new SharedClock(redis, `${stack.prefix}:clock`);
    try {
      for (let i = 0; i < 10; i++) await clock.read();
    } finally {
      redis.disconnect();
    }
    expect(await scripts()).toEqual(before);
    // …and they went to the owner (the stack's own scripts run there too: at least ten more).
    expect((await ownerScripts()) - ownerBefore).toBeGreaterThanOrEqual(10);
  });

  it('keeps every key of the run in the prefix’s one slot, on the master that owns it, and nothing elsewhere', async () => {
    const { cluster } = scene;
    const { index, slot } = await cluster.ownerOf(stack.prefix);
    expect(index).not.toBe(0);
    const owner = cluster.node(index);
    // The stack runs on (an audit batch goes up to audit.streamLingerMs later, a job's keys come and go): the run's keys,
    // everything the owner holds and everything in the prefix's slot are read until the three agree.
    let keys: string[] = [];
    await expect
      .poll(
        async () => {
          keys = await keysOf(owner, `${stack.prefix}*`);
          const held = await owner.dbsize();
          const inSlot = Number(await owner.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot)));
          return [held - keys.length, inSlot - keys.length];
        },
        { timeout: 5_000 },
      )
      .toEqual([0, 0]);
    expect(keys).toEqual(
      expect.arrayContaining([
        `${stack.prefix}:${hostQueueName('xen1')}:events`,
        `${stack.prefix}:${hostQueueName('xen1')}:completed`,
        `${stack.prefix}:${hostQueueName('xen2')}:events`,
        `${stack.prefix}:audit`,
        `${stack.prefix}:audit:head`,
        `${stack.prefix}:agents`,
      ]),
    );
    // Everything the owner holds is this run's, and all of it hashes to the prefix's slot.
    for (const key of keys.slice(0, 50)) expect(Number(await owner.call('CLUSTER', 'KEYSLOT', key))).toBe(slot);
    // The other two masters hold nothing at all.
    for (const other of [0, 1, 2].filter((i) => i !== index)) expect(await cluster.node(other).dbsize()).toBe(0);
  });
});
