import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

/**
 * /evacuate --shutdown-rest when no host can take a guest, end to end: `--shutdown-rest` shuts down the guests left
 * over once the others moved; with every target out (here: frozen) that would be every guest, an evacuation turned
 * into a mass shutdown. It is refused, saying why and how to go on, and nothing is sent to the host.
 */

interface Stack {
  env: SimEnv;
  agent: Agent;
  bot: Bot;
  adapter: CaptureAdapter;
  prefix: string;
}

let stack: Stack | null = null;

async function start(fleet: SimFleetSpec): Promise<Stack> {
  const env = await startSimEnv({ fleet, timeScale: 0.02, shutdownDelayMs: 100 });
  const prefix = uniquePrefix();
  const config = simBotConfig(env, prefix, REDIS_URL);
  const agent = await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
  const adapter = new CaptureAdapter();
  const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
  stack = { env, agent, bot, adapter, prefix };
  return stack;
}

afterEach(async () => {
  if (!stack) return;
  const s = stack;
  stack = null;
  await s.bot.stop();
  await s.agent.close(1_000);
  await s.env.stop();
  await deleteKeysWithPrefix(REDIS_URL, s.prefix);
});

let counter = 0;

async function ask(s: Stack, text: string): Promise<Reply> {
  const id = `evsr-${++counter}`;
  const req = chatRequest(id, text, 'alice');
  await s.bot.core.handle(req, targetOf(req));
  return s.adapter.finalReply(id);
}

function textOf(r: Reply): string {
  return [r.title ?? '', ...r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text))].join(
    '\n',
  );
}

const guestsOn = (s: Stack, host: string) =>
  s.env.sim.fleet
    .host(host)
    .domains.filter((d) => d.name !== 'Domain-0')
    .map((d) => d.name)
    .sort();

describe('/evacuate --shutdown-rest when no host can take a guest', () => {
  it('GIVEN the only other host is frozen THEN the evacuation is refused, says why and how to go on, and shuts nothing down', async () => {
    const s = await start({
      hosts: {
        xen1: {
          toolstack: 'xl',
          totalMemoryMiB: 16384,
          domains: [
            { name: 'web', memoryMiB: 2048, vcpus: 1, running: true },
            { name: 'db', memoryMiB: 1024, vcpus: 1, running: true },
          ],
        },
        xen2: { toolstack: 'xl', totalMemoryMiB: 16384, domains: [] },
      },
    });
    const froze = await ask(s, 'freeze xen2 2h disk swap');
    expect(froze.title).toBe('Frozen: xen2');
    const r = await ask(s, 'evacuate xen1 --shutdown-rest');
    const text = textOf(r);
    expect(r.tone).toBe('error');
    expect(text).toContain(
      'no host can take a guest from xen1, so nothing was planned and nothing was moved; not considered: xen2 is frozen',
    );
    expect(text).toContain('--shutdown-rest shuts down only the guests that fit nowhere after the others moved');
    expect(text).toContain('/stop');
    expect(s.env.sim.fleet.log.entries.filter((e) => /\b(shutdown|destroy|migrate)\b/.test(e.command))).toEqual([]);
    expect(guestsOn(s, 'xen1')).toEqual(['db', 'web']);
  });
});
