import { afterEach, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { Config } from '../../src/config/schema.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, startSimEnv } from '../helpers/sim.ts';

/**
 * /evacuate by wendy, whose permissions reach the web* guests only, end to end: the relay hands her render a read-back
 * of the host without the guests she may not see, so the final reply must neither name them nor call the host empty
 * on the strength of a list that leaves them out.
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
  const config = Config.parse({
    redis: { url: REDIS_URL, prefix },
    hosts: env.hosts,
    ssh: env.ssh,
    roles: {
      admin: { allow: ['*'] },
      webops: {
        allow: [
          { permission: 'operate', domains: ['web*'] },
          { permission: 'domain.migrate', domains: ['web*'] },
        ],
      },
    },
    people: {
      alice: { roles: ['admin'], identities: { terminal: 'alice' } },
      wendy: { roles: ['webops'], identities: { terminal: 'wendy' } },
    },
    channels: [{ platform: 'terminal', id: '*' }],
    audit: { file: `/tmp/${prefix}-audit.jsonl` },
    bot: { readTimeoutMs: 10_000, fleetRefreshMs: 600_000 },
    approvals: { enabled: false },
  });
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

async function send(s: Stack, text: string, user: string): Promise<string> {
  const id = `evsc-${++counter}`;
  const req = chatRequest(id, text, user);
  await s.bot.core.handle(req, targetOf(req));
  return id;
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

describe('/evacuate by someone scoped to some guests: the read-back after the last step', () => {
  it('GIVEN payroll (outside wendy’s scope) is started on xen1 while her plan runs THEN the reply neither names it nor says xen1 is empty', async () => {
    const s = await start({
      hosts: {
        xen1: {
          toolstack: 'xl',
          totalMemoryMiB: 16384,
          domains: [
            { name: 'web1', memoryMiB: 2048, vcpus: 1, running: true },
            // Stopped when she plans: left out, as /list leaves it out for her.
            { name: 'payroll', memoryMiB: 1024, vcpus: 1, running: false },
          ],
        },
        xen2: { toolstack: 'xl', totalMemoryMiB: 16384, domains: [] },
      },
    });
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb1\b/, ms: 1_000 });
    const id = await send(s, 'evacuate xen1', 'wendy');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb1\b/, timeoutMs: 10_000 });
    s.env.sim.fleet.addDomain(s.env.sim.fleet.host('xen1'), { name: 'payroll', memoryMiB: 1024, vcpus: 1, flags: '-b----' });
    const r = await s.adapter.finalReply(id);
    // What the host really holds: payroll runs there.
    expect(guestsOn(s, 'xen1')).toEqual(['payroll']);
    const text = textOf(r);
    expect(text).not.toMatch(/payroll/);
    expect(r.title).not.toMatch(/^xen1 evacuated: /);
    expect(text).not.toContain('no guest runs on xen1');
    expect(r.title).toBe('xen1 evacuated of every guest you may see: 1 guest moved');
    expect(text).toContain('read back after the last step: no guest you may see runs on xen1');
    expect(text).toContain('guests outside your scope are not shown to you');
    expect(r.tone).toBe('warning');
    expect(text).toContain('xen1 is now frozen for new starts until /unfreeze');
  });

  it('GIVEN payroll (outside wendy’s scope) runs on xen1 with its migration left unfinished THEN her plan is refused, payroll counted, not named', async () => {
    const s = await start({
      hosts: {
        xen1: {
          toolstack: 'xl',
          totalMemoryMiB: 16384,
          domains: [
            { name: 'web1', memoryMiB: 2048, vcpus: 1, running: true },
            { name: 'payroll', memoryMiB: 1024, vcpus: 1, running: true },
          ],
        },
        xen2: {
          toolstack: 'xl',
          totalMemoryMiB: 16384,
          domains: [{ name: 'payroll--incoming', memoryMiB: 1024, vcpus: 1, running: true, state: '--p---' }],
        },
      },
    });
    const r = await s.adapter.finalReply(await send(s, 'evacuate xen1', 'wendy'));
    expect(textOf(r)).not.toMatch(/payroll/);
    expect(textOf(r)).toContain('xen1 runs 1 guest outside your scope, which you may not migrate: nothing was planned');
    // Nothing moved: she could not have emptied xen1.
    expect(s.env.sim.fleet.log.entries.filter((e) => /\bmigrate\b/.test(e.command))).toEqual([]);
    expect(guestsOn(s, 'xen1')).toEqual(['payroll', 'web1']);
  });
});
