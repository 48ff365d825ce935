import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../src/agent/agent.ts';
import { createBot } from '../src/app/bot.ts';
import type { Config } from '../src/config/schema.ts';
import { formatTable, type Reply } from '../src/core/reply.ts';
import { CaptureAdapter } from '../test/helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../test/helpers/redis.ts';
import { chatRequest, targetOf } from '../test/helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../test/helpers/sim.ts';

/**
 * An xm host with an xend-managed domain that does not run (`xm new vm1`): `xm uptime` lists every domain xend has,
 * that one with a blank ID and an uptime of 0 (X@4.1 xm/main.py xm_uptime; shared/xen-toolstack.md §1.2, §1.6).
 */
let env: SimEnv;
let bot: Awaited<ReturnType<typeof createBot>>;
let agent: Agent;
const adapter = new CaptureAdapter();
const prefix = uniquePrefix();

beforeAll(async () => {
  env = await startSimEnv({
    timeScale: 0.05,
    fleet: {
      hosts: {
        old: {
          toolstack: 'xm',
          domains: [
            { name: 'web', memoryMiB: 1024, vcpus: 1, running: true },
            { name: 'vm1', memoryMiB: 512, vcpus: 1, running: false, xendManaged: true },
          ],
        },
      },
    },
  });
  const base = simBotConfig(env, prefix, REDIS_URL);
  const config: Config = {
    ...base,
    hosts: { old: { ...base.hosts['old'], toolstack: 'xm' } as Config['hosts'][string] },
    sampling: { ...base.sampling, enabled: false },
  };
  bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  await bot.start();
}, 30_000);

afterAll(async () => {
  await bot?.stop();
  await agent?.close(1_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const text = (r: Reply) => r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : 'text' in b ? b.text : '')).join('\n');

async function ask(id: string, command: string): Promise<Reply> {
  const r = chatRequest(id, command);
  await bot.core.handle(r, targetOf(r));
  return adapter.finalReply(r.id);
}

describe('/uptime on an xm host with an xend-managed domain that does not run', () => {
  it('lists the running domains and no unreadable line for the inactive one', async () => {
    const reply = await ask('xm-uptime-managed-1', 'uptime old');
    const body = text(reply);
    expect(body).not.toContain('could not read');
    expect(reply.tone).toBe('success');
    expect(body).toMatch(/old\s+web\s+1\s/);
    // Not running: no uptime to show (xm's `0:00:00` for it is no uptime).
    expect(body).not.toMatch(/vm1/);
  });
});
