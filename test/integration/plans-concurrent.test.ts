import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import type { SimFleetSpec } from '../../src/sim/index.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type OperatorsStack, operatorsPerTest, sendAs } from '../helpers/operators.ts';
import { REDIS_URL } from '../helpers/redis.ts';
import { unevenFleet } from '../helpers/sim.ts';

/** Several operators at once against plans (/evacuate, /rebalance --run): the real bot, agent, Redis and simulator. */

type Stack = OperatorsStack<CaptureAdapter>;
const start = operatorsPerTest(() => new CaptureAdapter());

let counter = 0;
const send = (s: Stack, text: string, user = 'alice', id = `hc-${++counter}`) => sendAs(s, text, user, id);
async function ask(s: Stack, text: string, user = 'alice'): Promise<Reply> {
  return s.adapter.finalReply(await send(s, text, user));
}
function textOf(r: Reply): string {
  return r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'fields' ? '' : b.text)).join('\n');
}
const migrations = (s: Stack) =>
  s.env.sim.fleet.log.entries
    .filter((e) => /\bmigrate\b/.test(e.command))
    .map((e) => e.command.replace(/'/g, '').replace(/^.*\bmigrate /, ''));
function running(s: Stack): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, h] of s.env.sim.fleet.hosts)
    out[name] = h.domains
      .filter((d) => d.name !== 'Domain-0')
      .map((d) => d.name)
      .sort();
  return out;
}

/** As evacuate.test.ts: web → xen2, db → xen3, gateway → xen2 (`spare`: an empty xen4 too, which no step targets). */
function threeHosts(spare = false): SimFleetSpec {
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
        ],
      },
      xen2: { toolstack: 'xl', totalMemoryMiB: 6144, domains: [{ name: 'files', memoryMiB: 1024, vcpus: 1, running: true }] },
      xen3: { toolstack: 'xl', totalMemoryMiB: 8192, domains: [] },
      ...(spare ? { xen4: { toolstack: 'xl' as const, totalMemoryMiB: 8192, domains: [] } } : {}),
    },
  };
}

describe('/freeze of a target host while an /evacuate runs', () => {
  it('the next step, a migration TO the frozen host, is refused (a /migrate there would be), and the plan says so', async () => {
    const s = await start(threeHosts());
    // Step 1 (web → xen2) held on xen1 while bob freezes xen3 for maintenance.
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 3_000 });
    const evac = await send(s, 'evacuate xen1');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    const froze = await ask(s, 'freeze xen3 2h kernel upgrade', 'bob');
    expect(textOf(froze)).toMatch(/xen3/);
    // The freeze is in force before step 1 ended: step 2 (db → xen3) is queued only after this.
    expect(s.env.sim.log.query({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, ended: true })).toEqual([]);
    // A /migrate to xen3 by anyone now is refused: the freeze is in force.
    const single = await ask(s, 'migrate xen1:gateway xen3', 'bob');
    expect(single.title).toBe('Frozen');
    const r = await s.adapter.finalReply(evac);
    // What the hosts received: db must not have been migrated onto the frozen xen3.
    expect(migrations(s)).toEqual(['web xen2']);
    expect(running(s)['xen3']).toEqual([]);
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
    expect(textOf(r)).toMatch(/✖ 2\. db → xen3: .*frozen/);
  }, 30_000);

  it('a /freeze of the SOURCE host mid-evacuation stops the next migration off it too (mutations refused there)', async () => {
    const s = await start(threeHosts());
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 3_000 });
    const evac = await send(s, 'evacuate xen1');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    await ask(s, 'freeze xen1 2h stop everything', 'bob');
    expect(s.env.sim.log.query({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, ended: true })).toEqual([]);
    const r = await s.adapter.finalReply(evac);
    expect(migrations(s)).toEqual(['web xen2']);
    expect(r.title).toBe('Evacuation of xen1 stopped at step 2 of 3');
  }, 30_000);
});

