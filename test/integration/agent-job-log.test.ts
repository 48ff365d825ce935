import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { createLogger } from '../../src/core/log.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

const prefix = uniquePrefix();
const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

let env: SimEnv;
let config: Config;
let agent: Agent;

beforeAll(async () => {
  env = await startSimEnv({ shutdownDelayMs: 1500, timeScale: 0.1 });
  config = simBotConfig(env, prefix, REDIS_URL);
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: createLogger('info', sink) });
}, 30_000);

afterAll(async () => {
  await agent?.close(2_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe("the agent's line per job, at info", () => {
  it('is written for a mutation and not for a read (reads are counted in /metrics)', async () => {
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    try {
      for (const [id, text] of [
        ['log-1', 'list xen1'],
        ['log-2', 'start mail'],
      ] as const) {
        await bot.core.handle(chatRequest(id, text, 'alice'), targetOf(chatRequest(id, '')));
        expect(await adapter.finalReply(id)).toMatchObject({ kind: 'result', tone: 'success' });
      }
    } finally {
      await bot.stop();
    }
    const done = lines.filter((l) => l['msg'] === 'job done');
    expect(done.map((l) => l['op'])).toEqual(['domain.start']);
    expect(done[0]).toMatchObject({ host: 'xen1', person: 'alice' });
  });
});
