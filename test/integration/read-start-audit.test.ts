import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import { hostQueueName, jobIdFor } from '../../src/queue/names.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, seemServed, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

/**
 * A read's start is not on record (README, Audit): agents no longer announce it. An agent of the version before does,
 * for every read it takes, while a fleet is upgraded bot first — and so does any script that still hands a read out
 * announced.
 */

const prefixes: string[] = [];
let env: SimEnv;
let redis: Redis;

async function auditEvents(prefix: string, requestId: string): Promise<string[]> {
  const entries = await redis.xrange(`${prefix}:audit`, '-', '+');
  return entries
    .map(([, f]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) o[f[i] as string] = f[i + 1] as string;
      return o;
    })
    .filter((e) => e['requestId'] === requestId)
    .map((e) => e['event'] as string);
}

beforeAll(async () => {
  env = await startSimEnv({ timeScale: 0.05 });
  redis = new Redis(REDIS_URL);
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

describe("a read's start announced by an agent of the version before", () => {
  it('is not audited: the trail of a /list is its request, decision and outcome whichever agent ran it', async () => {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const config = simBotConfig(env, prefix, REDIS_URL);
    // No agent yet: a heartbeat says one is alive, so the job is queued and waits.
    await seemServed(redis, prefix, ['xen1']);
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    let agent: Agent | null = null;
    try {
      await bot.start();
      const r = chatRequest('old-agent-read-1', 'list xen1');
      await bot.core.handle(r, targetOf(r));
      // As BullMQ's own moveToActive writes it when an agent of the version before takes the job.
      await redis.xadd(
        `${prefix}:${hostQueueName('xen1')}:events`,
        '*',
        'event',
        'active',
        'jobId',
        jobIdFor(r.id, 'xen1'),
        'prev',
        'waiting',
      );
      agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
      expect(await adapter.finalReply(r.id)).toMatchObject({ kind: 'result', tone: 'success' });
      // The outcome is the request's last entry, written after the start event was read (it came first in the stream).
      await expect.poll(async () => (await auditEvents(prefix, r.id)).includes('job.outcome'), { timeout: 10_000 }).toBe(true);
      expect((await auditEvents(prefix, r.id)).sort()).toEqual(['decision', 'job.outcome', 'request']);
    } finally {
      await bot.stop();
      await agent?.close(1_000);
    }
  }, 30_000);
});
