import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { createBot } from '../../src/app/bot.ts';
import { jobIdOf } from '../../src/app/dispatch.ts';
import { PendingStore } from '../../src/app/pending-store.ts';
import { Config } from '../../src/config/schema.ts';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { Journal } from '../../src/queue/coordination.ts';
import { hostQueueName } from '../../src/queue/names.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, unevenFleet } from '../helpers/sim.ts';
import { type SimStack, simStacks } from '../helpers/sim-stack.ts';

/**
 * /evacuate and /rebalance end to end against the simulator with three hosts: the capacity read from `xl info`, the
 * plan, the migrations one at a time (verified on their targets), the freeze — and the figures, on what the
 * simulated hosts really hold afterwards.
 */

/** A simulator with a fleet, an agent and a bot; approvals off: the approval flow has the demo test below it. */
const start = simStacks();

let counter = 0;

/** Sends `text`, holds xen1's command matching `match` for `ms` (it still runs), and stops the bot meanwhile. */
async function stopBotDuring(s: SimStack, text: string, match: RegExp, ms: number): Promise<string> {
  s.env.sim.faults.delayNext('xen1', { match, ms });
  const id = `ev-${++counter}`;
  const req = chatRequest(id, text);
  await s.bot.core.handle(req, targetOf(req));
  await s.env.sim.log.waitFor({ host: 'xen1', match, timeoutMs: 10_000 });
  await s.bot.stop();
  return id;
}

/** A new bot, on `config`, in place of the stopped one; its replies are in the adapter returned. */
async function nextBot(s: SimStack, config: Config): Promise<CaptureAdapter> {
  const adapter = new CaptureAdapter();
  s.adapter = adapter;
  s.bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
  await s.bot.start();
  return adapter;
}
async function ask(s: SimStack, text: string, user = 'alice'): Promise<Reply> {
  const id = `ev-${++counter}`;
  const req = chatRequest(id, text, user);
  await s.bot.core.handle(req, targetOf(req));
  return s.adapter.finalReply(id);
}

function textOf(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}

/** Where each guest runs now, as the simulator holds it (Domain-0 left out). */
function running(s: SimStack): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, h] of s.env.sim.fleet.hosts)
    out[name] = h.domains
      .filter((d) => d.name !== 'Domain-0')
      .map((d) => d.name)
      .sort();
  return out;
}

const migrations = (s: SimStack) => s.env.sim.fleet.log.entries.filter((e) => /\bmigrate\b/.test(e.command));

/**
 * xen1 (16 GiB) runs web 2048, db 1024, gateway 512 and has mail defined; xen2 (6 GiB) runs files 1024, so it has
 * 3072 free; xen3 (8 GiB) runs nothing: 6144 free. Domain-0 takes 2048 on each. Reserve 512 (the default).
 * Best fit, largest first: web → xen2 (1024 left), db → xen3 (xen2 would keep 0), gateway → xen2 (512 left).
 */
function threeHosts(xen1Extra: SimFleetSpec['hosts'][string]['domains'] = []): SimFleetSpec {
  return {
    hosts: {
      xen1: {
        toolstack: 'xl',
        totalMemoryMiB: 16384,
        domains: [
          { name: 'web', memoryMiB: 2048, vcpus: 2, running: true },
          { name: 'db', memoryMiB: 1024, vcpus: 1, running: true },
          { name: 'gateway', memoryMiB: 512, vcpus: 1, running: true },
          { name: 'mail', memoryMiB: 1024, vcpus: 1, running: false },
          ...xen1Extra,
        ],
      },
      xen2: { toolstack: 'xl', totalMemoryMiB: 6144, domains: [{ name: 'files', memoryMiB: 1024, vcpus: 1, running: true }] },
      xen3: { toolstack: 'xl', totalMemoryMiB: 8192, domains: [] },
    },
  };
}

