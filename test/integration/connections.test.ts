import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { quietLogger } from '../helpers/sim.ts';

/**
 * Redis connections do not grow with the fleet: a bot serving 300 hosts holds as many as one serving 2 (one
 * shared connection for every host queue, one blocking read of every queue's events). Counted on a private Redis,
 * where no other test's clients can be mistaken for the bot's.
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

describe('Redis connections per bot', () => {
  it('are the same for 2 hosts and for 300, and at most 10', async () => {
    const small = await connectionsOf(2);
    const large = await connectionsOf(300);
    expect(large).toBe(small);
    expect(large).toBeLessThanOrEqual(10);
  }, 60_000);
});
