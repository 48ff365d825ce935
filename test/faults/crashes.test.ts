import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, onTestFailed, onTestFinished } from 'vitest';
import { type ProcessHandle, ProcessHarness, started } from '../helpers/processes.ts';
import { type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';
import { answerAt, ask, demoConfigWith, FINAL, killAgentDuring, killNextAgentWhileResuming, received, startRun } from './support.ts';

/** What a process writes when it has lost track of an error: ioredis' raw line, or a stray-error catch-all's. */
const STRAY = /Unhandled error event|uncaught exception|unhandled rejection/;

function strays(p: ProcessHandle): string[] {
  return [...p.stderr.lines, ...p.log.lines].filter((l) => STRAY.test(l));
}

const WAITING = /waiting for Redis at redis:\/\/127\.0\.0\.1:\d+ \(.+\); retrying \(attempt \d+\)/;

/**
 * Crashes mid-operation, with the real processes: the agent SIGKILLed during a start and a migration (once and
 * twice in one job), Redis killed while a migration runs. Each gives one true final reply, and the hosts receive
 * each mutating command exactly once. And Redis not there yet when the agent and the bot start, as after a reboot
 * where systemd starts them alongside it, or compose with a Redis that refuses them: both wait and say so, and serve
 * once it answers (an agent that gave up instead stayed up serving nothing, never ready and never restarted by its
 * supervisor; a bot said "Redis is unreachable" to every command for good).
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

  it('Redis full (maxmemory, noeviction): commands are refused with that reason, nothing reaches a host, all serve again once it has room', async () => {
    redis = await startPrivateRedis();
    const run = await startRun({ redisUrl: redis.url });
    h = run.h;
    const { sim, bot, agent } = run;
    expect((await ask(bot, '/list xen1')).title).toBe('✔ Domains on xen1');
    const admin = new Redis(redis.url);
    try {
      // What an operator's Redis does when it fills up under BullMQ's required policy: every write is refused.
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const { lastSeq } = await sim.log();
      for (const line of ['/start mail', '/list xen1', '/status']) {
        const answer = await ask(bot, line);
        expect(answer.title, line).toBe('✖ Redis is full');
        expect(answer.body.join('\n'), line).toMatch(/maxmemory.*nothing was queued/s);
        expect(answer.finals, line).toHaveLength(1);
      }
      // A command the bot carries out itself is refused the same way: at its first write (the mark that it is being
      // acted on), before any of its own, so it is known to have changed nothing.
      const froze = await ask(bot, '/freeze xen2 1h disk swap');
      expect(froze.title).toBe('✖ Redis is full');
      expect(froze.body.join('\n')).toMatch(/maxmemory.*; nothing was changed$/s);
      // Not a word of Redis's own reply reaches the chat; the bot's log has it.
      expect(bot.lines.join('\n')).not.toMatch(/OOM command|EXECABORT|user_script/);
      // Waited for, not read as it stands: the log file (written asynchronously, tailed through inotify) lags the
      // replies on stdout, seen a refusal's whole answer ahead of its log line; a disk busy with other writes holds it longer.
      await bot.waitForLine(/OOM command not allowed/, 10_000, { stream: 'log' });
      expect(await received(sim, 'xen1', /\bcreate\b/, lastSeq)).toBe(0);

      // The agent meets it too (its heartbeat, every 2 s), and goes on.
      const agentMark = agent?.stderr.lines.length ?? 0;
      await agent?.waitForLine(/"msg":"heartbeat: could not write to Redis; will keep trying"/, 30_000, { stream: 'stderr' });
      await admin.config('SET', 'maxmemory', '0');
      // The agent never stopped: its heartbeat is written again, and it serves.
      await agent?.waitForLine(/"msg":"heartbeat: Redis answers again"/, 30_000, { stream: 'stderr', from: agentMark });
      expect((await ask(bot, '/list xen1')).title).toBe('✔ Domains on xen1');
      const started = await ask(bot, '/start mail');
      expect(started.title).toBe('✔ mail started on xen1');
      expect(await received(sim, 'xen1', /\bcreate\b/, lastSeq)).toBe(1);
      expect(strays(bot)).toEqual([]);
      expect(agent && strays(agent)).toEqual([]);
    } finally {
      admin.disconnect();
    }
  });

  it('Redis loses its data while a start, then a read, run: each gets one final reply saying so, not "queued" for ever', async () => {
    redis = await startPrivateRedis();
    const run = await startRun({ redisUrl: redis.url });
    h = run.h;
    const { sim, bot } = run;
    const admin = new Redis(redis.url);
    onTestFinished(() => admin.disconnect());
    /** Types `line`, waits for its command matching `match` to reach `host`, and flushes Redis under it. */
    const flushedUnder = async (line: string, host: string, match: string) => {
      const since = (await sim.log()).lastSeq;
      const mark = bot.lines.length;
      bot.write(line);
      await sim.waitForLog({ host, match, since, timeoutMs: 30_000 });
      // What a restart without its data, or a failover to a replica that had not caught up, leaves.
      await admin.flushall();
      const final = await bot.waitForLine(FINAL, 30_000, { from: mark });
      // The command ends on the host afterwards; the agent finds its job gone.
      await sim.waitForLog({ host, match, since, ended: true, timeoutMs: 30_000 });
      return { since, mark, final: final.index, answer: answerAt(bot, mark, final.index) };
    };
    // Held on the host long enough to lose Redis's data under it.
    await sim.addFault({ host: 'xen1', kind: 'delay', ms: 3000, match: '\\bcreate\\b' });
    const start = await flushedUnder('/start mail', 'xen1', '\\bcreate\\b');
    // Before: no final reply ever came (200 s watched), though the start took effect on the host.
    expect(start.answer.title).toBe('✖ Start of mail: outcome unknown');
    expect(start.answer.body.join('\n')).toMatch(
      /Redis lost its data while this ran.*whether it took effect is unknown.*check with \/list/s,
    );
    expect(await received(sim, 'xen1', /\bcreate\b/, start.since)).toBe(1);

    // Every list on xen2 held, not just the next one (the agent's sampler lists too).
    await sim.addFault({ host: 'xen2', kind: 'delay', ms: 3000, match: '\\bxl list\\b', times: 0 });
    const list = await flushedUnder('/list xen2', 'xen2', '\\bxl list\\b');
    expect(list.answer.title).toMatch(/^✖ /);
    expect(list.answer.body.join('\n')).toMatch(/Redis lost its data while this ran.*ask again/s);
    // The agent's heartbeat went with the data too: written again within its 2 s, /list is answered (not "no agent").
    await expect.poll(() => admin.exists(`${run.h.prefix}:agents`), { timeout: 10_000 }).toBe(1);

    // Once each, also after the jobs' own ends and the looks for lost requests since.
    const next = await ask(bot, '/list xen1');
    expect(next.title).toBe('✔ Domains on xen1');
    expect(next.body.some((l) => /^xen1\s+mail\s+\d+/.test(l))).toBe(true);
    expect(answerAt(bot, start.mark, start.final).finals).toHaveLength(1);
    expect(answerAt(bot, list.mark, list.final).finals).toHaveLength(1);
    expect(strays(bot)).toEqual([]);
    // The alerts' consumer group went too: made again, not a failed read every second from then on.
    const gone = /"msg":"alerts: the fleet events group is gone/;
    const first = await bot.waitForLine(gone, 10_000, { stream: 'log' });
    await bot.waitForLine(gone, 10_000, { stream: 'log', from: first.index + 1 });
    const lines = bot.log.lines;
    expect(lines.filter((l) => gone.test(l))).toHaveLength(2);
    const lastRemade = lines.findLastIndex((l) => l.includes('"msg":"alerts: the fleet events group is gone'));
    expect(lines.slice(lastRemade + 1).filter((l) => l.includes('reading fleet events failed'))).toEqual([]);
  });

  async function downAtStart(): Promise<{ h: ProcessHarness; redis: PrivateRedis }> {
    redis = await startPrivateRedis();
    await redis.kill('SIGKILL');
    const run = new ProcessHarness({ configPath: demoConfigWith({ 'approvals.enabled': false }), redisUrl: redis.url });
    h = run;
    onTestFailed(() => {
      process.stderr.write(`--- output of the run's processes ---\n${run.lastOutput()}\n`);
    });
    return { h: run, redis };
  }

  it('an agent and a bot started while Redis is down wait for it, say so, serve once it is up, and ride out its restart', async () => {
    const { h, redis } = await downAtStart();
    await h.startSim();
    const agent = await h.startAgent({ awaitStart: false });
    const bot = await h.startBot({ awaitStart: false });
    await agent.waitForLine(WAITING, 30_000, { stream: 'stderr' });
    await bot.waitForLine(WAITING, 30_000, { stream: 'stderr' });
    await redis.restart();
    await started(agent, /"msg":"agent started"/, 30_000);
    await started(bot, /"msg":"bot started"/, 30_000);
    expect((await ask(bot, '/list xen1')).title).toBe('✔ Domains on xen1');

    // Down again under the running agent: every connection it holds reconnects, and none of them writes raw lines.
    const mark = agent.stderr.lines.length;
    const botMark = bot.log.lines.length;
    await redis.kill('SIGKILL');
    await agent.waitForLine(/"msg":"agent: Redis connection error"/, 30_000, { stream: 'stderr', from: mark });
    await redis.restart();
    await bot.waitForLine(/"msg":"Redis is reachable again/, 30_000, { stream: 'log', from: botMark });
    expect((await ask(bot, '/list xen2')).title).toBe('✔ Domains on xen2');
    expect(strays(agent)).toEqual([]);
    expect(strays(bot)).toEqual([]);
  });

  it('SIGTERM while the agent waits for Redis: it exits at once, with 0', async () => {
    const { h, redis } = await downAtStart();
    await h.startSim();
    const agent = await h.startAgent({ awaitStart: false });
    await agent.waitForLine(WAITING, 30_000, { stream: 'stderr' });
    agent.kill('SIGTERM');
    const exit = await Promise.race([agent.exited, new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(strays(agent)).toEqual([]);
    // Up again for the run's clean-up, which deletes its keys.
    await redis.restart();
  });
});
