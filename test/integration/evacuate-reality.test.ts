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

/** /evacuate against the simulator when the hosts are not as tidy as the plan: guests the plan leaves behind. */

interface Stack {
  env: SimEnv;
  agent: Agent;
  bot: Bot;
  adapter: CaptureAdapter;
  config: Config;
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
  stack = { env, agent, bot, adapter, config, prefix };
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

async function ask(s: Stack, text: string, user = 'alice'): Promise<Reply> {
  const id = `evac-${++counter}`;
  const req = chatRequest(id, text, user);
  await s.bot.core.handle(req, targetOf(req));
  return s.adapter.finalReply(id);
}

function textOf(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}

describe('/evacuate: a guest the plan itself leaves on the host', () => {
  it('GIVEN web is being migrated to xen2 by someone else (web--incoming there) THEN the final reply does not say web was started there while the plan ran', async () => {
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
        xen2: {
          toolstack: 'xl',
          totalMemoryMiB: 16384,
          domains: [{ name: 'web--incoming', memoryMiB: 2048, vcpus: 1, running: true, state: '--p---' }],
        },
      },
    });
    const r = await ask(s, 'evacuate xen1');
    const text = textOf(r);
    expect(text).toContain('left on xen1: web (a migration of it is under way or left unfinished: web--incoming on xen2) — not migrated');
    expect(text).toMatch(/✔ 1\. db → xen2: running there as id \d+ \(verified\)/);
    // web never left xen1: the plan left it there, and said so. Nobody started or moved it there meanwhile.
    expect(r.title).toBe('xen1 is not empty: 1 guest moved, but web runs there (the plan left it there: see below)');
    expect(r.tone).toBe('warning');
  });

  it('GIVEN a running guest whose name xenops does not act on, and one started by hand during the plan THEN the title tells the two apart', async () => {
    const s = await start({
      hosts: {
        xen1: {
          toolstack: 'xl',
          totalMemoryMiB: 16384,
          domains: [
            { name: 'web', memoryMiB: 2048, vcpus: 1, running: true },
            { name: 'mail', memoryMiB: 1024, vcpus: 1, running: false },
          ],
        },
        xen2: { toolstack: 'xl', totalMemoryMiB: 16384, domains: [] },
      },
    });
    const xen1 = s.env.sim.fleet.host('xen1');
    s.env.sim.fleet.addDomain(xen1, { name: 'my web', memoryMiB: 1024, vcpus: 1, flags: '-b----' });
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 300 });
    const id = `evac-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1');
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    s.env.sim.fleet.addDomain(xen1, { name: 'mail', memoryMiB: 1024, vcpus: 1, flags: '-b----' });
    const r = await s.adapter.finalReply(id);
    expect(textOf(r)).toContain('left on xen1: my web (a name xenops does not act on) — not migrated');
    expect(r.title).toBe(
      'xen1 is not empty: 1 guest moved, but mail runs there (started or moved there while the plan ran); my web runs there (the plan left it there: see below)',
    );
  });
});

describe('/evacuate --shutdown-rest: a guest that was not running when its shutdown came', () => {
  it('GIVEN huge (fits nowhere) is shut down by hand before its step THEN the title does not count it as shut down by the plan', async () => {
    const s = await start({
      hosts: {
        xen1: {
          toolstack: 'xl',
          totalMemoryMiB: 32768,
          domains: [
            { name: 'web', memoryMiB: 2048, vcpus: 1, running: true },
            { name: 'huge', memoryMiB: 9000, vcpus: 1, running: true },
          ],
        },
        xen2: { toolstack: 'xl', totalMemoryMiB: 8192, domains: [] },
      },
    });
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 1_000 });
    const id = `evac-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1 --shutdown-rest');
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    const xen1 = s.env.sim.fleet.host('xen1');
    const huge = s.env.sim.fleet.findDomain(xen1, 'huge');
    if (!huge) throw new Error('no huge on xen1');
    s.env.sim.fleet.removeDomain(xen1, huge);
    const r = await s.adapter.finalReply(id);
    expect(textOf(r)).toContain('✔ 2. huge: shut down on xen1: was not running');
    // No xl shutdown was sent: it was not the plan that shut huge down.
    expect(s.env.sim.fleet.log.entries.filter((e) => /\bshutdown\b/.test(e.command))).toEqual([]);
    expect(r.title).toBe('xen1 evacuated: 1 guest moved');
  });
});

describe('/evacuate: a planned guest shut down by hand before its step', () => {
  it('GIVEN db is shut down on xen1 while step 1 runs THEN the reply says db was not running there, not that it left xen1', async () => {
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
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 1_000 });
    const id = `evac-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1');
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    const xen1 = s.env.sim.fleet.host('xen1');
    const db = s.env.sim.fleet.findDomain(xen1, 'db');
    if (!db) throw new Error('no db on xen1');
    // Shut down (its config stays): /list shows db defined on xen1, not gone from it.
    s.env.sim.fleet.removeDomain(xen1, db);
    const r = await s.adapter.finalReply(id);
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 2');
    const text = textOf(r);
    expect(text).toContain('✖ 2. db → xen2: failed — db is not running on xen1');
    expect(text).not.toContain('no longer on xen1');
    expect(text).toContain('not running on xen1 when their turn came (stopped, moved or removed meanwhile): db');
    expect(await ask(s, 'list xen1').then(textOf)).toMatch(/xen1\s+db\s+-\s+defined \(not running\)/);
  });
});
