import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Bot, createBot } from '../../src/app/bot.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ChatRequest } from '../../src/core/request.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { FakeTelegram } from '../helpers/fake-telegram/server.ts';
import type { ProcessHarness } from '../helpers/processes.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger } from '../helpers/sim.ts';
import { ask, received, startRun } from './support.ts';

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * The fleet-wide invariants and "nothing waits forever", with the real processes: each scenario asserts the exact
 * final reply, how many replies, and how many times the simulated hosts received each mutating command.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('fleet-wide guarantees', () => {
  let h: ProcessHarness | null = null;
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await h?.stopAll();
    h = null;
  });

  it('after /migrate web xen2, /start xen1:web is refused naming xen2, and the bare name means the running copy', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    const moved = await ask(bot, '/migrate web xen2');
    expect(moved.title).toBe('✔ web moved from xen1 to xen2');
    const again = await ask(bot, '/start xen1:web');
    expect(again.title).toBe('✖ Cannot do that');
    expect(again.body).toEqual(['web is running on xen2 — starting it on xen1 would run it twice']);
    expect(again.finals).toHaveLength(1);
    expect(again.progress).toEqual([]); // refused before anything was queued
    const back = await ask(bot, '/migrate web xen1');
    expect(back.title).toBe('✔ web moved from xen2 to xen1');
    expect(await received(sim, 'xen1', /\bcreate\b/)).toBe(0);
    expect(await received(sim, 'xen2', /\bcreate\b/)).toBe(0);
  });

  it('refuses Domain-0, unknown and same hosts, and an out-of-scope target, before queueing; nothing reaches a host', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    const dom0 = await ask(bot, '/stop xen1:Domain-0 --force');
    expect(dom0.title).toBe('✖ Cannot do that');
    expect(dom0.body).toEqual(["Domain-0 is the host's own domain: /stop cannot target it"]);
    expect(dom0.progress).toEqual([]);
    const unknown = await ask(bot, '/migrate files xen9');
    expect(unknown.body).toEqual(['no host named xen9 (hosts: xen1, xen2)']);
    const same = await ask(bot, '/migrate files xen2');
    expect(same.body).toEqual(['files is already on xen2: nothing to move']);
    const dave = await ask(bot, '@dave /migrate files xen1');
    expect(dave.title).toBe('✖ Not allowed');
    expect(dave.body).toEqual(['dave may not run /migrate to xen1: needs permission domain.migrate on xen1/files']);
    const hidden = await ask(bot, '@dave /stop gateway');
    expect(hidden.body).toEqual(['no domain named gateway on xen2']);
    for (const host of ['xen1', 'xen2']) expect(await received(sim, host, /\b(migrate|destroy|shutdown|create)\b/)).toBe(0);
  });

  it('a dropped connection during a state check is retried on a fresh connection, not an unknown outcome', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    const { lastSeq } = await sim.log();
    await sim.addFault({ host: 'xen1', kind: 'drop', match: '\\blist\\b' });
    const stop = await ask(bot, '/stop gateway');
    expect(stop.title).toBe('✔ gateway shut down on xen1');
    expect(stop.finals).toHaveLength(1);
    expect(await received(sim, 'xen1', /\blist\b/, lastSeq)).toBeGreaterThanOrEqual(2);
    expect(await received(sim, 'xen1', /\bshutdown\b/, lastSeq)).toBe(1);
  });

  it('a connection cut while `xl shutdown -w` waits is followed by polling, and the reply is the true end state', async () => {
    const run = await startRun();
    h = run.h;
    const { sim, bot } = run;
    const { lastSeq } = await sim.log();
    const mark = bot.lines.length;
    bot.write('/stop web');
    await sim.waitForLog({ host: 'xen1', match: '\\bshutdown\\b', since: lastSeq, timeoutMs: 30_000 });
    await sim.dropConnections('xen1');
    const final = await bot.waitForLine(/^[✔✖ℹ] /, 60_000, { from: mark });
    expect(final.line).toBe('✔ web shut down on xen1');
    expect(bot.lines.slice(mark).join('\n')).not.toContain('--force');
    expect(await received(sim, 'xen1', /\bshutdown\b/, lastSeq)).toBe(1);
    expect(await received(sim, 'xen1', /\bdestroy\b/, lastSeq)).toBe(0);
  });

  it('with no agent running, a mutation is refused at once and a lookup does not claim the domain is missing', async () => {
    const run = await startRun({ agent: false });
    h = run.h;
    const { sim, bot } = run;
    const explicit = await ask(bot, '/stop xen1:web');
    expect(explicit.title).toBe('✖ No agent');
    expect(explicit.body).toEqual(['no agent serves xen1 — none has ever been seen']);
    expect(explicit.progress).toEqual([]);
    const bare = await ask(bot, '/stop web');
    expect(bare.title).toBe('✖ Cannot look that up');
    expect(bare.body.join('\n')).not.toContain('no domain named');
    expect(bare.body.join('\n')).toContain('no agent serves xen1');
    // An agent that appears later runs nothing of what was refused.
    await run.h.startAgent();
    const list = await ask(bot, '/list xen1');
    expect(list.title).toBe('✔ Domains on xen1');
    expect(await received(sim, 'xen1', /\b(shutdown|destroy)\b/)).toBe(0);
  });

  it('two bots with different adapters on one prefix: every final reply reaches the terminal once', async () => {
    const run = await startRun();
    h = run.h;
    const fake = new FakeTelegram('123456789:AAtestTOKENtestTOKENtestTOKENtest00');
    await fake.start();
    cleanups.push(() => fake.stop());
    await run.h.startBot({
      adapters: ['--telegram'],
      env: { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_ROOT: fake.apiRoot },
    });
    const lines = ['/list xen1', '/list xen2', '/status', '/list', '/list xen1', '/status'];
    for (const line of lines) {
      const a = await ask(run.bot, line);
      expect(a.finals).toHaveLength(1);
      expect(a.title).toMatch(/^✔ (Domains on|Fleet status)/);
    }
    expect(fake.calls.filter((c) => c.method === 'sendMessage' || c.method === 'editMessageText')).toEqual([]);
  });

  it('50 concurrent start/stop/force-stop requests on one domain from two people never overlap on the host', async () => {
    const run = await startRun();
    h = run.h;
    const { sim } = run;
    // Only the in-process bot below takes terminal requests here (it fires them concurrently, which a terminal cannot).
    run.bot.kill('SIGTERM');
    await run.bot.exited;
    const config = loadConfig(run.h.options.configPath ?? '', { ...process.env, ...run.h.env });
    const adapter = new CaptureAdapter();
    const bot: Bot = await createBot({ config, redis: run.h.redisUrl, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    cleanups.push(() => bot.stop());
    const { lastSeq } = await sim.log();
    const verbs = ['start web', 'stop web', 'stop web --force'];
    const requests: ChatRequest[] = Array.from({ length: 50 }, (_, i) =>
      chatRequest(`c50-${i}`, verbs[i % 3] as string, i % 2 ? 'bob' : 'alice'),
    );
    await Promise.all(requests.map((r) => bot.core.handle(r, targetOf(r))));
    const finals = await Promise.all(requests.map((r) => adapter.finalReply(r.id)));
    for (const r of requests) expect(adapter.finals(r.id)).toHaveLength(1);
    const acted = finals.filter((f) => / (started|shut down|destroyed) on xen1$/.test(f.title)).length;
    const busy = finals.filter((f) => f.title === 'Busy').length;
    expect(acted + busy + finals.filter((f) => /already running|not running/.test(f.title)).length).toBe(50);
    const mutations = (await sim.log({ host: 'xen1', since: lastSeq, match: '\\b(create|shutdown|destroy)\\b', ended: true })).entries;
    expect(mutations).toHaveLength(acted);
    const sorted = [...mutations].sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < sorted.length; i++) {
      const previous = sorted[i - 1];
      const current = sorted[i];
      expect(previous?.end?.at ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(current?.at ?? 0);
    }
  });

  it('SIGTERM stops the bot within 5 s while its stdin is still open, and the demo likewise', async () => {
    const run = await startRun();
    h = run.h;
    const t0 = Date.now();
    run.bot.kill('SIGTERM');
    expect(await run.bot.exited).toMatchObject({ code: 0 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    const demo = spawn(process.execPath, [join(ROOT, 'bin', 'xenops.js'), 'demo'], {
      cwd: ROOT,
      env: { ...process.env, XENOPS_LOG_FILE: join(run.h.runDir, 'demo.log') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    let out = '';
    await new Promise<void>((resolve) => {
      demo.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('> /list')) resolve();
      });
      demo.stdin.write('/list\n');
    });
    const t1 = Date.now();
    demo.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(Date.now() - t1).toBeLessThan(5_000);

    // A script on stdin: the demo exits right after its last reply (it took ~30 s before).
    const scripted = spawn(process.execPath, [join(ROOT, 'bin', 'xenops.js'), 'demo'], {
      cwd: ROOT,
      env: { ...process.env, XENOPS_LOG_FILE: join(run.h.runDir, 'demo-2.log') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const done = new Promise<number | null>((resolve) => scripted.once('exit', (code) => resolve(code)));
    let lastReplyAt = 0;
    let printed = '';
    scripted.stdout.on('data', (c: Buffer) => {
      printed += c.toString();
      if (/✔ Domains on xen1/.test(printed) && lastReplyAt === 0) lastReplyAt = Date.now();
    });
    scripted.stdin.end('/list xen1\n');
    expect(await done).toBe(0);
    expect(lastReplyAt).toBeGreaterThan(0);
    expect(Date.now() - lastReplyAt).toBeLessThan(3_000);
  });
});
