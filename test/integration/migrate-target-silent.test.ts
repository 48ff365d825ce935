import { describe, expect, it } from 'vitest';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { type OperatorsStack, operatorsPerTest } from '../helpers/operators.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { twoHostFleet } from '../helpers/sim.ts';
import { bodyOf as textOf } from '../helpers/status-outcomes.ts';

/**
 * /migrate web xen2 (real bot, agent, SSH pool and simulator) whose target stops answering while `xl migrate` runs on
 * xen1: xl's ssh transport waits on TCP, so xl migrate says nothing, for as long as its timeout (30 min). The asker
 * must hear within a bounded time that xen2 stopped answering while xl migrate still runs (and when it answers
 * again), and the final reply still comes from xl migrate's end or its timeout. The agent checks the target every
 * `migrateCheckMs` (1 s here): the line must come within two of those, plus delivery.
 */

type Stack = OperatorsStack;
const perTest = operatorsPerTest(() => new CaptureAdapter());

const CHECK_MS = 1_000;

async function start(migrateTimeoutMs?: number): Promise<Stack> {
  return perTest(twoHostFleet(), [
    {
      // A read of the silent target gives up after 2 s (30 s by default).
      ssh: { commandTimeoutMs: 2_000 },
      timings: { driver: { migrateCheckMs: CHECK_MS, ...(migrateTimeoutMs ? { migrateTimeoutMs } : {}) } },
    },
  ]);
}

/** Every progress line delivered for the request so far. */
const progressOf = (s: Stack, id: string) =>
  s.adapter.delivered.filter((d) => d.target.requestId === id && d.reply.kind === 'progress').map((d) => textOf(d.reply));

/** Resolves with the first progress line matching `re` (rejects after `timeoutMs`), and when it came (epoch ms). */
async function progressLine(s: Stack, id: string, re: RegExp, timeoutMs: number): Promise<{ line: string; at: number }> {
  await s.adapter.until(() => progressOf(s, id).some((l) => re.test(l)), timeoutMs, `a progress line matching ${re}`);
  return { line: progressOf(s, id).find((l) => re.test(l)) ?? '', at: Date.now() };
}

/**
 * Sends /migrate web xen2 with xen2's end of the stream silent (a hang on `xl migrate-receive`: the copy stalls), and
 * once xl migrate runs on xen1, xen2 stops answering anything. Resolves with when that happened and the two faults.
 */
async function migrateIntoSilence(s: Stack, id: string): Promise<{ silentAt: number; stream: string; host: string }> {
  const since = s.env.sim.log.lastSeq;
  const stream = (await s.env.sim.faults.add('xen2', { kind: 'hang', match: /migrate-receive/, times: 0 })).id;
  const req = chatRequest(id, 'migrate web xen2');
  await s.bot.core.handle(req, targetOf(req));
  await s.env.sim.log.waitFor({ host: 'xen1', match: /xl migrate/, since, timeoutMs: 10_000 });
  const host = (await s.env.sim.faults.add('xen2', { kind: 'hang', times: 0 })).id;
  return { silentAt: Date.now(), stream, host };
}

describe('/migrate whose target stops answering while xl migrate runs', () => {
  it('GIVEN xen2 goes silent and comes back THEN the asker is told of both while xl migrate runs, and the guest moves', async () => {
    const s = await start();
    const { silentAt, stream, host } = await migrateIntoSilence(s, 'silent-1');
    const silent = await progressLine(s, 'silent-1', /xen2 stopped answering/, 3 * CHECK_MS + 2_000);
    // Two check intervals at most (one to send the check, one without its answer), plus delivery.
    expect(silent.at - silentAt).toBeLessThan(2 * CHECK_MS + 1_500);
    expect(silent.line).toMatch(/xl migrate is still running on xen1/);
    // Never stopped: killing it mid-copy could leave web suspended on xen1.
    expect(s.env.sim.log.entries.filter((e) => e.host === 'xen1' && /xl migrate/.test(e.command) && e.end)).toEqual([]);
    expect(s.adapter.finals('silent-1')).toEqual([]);

    // xen2 answers the agent again (its hung read gives up after 2 s, the next one is answered); the stream still stalls.
    await s.env.sim.faults.remove(host);
    const back = await progressLine(s, 'silent-1', /xen2 answers again/, 2_000 + 3 * CHECK_MS + 2_000);
    expect(back.line).toMatch(/xl migrate is still running on xen1/);

    await s.env.sim.faults.remove(stream);
    const final = await s.adapter.finalReply('silent-1');
    expect(final.title).toBe('web moved from xen1 to xen2');
    expect(s.env.sim.fleet.findDomain(s.env.sim.fleet.host('xen2'), 'web')).toBeDefined();
  }, 30_000);

  it('GIVEN xen2 stays silent until xl migrate times out THEN the asker is told at once, and the final reply is an unknown outcome', async () => {
    const s = await start(6_000);
    const { silentAt } = await migrateIntoSilence(s, 'silent-2');
    const silent = await progressLine(s, 'silent-2', /xen2 stopped answering/, 3 * CHECK_MS + 2_000);
    expect(silent.at - silentAt).toBeLessThan(2 * CHECK_MS + 1_500);
    expect(s.adapter.finals('silent-2')).toEqual([]);
    const final = await s.adapter.finalReply('silent-2');
    // Unanswered, and xen2 unread: nothing known of where web is, and nothing re-run.
    expect(final.title).toBe('Migration of web: outcome unknown');
    const text = textOf(final);
    expect(text).toContain('xl migrate did not finish within 6 s on xen1; it may still be running there');
    expect(text).toContain('could not read the state of web on xen2');
    expect(text).toMatch(/nothing was re-run — check both hosts$/);
    expect(text).not.toMatch(/failed/);
    // The simulator's xl migrate died with its channel: web never left xen1.
    expect(s.env.sim.fleet.findDomain(s.env.sim.fleet.host('xen1'), 'web')).toBeDefined();
  }, 30_000);
});

/**
 * The same watch with a target that is slow but answers every read: its list takes longer than one check interval
 * (1 s here, 20 s by default) yet well within the command timeout (5 s). While xl migrate runs the agent reads xen2
 * every interval; a read that answers, late, is no silence: the asker must not be told that xen2 stopped answering.
 */
describe('/migrate whose target answers slowly while xl migrate runs', () => {
  it('GIVEN every list of xen2 takes 1.6 s (checks every 1 s, timeout 5 s) THEN no "stopped answering" is said', async () => {
    const s = await perTest(twoHostFleet(), [{ ssh: { commandTimeoutMs: 5_000 }, timings: { driver: { migrateCheckMs: CHECK_MS } } }]);
    const { env, bot, adapter } = s;

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
    const lines = progressOf(s, 'slow-1');
    expect(lines.filter((l) => /stopped answering/.test(l))).toEqual([]);
  }, 40_000);
});
