import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent } from '../../src/agent/agent.ts';
import type { RemoteRunner } from '../../src/agent/ssh/types.ts';
import { createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * Redis connections do not grow with the fleet: a bot serving 300 hosts holds as many as one serving 2 (one
 * shared connection for every host queue, one blocking read of every queue's events), and so does an agent (one
 * shared connection for every host's worker, one blocking wait on every queue's wake-up marker). Counted on a
 * private Redis, where no other test's clients can be mistaken for the bot's or the agent's.
 */
let redis: PrivateRedis;
let admin: Redis;
beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = new Redis(redis.url);
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

function fleetConfig(hosts: number): Config {
  const entries = Array.from({ length: hosts }, (_, i) => [
    `h${i}`,
    // Nothing listens there and no agent serves them: only the bot's own connections are counted.
    { address: '127.0.0.1', port: 1, privateKey: 'unused', hostKey: `SHA256:${'A'.repeat(43)}` },
  ]);
  return Config.parse({
    redis: { url: redis.url, prefix: `{conn-${hosts}}` },
    hosts: Object.fromEntries(entries),
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: `/tmp/xenops-conn-${hosts}-${process.pid}.jsonl` },
    bot: { fleetRefreshMs: 600_000 },
    sampling: { enabled: false },
    approvals: { enabled: false },
  });
}

const clients = async () =>
  String(await admin.client('LIST'))
    .trim()
    .split('\n').length;

async function connectionsOf(hosts: number): Promise<number> {
  // The previous bot's connections close asynchronously: start from the test's own connection alone.
  await expect.poll(clients, { timeout: 10_000 }).toBe(1);
  const before = await clients();
  const bot = await createBot({ config: fleetConfig(hosts), redis: redis.url, logger: quietLogger, adapters: [new CaptureAdapter()] });
  await bot.start();
  try {
    return (await clients()) - before;
  } finally {
    await bot.stop();
  }
}

/** No host is ever asked anything: no job is queued and sampling is off. */
const unusedRunner: RemoteRunner = {
  run: () => Promise.reject(new Error('no host is asked anything in this test')),
} as unknown as RemoteRunner;

async function agentConnectionsOf(hosts: number): Promise<number> {
  await expect.poll(clients, { timeout: 10_000 }).toBe(1);
  const before = await clients();
  const config = fleetConfig(hosts);
  const agent = await startAgent({ config, runner: unusedRunner, connection: redis.url, prefix: config.redis.prefix, logger: quietLogger });
  try {
    return (await clients()) - before;
  } finally {
    await agent.close();
  }
}

describe('Redis connections', () => {
  it.each([
    ['a bot', connectionsOf],
    ['an agent', agentConnectionsOf],
  ])(
    'of %s are the same for 2 hosts and for 300, and at most 10',
    async (_, connections) => {
      const small = await connections(2);
      const large = await connections(300);
      expect(large).toBe(small);
      expect(large).toBeLessThanOrEqual(10);
    },
    60_000,
  );
});