describe('/evacuate against three simulated hosts', () => {
  it('moves every running guest to a target with room, verified there, then freezes the host for new starts', async () => {
    const s = await start(threeHosts());
    const r = await ask(s, 'evacuate xen1');
    expect(r.title).toBe('xen1 evacuated: 3 guests moved');
    const text = textOf(r);
    expect(text).toMatch(/✔ 1\. web → xen2: running there as id \d+ \(verified\)/);
    expect(text).toMatch(/✔ 2\. db → xen3: running there as id \d+ \(verified\)/);
    expect(text).toMatch(/✔ 3\. gateway → xen2: running there as id \d+ \(verified\)/);
    expect(text).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
    // The plan as it was made, with the figures read from xl info.
    expect(text).toMatch(/1\s+web\s+2 GiB\s+xen2\s+3 GiB\s+1 GiB/);
    expect(text).toMatch(/2\s+db\s+1 GiB\s+xen3\s+6 GiB\s+5 GiB/);
    expect(text).toMatch(/3\s+gateway\s+512 MiB\s+xen2\s+1 GiB\s+512 MiB/);
    // What the hosts hold now: nothing of it on xen1 (mail was never running), each guest on its target.
    expect(running(s)).toEqual({ xen1: [], xen2: ['files', 'gateway', 'web'], xen3: ['db'] });
    expect(s.env.sim.fleet.freeMemoryMiB(s.env.sim.fleet.host('xen2'))).toBe(512);
    // Frozen: the freeze is in Redis, and a start on xen1 is refused before anything is queued.
    const redis = new Redis(REDIS_URL);
    const freeze = JSON.parse((await redis.hget(`${s.prefix}:freezes`, 'xen1')) ?? 'null') as { by: string; until: null } | null;
    redis.disconnect();
    expect(freeze).toMatchObject({ by: 'alice', reason: 'evacuated', until: null });
    const started = await ask(s, 'start xen1:mail');
    expect(started.title).toBe('Frozen');
    expect(textOf(started)).toContain('xen1 is frozen until /unfreeze (alice: evacuated)');
    expect(s.env.sim.fleet.log.entries.filter((e) => /\bcreate\b/.test(e.command))).toEqual([]);
  });

  it('reads the host back after the last step: a guest started there meanwhile is named, not "evacuated"', async () => {
    const s = await start(threeHosts());
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bgateway\b/, ms: 300 });
    const id = `ev-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1');
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bgateway\b/, timeoutMs: 10_000 });
    // Started by hand while the last migration runs: the host is not empty when the plan ends.
    s.env.sim.fleet.addDomain(s.env.sim.fleet.host('xen1'), { name: 'mail', memoryMiB: 1024, vcpus: 1, flags: '-b----' });
    const r = await s.adapter.finalReply(id);
    expect(r.title).toBe('xen1 is not empty: 3 guests moved, but mail runs there (started or moved there while the plan ran)');
    expect(r.tone).toBe('warning');
    const text = textOf(r);
    expect(text).toMatch(/✔ 3\. gateway → xen2: running there as id \d+ \(verified\)/);
    expect(text).not.toMatch(/step 4|4\. /);
    // Frozen all the same: nothing more starts there.
    expect(text).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
    expect(running(s)['xen1']).toEqual(['mail']);
  });

  it('a read-back that fails is said, and the host is frozen all the same: every move succeeded', async () => {
    // No sampler: its scan of xen1 (an `xl list` and `ls -l /etc/xen/auto`, as the read-backs send) could come between
    // the last migration and that migration's own read-back, arming the fault below for the wrong list.
    const s = await start(threeHosts(), (env, prefix) => {
      const c = simBotConfig(env, prefix, REDIS_URL);
      return { ...c, sampling: { ...c.sampling, enabled: false } };
    });
    const id = `ev-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1');
    await s.bot.core.handle(req, targetOf(req));
    const [migrate] = await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bgateway\b/, timeoutMs: 10_000 });
    // The last migration's own read-back of xen1 has listed it (its `ls -l` comes after its `xl list`): every xl list on
    // xen1 after it fails — the plan's read-back's, the only other scan of xen1 with the sampler off.
    await s.env.sim.log.waitFor({ host: 'xen1', match: /^ls -l \/etc\/xen\/auto/, since: migrate?.seq ?? 0, timeoutMs: 10_000 });
    await s.env.sim.faults.add('xen1', {
      kind: 'fail',
      match: /\bxl list\b/,
      code: 1,
      stderr: 'libxl: error: cannot list domains',
      times: 0,
    });
    const r = await s.adapter.finalReply(id);
    expect(r.title).toBe('xen1 evacuated: 3 guests moved');
    expect(r.tone).toBe('warning');
    const text = textOf(r);
    expect(text).toMatch(/⚠ xen1 could not be read back after the last step \(.*\): \/list xen1 shows what runs there/);
    expect(text).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
    const redis = new Redis(REDIS_URL);
    expect(await redis.hget(`${s.prefix}:freezes`, 'xen1')).not.toBeNull();
    redis.disconnect();
  });

  it('says the host was read back empty after the last step', async () => {
    const s = await start(threeHosts());
    const r = await ask(s, 'evacuate xen1');
    expect(r.title).toBe('xen1 evacuated: 3 guests moved');
    expect(textOf(r)).toContain('read back after the last step: no guest runs on xen1');
  });

  it('refuses a plan with a guest that fits nowhere, naming the figures; nothing moves', async () => {
    const s = await start(threeHosts([{ name: 'huge', memoryMiB: 7000, vcpus: 4, running: true }]));
    const r = await ask(s, 'evacuate xen1');
    expect(r.kind).toBe('error');
    expect(r.title).toBe('Cannot do that');
    expect(textOf(r)).toBe(
      'huge (6.8 GiB) fits nowhere: it needs 7.3 GiB free (6.8 GiB + 512 MiB reserve); the most free on a target is 6 GiB on xen3 — the evacuation of xen1 was refused and nothing was moved (--shutdown-rest would shut it down instead)',
    );
    expect(migrations(s)).toEqual([]);
    expect(running(s)['xen1']).toEqual(['db', 'gateway', 'huge', 'web']);
  });

  it('stops at a migration that fails halfway: the first moved, the rest not attempted, and the reply says exactly that', async () => {
    const s = await start(threeHosts());
    // The second migration (db → xen3) fails on xen1: xl exits 1 and nothing moves.
    s.env.sim.faults.failNext('xen1', {
      match: /\bmigrate\b.*\bdb\b/,
      code: 1,
      stderr: 'migration sender: Target has acknowledged transfer.\nMigration failed, resuming at sender.\n',
    });
    const r = await ask(s, 'evacuate xen1');
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[0]).toMatch(/^✔ 1\. web → xen2: running there as id \d+ \(verified\)$/);
    expect(lines[1]).toMatch(/^✖ 2\. db → xen3: failed — .*migration of db to xen3 failed/);
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    expect(lines[3]).toBe('moved: web → xen2');
    expect(lines[4]).toBe('not moved, still on xen1: db (failed), gateway (not attempted)');
    expect(lines[5]).toBe('xen1 was not frozen: the evacuation did not complete');
    expect(running(s)).toEqual({ xen1: ['db', 'gateway'], xen2: ['files', 'web'], xen3: [] });
    // The hosts received exactly two migrations: gateway's was never sent.
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2', 'db xen3']);
    const redis = new Redis(REDIS_URL);
    expect(await redis.hget(`${s.prefix}:freezes`, 'xen1')).toBeNull();
    redis.disconnect();
  });
});

