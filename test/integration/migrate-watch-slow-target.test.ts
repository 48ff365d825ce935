import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../helpers/sim.ts';

/**
 * /migrate web xen2 (real bot, agent, SSH pool and simulator) whose target is slow but answers every read: its list
 * takes longer than one check interval (1 s here, 20 s by default) yet well within the command timeout (5 s). While
 * xl migrate runs the agent reads xen2 every interval; a read that answers, late, is no silence: the asker must not
 * be told that xen2 stopped answering.
 */
interface Stack {
  env: SimEnv;
  agent: Agent;
  bot: Bot;
  adapter: CaptureAdapter;
  prefix: string;
}
let stack: Stack | null = null;

afterEach(async () => {
  const s = stack;
  stack = null;
  if (!s) return;
  await s.env.sim.faults.clearAll();
  await s.bot.stop();
  await s.agent.close(1_000);
  await s.env.stop();
  await deleteKeysWithPrefix(REDIS_URL, s.prefix);
});

const CHECK_MS = 1_000;

function textOf(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}

describe('/migrate whose target answers slowly while xl migrate runs', () => {
  it('GIVEN every list of xen2 takes 1.6 s (checks every 1 s, timeout 5 s) THEN no "stopped answering" is said', async () => {
    const env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 0.02, shutdownDelayMs: 100 });
    const prefix = uniquePrefix();
    const config = simBotConfig(env, prefix, REDIS_URL);
    const agent = await startAgent({
      config,
      runner: env.pool({}, { commandTimeoutMs: 5_000 }),
      connection: REDIS_URL,
      prefix,
      logger: quietLogger,
      timings: { driver: { migrateCheckMs: CHECK_MS } },
    });
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    const s: Stack = { env, agent, bot, adapter, prefix };
    stack = s;

    // The copy takes a while (its stream stalls for 6 s); xen2 answers each list, 1.6 s late.
    const stream = (await env.sim.faults.add('xen2', { kind: 'hang', match: /migrate-receive/, times: 0 })).id;
    const since = env.sim.log.lastSeq;
    const req = chatRequest('slow-1', 'migrate web xen2');
    await bot.core.handle(req, targetOf(req));
    await env.sim.log.waitFor({ host: 'xen1', match: /xl migrate/, since, timeoutMs: 10_000 });
    await env.sim.faults.add('xen2', { kind: 'delay', match: /xl list/, ms: 1_600, times: 0 });
    await new Promise((r) => setTimeout(r, 6_000));
    await env.sim.faults.remove(stream);
    const final = await adapter.finalReply('slow-1');
    expect(final.title).toBe('web moved from xen1 to xen2');
    const lines = adapter.delivered
      .filter((d) => d.target.requestId === 'slow-1' && d.reply.kind === 'progress')
      .map((d) => textOf(d.reply));
    expect(lines.filter((l) => /stopped answering/.test(l))).toEqual([]);
  }, 40_000);
});
