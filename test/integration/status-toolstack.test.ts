import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

/**
 * An xm host whose xend has died: sshd answers, every `xm list` / `xm info` says "Unable to connect to xend". The
 * host is reachable — it is its toolstack that is down.
 */
let env: SimEnv;
const prefix = uniquePrefix();

beforeAll(async () => {
  env = await startSimEnv({
    timeScale: 0.05,
    fleet: {
      hosts: {
        xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 1, running: true }] },
        xen2: { toolstack: 'xm', domains: [{ name: 'files', memoryMiB: 1024, vcpus: 1, running: true }] },
      },
    },
  });
}, 30_000);

afterAll(async () => {
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

const body = (r: Reply) => r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : 'text' in b ? b.text : '')).join('\n');

describe('/status on a host whose toolstack fails', () => {
  it('shows a host whose xend is down (SSH answers, xm list fails) as a toolstack error, not unreachable, and needing attention', async () => {
    const base = simBotConfig(env, prefix, REDIS_URL);
    const config: Config = {
      ...base,
      hosts: { ...base.hosts, xen2: { ...base.hosts['xen2'], toolstack: 'xm' } as Config['hosts'][string] },
      sampling: { ...base.sampling, enabled: false },
    };
    await env.sim.faults.add('xen2', {
      kind: 'fail',
      match: /\bxm (list|info)\b/,
      times: 0,
      code: 1,
      stderr: 'Error: Unable to connect to xend: Connection refused. Is xend running?\n',
    });
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    let agent: Agent | null = null;
    try {
      agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
      await bot.start();
      const r = chatRequest('status-xend-down-1', 'status');
      await bot.core.handle(r, targetOf(r));
      const final = await adapter.finalReply(r.id);
      const row = body(final)
        .split('\n')
        .find((l) => l.startsWith('xen2'));
      // The (redacted) toolstack message explains xend; the "reachable" column must not send anyone to sshd or the network.
      expect(row).toContain('toolstack error: xm list on xen2 exited 1: Error: Unable to connect to xend');
      expect(row).not.toMatch(/unreachable/);
      expect(final.tone).toBe('warning');
    } finally {
      await bot.stop();
      await agent?.close(1_000);
    }
  }, 60_000);
});