describe('Redis losing a request under it', () => {
  it('one kept until it expired (two days) is told so, not that Redis lost its data', async () => {
    const s = await start(threeHosts());
    // Every list on xen1 held (not just the next one: the agent's sampler lists too), so this one is still running.
    await s.env.sim.faults.add('xen1', { kind: 'delay', ms: 3_000, match: /\bxl list\b/, times: 0 });
    const since = s.env.sim.log.lastSeq;
    const id = `ev-${++counter}`;
    // Received two days ago, as far as the bot can tell: its keys are gone when it looks, as they would be by then.
    const req = { ...chatRequest(id, 'list xen1'), receivedAt: Date.now() - 2 * 86_400_000 };
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bxl list\b/, since, timeoutMs: 10_000 });
    await deleteKeysWithPrefix(REDIS_URL, s.prefix);
    await s.adapter.until(() => s.adapter.finals(id).length > 0, 20_000, 'the final reply');
    const text = JSON.stringify(s.adapter.finals(id));
    expect(text).toContain('it was still unanswered after two days, when xenops stops keeping a request; ask again');
    expect(text).not.toContain('Redis lost its data');
  });
});

describe('/evacuate when Redis loses its data during step 2', () => {
  it('says what moved (its result as the bot saw it), that step 2 is unknown, and that step 3 was not attempted', async () => {
    const s = await start(threeHosts());
    // db → xen3 held on xen1 long enough to lose the run's keys under it (as a flush or a restart without its data).
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bdb\b/, ms: 3_000 });
    const id = `ev-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1');
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bdb\b/, timeoutMs: 10_000 });
    await deleteKeysWithPrefix(REDIS_URL, s.prefix);
    await s.adapter.until(() => s.adapter.finals(id).length > 0, 20_000, 'the evacuation’s final reply');
    const r = s.adapter.finals(id)[0] as Reply;
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    // Before the review's fix: "✖ 1. web → xen2: outcome unknown", and web listed as not moved though it had.
    expect(lines[0]).toMatch(/^✔ 1\. web → xen2: running there as id \d+ \(verified\)$/);
    expect(lines[1]).toMatch(
      /^✖ 2\. db → xen3: outcome unknown — Redis lost its data while this ran, and the job with it: whether it took effect is unknown/,
    );
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    expect(lines[3]).toBe('moved: web → xen2');
    // db may well have moved: it is not said to be "still on xen1".
    expect(lines[4]).toBe('not moved, still on xen1: gateway (not attempted)');
    expect(lines[5]).toBe('moved or not, unknown (check with /list before retrying): db');
    // gateway's migration was never sent.
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bdb\b/, ended: true, timeoutMs: 10_000 }).catch(() => {});
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2', 'db xen3']);
  });
});

describe('/evacuate across a bot that went between two steps', () => {
  /**
   * An /evacuate whose bot is stopped while step 1 (web → xen2) runs on xen1; the step ends with no bot to see it.
   * `leave` then writes what a bot that recorded it (and maybe more) and died before queueing the next step leaves
   * in Redis. Then the next bot starts; resolves with its final reply.
   */
  async function acrossBots(
    s: SimStack,
    leave: (store: PendingStore, redis: Redis, id: string, first: unknown) => Promise<void>,
    nextConfig: Config = s.config,
  ): Promise<Reply> {
    // Long enough for the bot to be stopped before the step ends (it would queue the next one itself).
    const id = await stopBotDuring(s, 'evacuate xen1', /\bmigrate\b/, 3_000);
    const first = jobIdOf(id, 'xen1', 'sequence', 0);
    const queue = new Queue(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix: s.prefix });
    const redis = new Redis(REDIS_URL);
    try {
      await expect.poll(async () => (await queue.getJob(first))?.finishedOn !== undefined, { timeout: 10_000 }).toBe(true);
      // The bot was gone before: it queued nothing after the first step.
      expect(await queue.getJob(jobIdOf(id, 'xen1', 'sequence', 1))).toBeUndefined();
      const store = new PendingStore(redis, s.prefix, 'gone01');
      await store.recordOutcomeOnce(id, first, { ok: true, result: (await queue.getJob(first))?.returnvalue });
      await leave(store, redis, id, first);
    } finally {
      await queue.close();
      redis.disconnect();
    }
    const adapter = await nextBot(s, nextConfig);
    await adapter.until(() => adapter.finals(id).length > 0, 20_000, 'the evacuation’s final reply');
    return adapter.finals(id)[0] as Reply;
  }

  it('a step its bot claimed and died before queueing is queued by the next bot, and the plan completes', async () => {
    const s = await start(threeHosts());
    const r = await acrossBots(s, async (_store, redis, id) => {
      await redis.set(`${s.prefix}:step:${id}:1`, '1', 'EX', 86_400);
    });
    expect(r.title).toBe('xen1 evacuated: 3 guests moved');
    expect(textOf(r)).toMatch(/✔ 2\. db → xen3: running there as id \d+ \(verified\)/);
    expect(running(s)).toEqual({ xen1: [], xen2: ['files', 'gateway', 'web'], xen3: ['db'] });
    // Each guest moved once.
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual([
      'web xen2',
      'db xen3',
      'gateway xen2',
    ]);
    // Each step queued says so in its claim (what a later recovery reads).
    const redis = new Redis(REDIS_URL);
    const id = `ev-${counter}`;
    expect(await redis.mget(`${s.prefix}:step:${id}:1`, `${s.prefix}:step:${id}:2`)).toEqual(['queued', 'queued']);
    redis.disconnect();
  });

  it('a next step on a host taken out of the config meanwhile is not queued: the plan ends, saying why, not pending for ever', async () => {
    const s = await start(threeHosts());
    // The operator takes xen1 out of the bot's config and restarts it, the evacuation of xen1 half done.
    const { xen1: _gone, ...hosts } = s.config.hosts;
    const r = await acrossBots(s, async () => {}, { ...s.config, hosts });
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[0]).toMatch(/^✔ 1\. web → xen2: running there as id \d+ \(verified\)/);
    expect(lines[1]).toBe("✖ 2. db → xen3: failed — xen1 is no longer in this bot's config: not run");
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2']);
  });

  it('a next step migrating to a host taken out of the config meanwhile is not queued: the guest stays where it is', async () => {
    const s = await start(threeHosts());
    // xen3 is decommissioned from the bot's config while step 1 runs; the agent still serves it.
    const { xen3: _gone, ...hosts } = s.config.hosts;
    const r = await acrossBots(s, async () => {}, { ...s.config, hosts });
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[1]).toBe("✖ 2. db → xen3: failed — xen3 is no longer in this bot's config: not run");
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2']);
    expect(running(s)).toEqual({ xen1: ['db', 'gateway'], xen2: ['files', 'web'], xen3: [] });
  });

  it('a step withdrawn by a bot that died before saying so is reported withdrawn, and not queued again', async () => {
    const s = await start(threeHosts());
    const r = await acrossBots(s, async (store, redis, id) => {
      // Queued, then removed by the withdrawal (no agent took it in time), and the bot died before recording that.
      await redis.set(`${s.prefix}:step:${id}:1`, '1', 'EX', 86_400);
      await store.markWithdrawing(jobIdOf(id, 'xen1', 'sequence', 1));
    });
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[1]).toMatch(/^✖ 2\. db → xen3: .*withdrawn: nothing was done, and it will not run later/);
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2']);
  });

  it('a step that was queued, ended before sending anything and was dropped by BullMQ is not queued again', async () => {
    const s = await start(threeHosts());
    const r = await acrossBots(s, async (_store, redis, id) => {
      // Its claim says queued (set after the add); the job failed before the agent journaled anything (a refusal, say)
      // and BullMQ has since dropped it — every bot down that long. Running it now would run it late.
      await redis.set(`${s.prefix}:step:${id}:1`, 'queued', 'EX', 86_400);
    });
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[1]).toMatch(/^✖ 2\. db → xen3: .*its result expired while the bot was down; check with \/list/);
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2']);
  });

  it('a withdrawal marker does not hide what the journal says: the step whose command was sent is "outcome unknown"', async () => {
    const s = await start(threeHosts());
    const r = await acrossBots(s, async (store, redis, id) => {
      // The bot marked the step for withdrawal, an agent took it first (the removal failed) and sent the migration;
      // the bot died before taking the mark back, and BullMQ has since dropped the job.
      const second = jobIdOf(id, 'xen1', 'sequence', 1);
      await redis.set(`${s.prefix}:step:${id}:1`, '1', 'EX', 86_400);
      await store.markWithdrawing(second);
      await new Journal(redis, s.prefix).put({
        jobId: second,
        requestId: id,
        op: 'domain.migrate',
        host: 'xen1',
        domain: 'db',
        target: 'xen3',
        before: { status: 'running', id: 2, uuid: null },
        step: 'issuing',
        issuedAt: Date.now(),
        resumes: 0,
      });
    });
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[1]).toMatch(/^✖ 2\. db → xen3: outcome unknown — .*the agent had sent the command — check with \/list before retrying/);
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    // The migration was sent: db is not said to be still on xen1 (it was, as "db (failed)", before).
    expect(lines[4]).toBe('not moved, still on xen1: gateway (not attempted)');
    expect(lines[5]).toBe('moved or not, unknown (check with /list before retrying): db');
  });

  it('after a failed step, the step its bot never queued is not attempted (not "expired"), and nothing more moves', async () => {
    const s = await start(threeHosts());
    const r = await acrossBots(s, async (store, _redis, id) => {
      // As recorded by a bot that saw step 2 fail (on the host it never ran: this test writes its outcome).
      const second = jobIdOf(id, 'xen1', 'sequence', 1);
      await store.recordOutcomeOnce(id, second, { ok: false, failure: { code: 'remote', message: 'migration of db to xen3 failed' } });
    });
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[1]).toMatch(/^✖ 2\. db → xen3: failed — .*migration of db to xen3 failed/);
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2']);
  });
});

describe('a request on a host taken out of the config while its bot was down', () => {
  /** `/start mail` with a slow create; the bot (and with `agentToo` the agent) goes while it runs. Resolves with the
   * final reply of a bot started on a config without xen1. */
  async function startAcrossConfigs(s: SimStack, agentToo: boolean): Promise<Reply> {
    const id = await stopBotDuring(s, 'start mail', /\bcreate\b/, 1_500);
    // Closed at once, the agent hands the job back with the create sent: the journal says `issuing`.
    if (agentToo) await s.agent.close(0);
    const redis = new Redis(REDIS_URL);
    try {
      const journal = new Journal(redis, s.prefix);
      const want = agentToo ? 'issuing' : 'done';
      await expect.poll(async () => (await journal.get(jobIdOf(id, 'xen1', 'parallel', 0)))?.step, { timeout: 10_000 }).toBe(want);
    } finally {
      redis.disconnect();
    }
    const { xen1: _gone, ...hosts } = s.config.hosts;
    return (await nextBot(s, { ...s.config, hosts })).finalReply(id);
  }

  it('is answered from the journal when the agent finished it, not left "queued" for ever', async () => {
    const s = await start(threeHosts());
    const reply = await startAcrossConfigs(s, false);
    expect(reply.title).toBe('mail started on xen1');
    expect(s.env.sim.fleet.log.entries.filter((e) => /\bcreate\b/.test(e.command))).toHaveLength(1);
  });

  it('says its outcome is not followed any more when the journal does not know it, rather than "expired"', async () => {
    const s = await start(threeHosts());
    const reply = await startAcrossConfigs(s, true);
    expect(textOf(reply)).toContain(
      "xen1 is no longer in this bot's config, so what became of it is not followed — check on the host before retrying",
    );
    expect(textOf(reply)).not.toContain('expired');
  });

  it.each([
    ['start mail', 'mutation'],
    ['list xen1', 'read'],
  ])('/%s (a %s) still waiting in the queue is withdrawn: it never runs unfollowed, and the reply says so', async (text) => {
    const s = await start(threeHosts());
    // Where mail is defined, known before (a /start resolves its domain from the fleet view).
    expect((await ask(s, 'list')).title).toMatch(/^Domains/);
    // The agent is alive but takes nothing from xen1's queue (paused): the job waits there.
    const queue = new Queue(hostQueueName('xen1'), { connection: { url: REDIS_URL }, prefix: s.prefix });
    try {
      await queue.pause();
      const sent = s.env.sim.fleet.log.entries.length;
      const id = `ev-${++counter}`;
      const req = chatRequest(id, text);
      await s.bot.core.handle(req, targetOf(req));
      const jobId = jobIdOf(id, 'xen1', 'parallel', 0);
      await expect.poll(async () => (await queue.getJob(jobId))?.id, { timeout: 10_000 }).toBe(jobId);
      await s.bot.stop();
      const { xen1: _gone, ...hosts } = s.config.hosts;
      const reply = await (await nextBot(s, { ...s.config, hosts })).finalReply(id);
      expect(textOf(reply)).toContain("xen1 is no longer in this bot's config — withdrawn: nothing was done, and it will not run later");
      expect(await queue.getJob(jobId)).toBeUndefined();
      await queue.resume();
      // A job sent after it runs, and the queue empties: the withdrawn one ran neither before nor beside it.
      const meta = { requestId: 'probe', person: 'alice', platform: 'terminal', userId: 'alice', channelId: 'c', command: 'list' };
      await queue.add('domain.list', { op: 'domain.list', host: 'xen1', meta }, { jobId: 'probe' });
      await expect.poll(async () => (await queue.getJob('probe'))?.finishedOn, { timeout: 10_000 }).toBeDefined();
      expect(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).toEqual({
        waiting: 0,
        active: 0,
        delayed: 0,
        prioritized: 0,
      });
      const toXen1 = s.env.sim.fleet.log.entries.slice(sent).filter((e) => e.host === 'xen1');
      expect(toXen1.filter((e) => /\bxl create\b/.test(e.command))).toEqual([]);
      expect(toXen1.filter((e) => /\bxl list\b/.test(e.command))).toHaveLength(1);
    } finally {
      await queue.close();
    }
  });
});

describe('/rebalance against simulated hosts', () => {
  it('suggests with known numbers (moving nothing), then --run moves exactly that and reads it back', async () => {
    // xen1 (16 GiB): Dom0 2048 + a 4096 + b 3072 + c 2048 = 11264 used (69%); xen2 (16 GiB): Dom0 only, 2048 (13%).
    const s = await start(
      unevenFleet({ xen3: { toolstack: 'xl', totalMemoryMiB: 4096, domains: [{ name: 'z', memoryMiB: 1024, vcpus: 1, running: true }] } }),
    );
    const r = await ask(s, 'rebalance xen1 xen2');
    expect(r.title).toBe('Rebalance: 1 suggested migration');
    const hosts = r.blocks.find((b) => b.type === 'table');
    if (hosts?.type !== 'table') throw new Error('no host table');
    // Moving a (4096) leaves 44% and 38%; b would leave 50/31, c 56/25: a evens it out most.
    expect(hosts.table.rows.map((row) => [row[0], row[1], row[2], row[3], row[6]])).toEqual([
      ['xen1', '11 GiB (69%)', '7 GiB (44%)', '9 GiB', '3 → 2'],
      ['xen2', '2 GiB (13%)', '6 GiB (38%)', '10 GiB', '0 → 1'],
    ]);
    const text = textOf(r);
    expect(text).toMatch(/1\s+a\s+4 GiB\s+\S+\s+xen1\s+xen2/);
    expect(text).toContain('spread of memory use (max − min): 56% → 6% (no further move evens it out); every target keeps 512 MiB free');
    expect(text).toContain(
      'to run them: /rebalance xen1 xen2 --run — one approval for all; each move needs domain.migrate on both its hosts (those you may not make are left out)',
    );
    expect(migrations(s)).toEqual([]);

    const ran = await ask(s, 'rebalance xen1 xen2 --run');
    expect(ran.title).toBe('Rebalanced: 1 guest moved');
    expect(textOf(ran)).toMatch(/✔ 1\. a → xen2: running there as id \d+ \(verified\)/);
    expect(running(s)).toEqual({ xen1: ['b', 'c'], xen2: ['a'], xen3: ['z'] });
    expect(migrations(s)).toHaveLength(1);
  });
});

/* /evacuate when the hosts are not as tidy as the plan: guests the plan leaves behind, guests stopped by hand. */
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

describe('/evacuate --shutdown-rest when no host can take a guest', () => {
  // --shutdown-rest shuts down the guests left over once the others moved: with every target out, that would be
  // every guest — an evacuation turned into a mass shutdown.
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
    expect((await ask(s, 'freeze xen2 2h disk swap')).title).toBe('Frozen: xen2');
    const r = await ask(s, 'evacuate xen1 --shutdown-rest');
    const text = textOf(r);
    expect(r.tone).toBe('error');
    expect(text).toContain(
      'no host can take a guest from xen1, so nothing was planned and nothing was moved; not considered: xen2 is frozen',
    );
    expect(text).toContain('--shutdown-rest shuts down only the guests that fit nowhere after the others moved');
    expect(text).toContain('/stop');
    expect(s.env.sim.fleet.log.entries.filter((e) => /\b(shutdown|destroy|migrate)\b/.test(e.command))).toEqual([]);
    expect(running(s)['xen1']).toEqual(['db', 'web']);
  });
});

/** wendy may act on the web* guests only (operate and migrate): the relay leaves the others out of what she reads. */
function scopedToWeb(env: SimEnv, prefix: string): Config {
  return Config.parse({
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
}

describe('/evacuate by someone scoped to some guests: the read-back after the last step', () => {
  it('GIVEN payroll (outside wendy’s scope) is started on xen1 while her plan runs THEN the reply neither names it nor says xen1 is empty', async () => {
    const s = await start(
      {
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
      },
      scopedToWeb,
    );
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb1\b/, ms: 1_000 });
    const id = `ev-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1', 'wendy');
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb1\b/, timeoutMs: 10_000 });
    s.env.sim.fleet.addDomain(s.env.sim.fleet.host('xen1'), { name: 'payroll', memoryMiB: 1024, vcpus: 1, flags: '-b----' });
    const r = await s.adapter.finalReply(id);
    // What the host really holds: payroll runs there.
    expect(running(s)['xen1']).toEqual(['payroll']);
    const text = `${r.title}\n${textOf(r)}`;
    expect(text).not.toMatch(/payroll/);
    expect(r.title).not.toMatch(/^xen1 evacuated: /);
    expect(text).not.toContain('no guest runs on xen1');
    expect(r.title).toBe('xen1 evacuated of every guest you may see: 1 guest moved');
    expect(text).toContain('read back after the last step: no guest you may see runs on xen1');
    expect(text).toContain('guests outside your scope are not shown to you');
    expect(r.tone).toBe('warning');
    expect(text).toContain('xen1 is now frozen (mutating commands refused) until /unfreeze');
  });

  it('GIVEN payroll (outside wendy’s scope) runs on xen1 with its migration left unfinished THEN her plan is refused, payroll counted, not named', async () => {
    const s = await start(
      {
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
      },
      scopedToWeb,
    );
    const r = await ask(s, 'evacuate xen1', 'wendy');
    expect(textOf(r)).not.toMatch(/payroll/);
    expect(textOf(r)).toContain('xen1 runs 1 guest outside your scope, which you may not migrate: nothing was planned');
    // Nothing moved: she could not have emptied xen1.
    expect(s.env.sim.fleet.log.entries.filter((e) => /\bmigrate\b/.test(e.command))).toEqual([]);
    expect(running(s)['xen1']).toEqual(['payroll', 'web1']);
  });
});

