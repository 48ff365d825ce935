import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/** /status from an agent whose config turns the live sampling off (`sampling.enabled: false`). */

const prefix = uniquePrefix();
let env: SimEnv;
let agent: Agent;
let bot: Bot;
const adapter = new CaptureAdapter('terminal');

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 2, running: true }] } } },
    timeScale: 0.05,
  });
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: { admin: { allow: ['*'] } },
    people: { alice: { roles: ['admin'], identities: { terminal: 'alice' } } },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000 },
    approvals: { enabled: false },
    sampling: { enabled: false },
  });
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await agent?.close(2_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const texts = (r: Reply) => r.blocks.flatMap((b) => (b.type === 'text' ? [b.text] : []));

describe('/status when the agents do not sample', () => {
  it('GIVEN sampling.enabled false THEN it says sampling is off, never that the agents sample every few seconds', async () => {
    const req = chatRequest('status-sampling-off-1', 'status', 'alice');
    await bot.core.handle(req, targetOf(req));
    const r = await adapter.finalReply(req.id);
    expect(texts(r)).toContain('No live CPU samples: sampling is off in the agent’s config (sampling.enabled).');
    expect(texts(r).join('\n')).not.toContain('every few seconds');
  }, 30_000);
});