describe('a plan step whose guest someone else moved or removed between steps', () => {
  it('bob /migrate db → xen4 while step 1 runs: the evacuation must not say db is "still on xen1"', async () => {
    // To xen4: one bound for xen2 would wait for step 1's hold there (one migration arriving at a time).
    const s = await start(threeHosts(true));
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 3_000 });
    const evac = await send(s, 'evacuate xen1');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    // db's lock is not the plan's yet (a plan locks each step's domain when that step is queued): bob may move it.
    const bobs = await ask(s, 'migrate xen1:db xen4', 'bob');
    expect(bobs.title).toMatch(/db/);
    expect(bobs.kind).toBe('result');
    expect(s.env.sim.log.query({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, ended: true })).toEqual([]);
    const r = await s.adapter.finalReply(evac);
    const text = textOf(r);
    // Where db really is: on xen4 (bob's migration), not on xen1.
    expect(running(s)['xen4']).toContain('db');
    expect(running(s)['xen1']).not.toContain('db');
    // Was "not moved, still on xen1: db (failed)".
    expect(text).not.toMatch(/still on xen1: [^\n]*\bdb\b/);
  }, 30_000);

  it('db destroyed on the host between steps (sim fleet API): the reply must not say it is "still on xen1"', async () => {
    const s = await start(threeHosts());
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bweb\b/, ms: 2_000 });
    const evac = await send(s, 'evacuate xen1');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bweb\b/, timeoutMs: 10_000 });
    const xen1 = s.env.sim.fleet.host('xen1');
    const db = s.env.sim.fleet.findDomain(xen1, 'db');
    if (!db) throw new Error('no db');
    s.env.sim.fleet.removeDomain(xen1, db);
    const r = await s.adapter.finalReply(evac);
    expect(running(s)['xen1']).not.toContain('db');
    expect(migrations(s)).toEqual(['web xen2']);
    expect(textOf(r)).not.toMatch(/still on xen1: [^\n]*\bdb\b/);
  }, 30_000);
});

describe('/rebalance --run while a /stop of one of its guests is in flight', () => {
  it('is refused at once as busy with the stop; nothing migrates; the stop is told the truth', async () => {
    const s = await start(unevenFleet());
    s.env.sim.faults.delayNext('xen1', { match: /\bshutdown\b/, ms: 1_500 });
    const stop = await send(s, 'stop a', 'bob');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bshutdown\b/, timeoutMs: 10_000 });
    const r = await ask(s, 'rebalance xen1 xen2 --run');
    expect(r.title).toBe('Busy');
    expect(textOf(r)).toContain("a is busy: bob's stop on xen1");
    expect((await s.adapter.finalReply(stop)).title).toBe('a shut down on xen1');
    expect(migrations(s)).toEqual([]);
  }, 30_000);
});

describe('/freeze of the source while the LAST step of an /evacuate runs', () => {
  it("bob's freeze (its reason, its end) is kept: the evacuation's own freeze does not silently replace it", async () => {
    const s = await start(threeHosts());
    s.env.sim.faults.delayNext('xen1', { match: /\bmigrate\b.*\bgateway\b/, ms: 3_000 });
    const evac = await send(s, 'evacuate xen1');
    await s.env.sim.log.waitFor({ host: 'xen1', match: /\bmigrate\b.*\bgateway\b/, timeoutMs: 10_000 });
    await ask(s, 'freeze xen1 2h kernel upgrade', 'bob');
    const redis = new Redis(REDIS_URL);
    try {
      const r = await s.adapter.finalReply(evac);
      expect(r.title).toBe('xen1 evacuated: 3 guests moved');
      // Was replaced by {by: alice, reason: evacuated, until: null}, with nothing said.
      expect(JSON.parse((await redis.hget(`${s.prefix}:freezes`, 'xen1')) ?? 'null')).toMatchObject({
        by: 'bob',
        reason: 'kernel upgrade',
      });
      expect(textOf(r)).toMatch(/xen1 was frozen meanwhile and that freeze is kept: xen1 is frozen until .* \(bob: kernel upgrade\)/);
    } finally {
      redis.disconnect();
    }
  }, 30_000);
});
