import { afterEach, describe, expect, it } from 'vitest';
import type { ProcessHarness } from '../helpers/processes.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { answerAt, ask, FINAL, killAgentDuring, killNextAgentWhileResuming, received, startRun } from './support.ts';

/**
 * Crashes mid-operation, with the real processes: the agent SIGKILLed during a start and a migration (once and
 * twice in one job), Redis killed while a migration runs. Each gives one true final reply, and the hosts receive
 * each mutating command exactly once.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('crashes mid-operation', () => {
  let h: ProcessHarness | null = null;
  let redis: PrivateRedis | null = null;
  afterEach(async () => {
    await h?.stopAll();
    await redis?.stop();
    h = null;
    redis = null;
  });

  it('an agent killed during a start: the restarted agent reads the state back and says the start happened', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    // The create is slow enough on the host to kill the agent while it runs; it completes on the Dom0 regardless.
    const { mark } = await killAgentDuring(run, '/start mail', { host: 'xen1', match: '\\bcreate\\b', delayMs: 1500 });
    await run.h.startAgent();
    const final = await bot.waitForLine(FINAL, 60_000, { from: mark });
    const answer = answerAt(bot, mark, final.index);
    expect(answer.title).toBe('✔ mail started on xen1');
    expect(answer.body[0]).toMatch(
      /^interrupted mid-way \(an agent or Redis restart\) and resumed; state read back: id \d+, (running|blocked)$/,
    );
    // The user was told while the job waited for an agent to resume it.
    expect(bot.lines.slice(mark).join('\n')).toContain('the agent running this stopped responding');
    expect(answer.finals).toHaveLength(1);
    expect(await received(sim, 'xen1', /\bcreate\b/)).toBe(1);
    // Nothing more arrives for it: a second final reply would show up before the next request's answer.
    const next = await ask(bot, '/list xen1');
    expect(next.title).toBe('✔ Domains on xen1');
    expect(answerAt(bot, mark, final.index).finals).toHaveLength(1);
  });

  it('an agent killed twice in the same start job still gives one true reply and one create', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    const { mark } = await killAgentDuring(run, '/start mail', { host: 'xen1', match: '\\bcreate\\b', delayMs: 1500 });
    // The resumed job reads the state back with `xl list`: the second agent dies during that read.
    await killNextAgentWhileResuming(run, 'xen1');
    await run.h.startAgent();
    const final = await bot.waitForLine(FINAL, 60_000, { from: mark });
    const answer = answerAt(bot, mark, final.index);
    expect(answer.title).toBe('✔ mail started on xen1');
    expect(answer.body[0]).toMatch(/^interrupted mid-way \(an agent or Redis restart\) and resumed; state read back/);
    expect(answer.finals).toHaveLength(1);
    expect(await received(sim, 'xen1', /\bcreate\b/)).toBe(1);
  });

  it('an agent killed during a migration: the migration stops with its client, and the reply says nothing moved', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    const { mark } = await killAgentDuring(run, '/migrate web xen2', { host: 'xen1', match: '\\bmigrate\\b', delayMs: 2000 });
    await run.h.startAgent();
    const final = await bot.waitForLine(FINAL, 60_000, { from: mark });
    const answer = answerAt(bot, mark, final.index);
    expect(answer.title).toBe('✖ Migration of web failed');
    expect(answer.body.join('\n')).toMatch(/interrupted.*web is still running on xen1.*nothing (moved|was moved)/s);
    expect(answer.finals).toHaveLength(1);
    expect(await received(sim, 'xen1', /\bmigrate\b/)).toBe(1);
    const state = await sim.state();
    expect(state.hosts['xen1']?.domains.map((d) => d.name)).toContain('web');
    expect(state.hosts['xen2']?.domains.map((d) => d.name)).not.toContain('web');
  });

  it('an agent killed during a migration and again during its resumption: one true reply, one migration', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    const { mark } = await killAgentDuring(run, '/migrate web xen2', { host: 'xen1', match: '\\bmigrate\\b', delayMs: 2000 });
    // The resumed job reads both hosts back: the second agent dies during its read of xen1.
    await killNextAgentWhileResuming(run, 'xen1');
    await run.h.startAgent();
    const final = await bot.waitForLine(FINAL, 60_000, { from: mark });
    const answer = answerAt(bot, mark, final.index);
    expect(answer.title).toBe('✖ Migration of web failed');
    expect(answer.body.join('\n')).toMatch(/interrupted.*web is still running on xen1.*nothing (moved|was moved)/s);
    expect(answer.finals).toHaveLength(1);
    expect(await received(sim, 'xen1', /\bmigrate\b/)).toBe(1);
  });

  it('Redis killed while a migration runs: after its restart one true reply, one migration', async () => {
    redis = await startPrivateRedis();
    const run = await startRun({ redisUrl: redis.url });
    h = run.h;
    const { sim, bot } = run;
    await sim.addFault({ host: 'xen1', kind: 'delay', ms: 1500, match: '\\bmigrate\\b' });
    const { lastSeq } = await sim.log();
    const mark = bot.lines.length;
    bot.write('/migrate web xen2');
    await sim.waitForLog({ host: 'xen1', match: '\\bmigrate\\b', since: lastSeq, timeoutMs: 30_000 });
    await redis.kill('SIGKILL');
    // The migration goes on on the hosts (SSH does not need Redis) and finishes while Redis is down.
    await sim.waitForLog({ host: 'xen1', match: '\\bmigrate\\b', since: lastSeq, ended: true, timeoutMs: 30_000 });
    await redis.restart();
    const final = await bot.waitForLine(FINAL, 90_000, { from: mark });
    const answer = answerAt(bot, mark, final.index);
    expect(answer.title).toBe('✔ web moved from xen1 to xen2');
    expect(answer.finals).toHaveLength(1);
    expect(await received(sim, 'xen1', /\bmigrate\b/)).toBe(1);
    const next = await ask(bot, '/list xen2');
    expect(next.body.some((l) => /^xen2\s+web\s+\d+/.test(l))).toBe(true);
    expect(answerAt(bot, mark, final.index).finals).toHaveLength(1);
  });
});
