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
 * A guest that xl migrates successfully and that crashes on its target as soon as it runs there (the simulator's
 * crashOnArrival fault; on_crash="preserve" keeps it listed crashed and paused, `--psc-`). xl migrate said
 * "Migration successful." and exited 0: the guest is on the target, not running. The replies must say so — not
 * "failed", not "still on xen1".
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
  const id = `arrived-${++counter}`;
  const req = chatRequest(id, text, 'alice');
  await s.bot.core.handle(req, targetOf(req));
  return s.adapter.finalReply(id);
}

function textOf(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}

/** Where each guest is now, as the simulator holds it, with its flags (Domain-0 left out). */
function where(s: Stack): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, h] of s.env.sim.fleet.hosts)
    out[name] = h.domains
      .filter((d) => d.name !== 'Domain-0')
      .map((d) => `${d.name} ${d.flags}`)
      .sort();
  return out;
}

/** xen1 runs web 2048, db 1024; xen2 (16 GiB) and xen3 (16 GiB) run nothing. */
const FLEET: SimFleetSpec = {
  hosts: {
    xen1: {
      toolstack: 'xl',
      totalMemoryMiB: 16384,
      domains: [
        { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
        { name: 'db', memoryMiB: 1024, vcpus: 2, running: true },
      ],
    },
    xen2: { toolstack: 'xl', totalMemoryMiB: 16384, domains: [] },
    xen3: { toolstack: 'xl', totalMemoryMiB: 8192, domains: [] },
  },
};

describe('a guest that arrives crashed on the migration target', () => {
  it('/migrate says it is on xen2, crashed there — not "failed"', async () => {
    const s = await start(FLEET);
    await s.env.sim.faults.add('xen1', { kind: 'crashOnArrival', match: /\bmigrate\b.*\bweb\b/, onCrash: 'preserve' });
    const r = await ask(s, 'migrate web xen2');
    // What the simulated hosts hold: web moved, and crashed on xen2.
    expect(where(s)).toEqual({ xen1: ['db -b----'], xen2: ['web --psc-'], xen3: [] });
    // Was "✖ Migration of web failed".
    expect(r.title).toBe('web moved from xen1 to xen2 but is not running there: crashed');
    expect(r.tone).toBe('error');
    const text = textOf(r);
    expect(text).toContain(
      'the migration reported success, then web was read back on xen2 as crashed (--psc-): it is no longer on its old host',
    );
    expect(text).not.toMatch(/still on xen1|failed/);
  });

  it('/evacuate stops after that step and lists the guest as on xen2 (crashed), not "still on xen1"', async () => {
    const s = await start(FLEET);
    await s.env.sim.faults.add('xen1', { kind: 'crashOnArrival', match: /\bmigrate\b.*\bweb\b/, onCrash: 'preserve' });
    const r = await ask(s, 'evacuate xen1');
    // The plan put web (the larger) first; it crashed on its target, so db was not sent anywhere.
    expect(where(s)['xen1']).toEqual(['db -b----']);
    const target = Object.entries(where(s)).find(([, ds]) => ds.includes('web --psc-'))?.[0];
    expect(target).toMatch(/^xen[23]$/);
    expect(r.title).toBe('Evacuation of xen1 stopped at step 1 of 2');
    const lines = textOf(r).split('\n');
    expect(lines[0]).toBe(`✖ 1. web → ${target}: moved, but not running there: crashed (--psc-)`);
    expect(lines[1]).toMatch(new RegExp(`^the migration reported success, then web was read back on ${target} as crashed \\(--psc-\\)`));
    expect(lines[2]).toMatch(/^– 2\. db → xen[23]: not attempted$/);
    expect(lines[3]).toBe(`moved: web → ${target} (not running there: crashed)`);
    // Was "not moved, still on xen1: web (failed), db (not attempted)".
    expect(lines[4]).toBe('not moved, still on xen1: db (not attempted)');
    expect(textOf(r)).toContain('xen1 was not frozen: the evacuation did not complete');
  });
});