describe('/evacuate: a target that lost its room while the plan ran', () => {
  /**
   * threeHosts' plan: web → xen2 (3072 free → 1024), db → xen3 (6144 → 5120), gateway → xen2 (1024 → 512). While
   * step 1 is held on xen1, `fill` takes 5120 MiB of xen3 (free 1024): db there would leave 0, under the reserve.
   */
  async function fillXen3DuringStep1(fill: (s: SimStack) => void): Promise<{ s: SimStack; r: Reply }> {
    const s = await start(threeHosts());
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 1_000 });
    const id = `evac-${++counter}`;
    const req = chatRequest(id, 'evacuate xen1');
    await s.bot.core.handle(req, targetOf(req));
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    fill(s);
    return { s, r: await s.adapter.finalReply(id) };
  }

  it('GIVEN a copy toward xen3 is under way (big--incoming, paused, holding its memory) THEN step 2 is not sent, and the reply says why', async () => {
    const { s, r } = await fillXen3DuringStep1((x) =>
      x.env.sim.fleet.addDomain(x.env.sim.fleet.host('xen3'), { name: 'big--incoming', memoryMiB: 5120, vcpus: 1, flags: '--p---' }),
    );
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    const lines = textOf(r).split('\n');
    expect(lines[0]).toMatch(/^✔ 1\. web → xen2: running there as id \d+ \(verified\)$/);
    expect(lines[1]).toBe(
      '✖ 2. db → xen3: failed — xen3 has 1024 MiB free now: db (1024 MiB) would leave it 0 MiB, under the 512 MiB it must keep free (fleet.memoryReserveMiB) — not migrated; nothing was sent',
    );
    expect(lines[2]).toBe('– 3. gateway → xen2: not attempted');
    expect(lines[3]).toBe('moved: web → xen2');
    expect(lines[4]).toBe('not moved, still on xen1: db (failed), gateway (not attempted)');
    expect(migrations(s).map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''))).toEqual(['web xen2']);
    expect(running(s)).toEqual({ xen1: ['db', 'gateway'], xen2: ['files', 'web'], xen3: ['big--incoming'] });
  });

  it('GIVEN a guest started on xen3 meanwhile THEN db is not migrated there', async () => {
    const { s, r } = await fillXen3DuringStep1((x) =>
      x.env.sim.fleet.addDomain(x.env.sim.fleet.host('xen3'), { name: 'batch', memoryMiB: 5120, vcpus: 1, flags: '-b----' }),
    );
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    expect(textOf(r)).toContain('✖ 2. db → xen3: failed — xen3 has 1024 MiB free now');
    expect(running(s)).toEqual({ xen1: ['db', 'gateway'], xen2: ['files', 'web'], xen3: ['batch'] });
  });
});
