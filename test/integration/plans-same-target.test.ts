import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

/**
 * Two plans migrating to one target at once, each step run by the agent of its source host: the real bot, two agents
 * (each with its own SSH pool), Redis and the simulator's memory figures. Each step reads the target's free memory
 * right before its `xl migrate`; two steps reading it at the same moment must not both take the room that is there.
 */

interface Stack {
  env: SimEnv;
  agents: Agent[];
  bot: Bot;
  adapter: CaptureAdapter;
  config: Config;
  prefix: string;
}
let stack: Stack | null = null;

afterEach(async () => {
  const s = stack;
  stack = null;
  if (!s) return;
  await s.bot.stop();
  for (const a of s.agents) await a.close(1_000);
  await s.env.stop();
  await deleteKeysWithPrefix(REDIS_URL, s.prefix);
});

/** One agent per source (xen1's also serves the target, xen3), as two agent processes on two machines would. */
async function start(fleet: SimFleetSpec): Promise<Stack> {
  const env = await startSimEnv({ fleet, timeScale: 0.02, shutdownDelayMs: 100 });
  const prefix = uniquePrefix();
  const config = simBotConfig(env, prefix, REDIS_URL);
  const agents = [
    await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger, hosts: ['xen1', 'xen3'] }),
    await startAgent({ config, runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger, hosts: ['xen4'] }),
  ];
  const adapter = new CaptureAdapter();
  const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await bot.start();
  stack = { env, agents, bot, adapter, config, prefix };
  return stack;
}

function textOf(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}

/**
 * xen3 (6 GiB, Dom0 2048) has 4096 MiB free: room for web (2048, from xen1) or db (2048, from xen4) with the 512
 * reserve kept, never for both (that would leave 0).
 */
function twoSourcesOneTarget(xen3MiB = 6144): SimFleetSpec {
  return {
    hosts: {
      xen1: { toolstack: 'xl', totalMemoryMiB: 8192, domains: [{ name: 'web', memoryMiB: 2048, vcpus: 1, running: true }] },
      xen3: { toolstack: 'xl', totalMemoryMiB: xen3MiB, domains: [] },
      xen4: { toolstack: 'xl', totalMemoryMiB: 8192, domains: [{ name: 'db', memoryMiB: 2048, vcpus: 1, running: true }] },
    },
  };
}

/**
 * Sends both evacuations at once and returns their final replies. Each `xl migrate` reaches xen3's migrate-receive,
 * which builds the arriving copy that free_memory counts, only once its ssh transport is up: held 1.5 s here, so a
 * step's own check of xen3 right before it, and another step's, both come while no copy is there yet.
 */
async function bothAtOnce(s: Stack, tag: string): Promise<[Reply, Reply]> {
  s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b/, ms: 1_500 });
  s.env.sim.faults.delayNext('xen4', { match: /\bmigrate\b/, ms: 1_500 });
  const a = chatRequest(`${tag}-1`, 'evacuate xen1 to xen3');
  const b = chatRequest(`${tag}-2`, 'evacuate xen4 to xen3');
  await Promise.all([s.bot.core.handle(a, targetOf(a)), s.bot.core.handle(b, targetOf(b))]);
  return Promise.all([s.adapter.finalReply(a.id), s.adapter.finalReply(b.id)]);
}

const XL_INFO = /\bxl'? '?info\b/;

/** When each step read xen3's free memory (its last `xl info` before its migration), and each migration's span. */
function checksAndMigrations(s: Stack): { lastCheckAt: number; migrations: { at: number; endedAt: number }[] } {
  const checks = s.env.sim.log.query({ host: 'xen3', match: XL_INFO });
  const migrations = s.env.sim.log.entries
    .filter((e) => /\bmigrate\b/.test(e.command))
    .map((e) => ({ at: e.at, endedAt: e.end?.at ?? Number.POSITIVE_INFINITY }));
  return { lastCheckAt: Math.max(...checks.map((c) => c.at)), migrations };
}

describe('two /evacuate toward the same target at once', () => {
  it('both steps check xen3 at the same moment: only one guest goes there, the other is refused with the figures', async () => {
    const s = await start(twoSourcesOneTarget());
    // Both plans are made from xen3's reading, 4096 free each time.
    const [ra, rb] = await bothAtOnce(s, 'full');
    const xen3 = s.env.sim.fleet.host('xen3');
    const arrived = xen3.domains.filter((d) => d.name !== 'Domain-0').map((d) => d.name);
    // Was ['db', 'web'] with 0 MiB free: both checks read 4096 and both migrations were sent.
    expect(arrived).toHaveLength(1);
    expect(s.env.sim.fleet.freeMemoryMiB(xen3)).toBeGreaterThanOrEqual(512);
    const [moved, refused] = arrived[0] === 'web' ? [ra, rb] : [rb, ra];
    const [source, other] = arrived[0] === 'web' ? ['xen1', 'db'] : ['xen4', 'web'];
    expect(moved.title).toBe(`${source} evacuated: 1 guest moved`);
    expect(refused.title).toMatch(/^Evacuation of xen[14] stopped at step 1 of 1$/);
    expect(textOf(refused)).toContain(
      `✖ 1. ${other} → xen3: failed — xen3 has 2048 MiB free now: ${other} (2048 MiB) would leave it 0 MiB, under the 512 MiB it must keep free (fleet.memoryReserveMiB) — not migrated; nothing was sent`,
    );
    // The refused step read xen3 only once the other's migration had ended (and been read back).
    const { lastCheckAt, migrations } = checksAndMigrations(s);
    expect(migrations).toHaveLength(1);
    expect(lastCheckAt).toBeGreaterThanOrEqual(migrations[0]?.endedAt ?? Number.POSITIVE_INFINITY);
  }, 30_000);

  it('with room for both, the second waits for the first to arrive, then goes: both arrive, the reserve kept', async () => {
    // xen3 8 GiB: 6144 free, 2048 left after both.
    const s = await start(twoSourcesOneTarget(8192));
    const [ra, rb] = await bothAtOnce(s, 'room');
    expect([ra.title, rb.title]).toEqual(['xen1 evacuated: 1 guest moved', 'xen4 evacuated: 1 guest moved']);
    const xen3 = s.env.sim.fleet.host('xen3');
    expect(
      xen3.domains
        .filter((d) => d.name !== 'Domain-0')
        .map((d) => d.name)
        .sort(),
    ).toEqual(['db', 'web']);
    expect(s.env.sim.fleet.freeMemoryMiB(xen3)).toBe(2048);
    // One migration arriving at a time: the second was sent after the first ended, never alongside it.
    const { migrations } = checksAndMigrations(s);
    const [first, second] = [...migrations].sort((x, y) => x.at - y.at);
    expect(second?.at).toBeGreaterThanOrEqual(first?.endedAt ?? Number.POSITIVE_INFINITY);
    // And the step that waited said why, naming the migration it waited for.
    const said = s.adapter.delivered.map((d) => d.reply.blocks.map((b) => ('text' in b ? b.text : '')).join('\n')).join('\n');
    expect(said).toMatch(/waiting: xen3 is receiving (web from xen1|db from xen4) \(alice's \/evacuate, request [^)]*\)/);
  }, 30_000);
});
