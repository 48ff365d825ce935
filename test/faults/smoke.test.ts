import { existsSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessHandle, ProcessHarness } from '../helpers/processes.ts';

async function keysUnder(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    return (await redis.keys(`${prefix}*`)).length;
  } finally {
    redis.disconnect();
  }
}

/**
 * The fault suite's smoke test: the three real processes a user runs (sim, agent, bot --terminal), talking over
 * loopback SSH and Redis. Runs under `npm run test:faults` only (vitest.faults.config.ts sets XENOPS_FAULT_TESTS).
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('sim + agent + bot as processes', () => {
  let harness: ProcessHarness;
  let bot: ProcessHandle;

  beforeAll(async () => {
    harness = new ProcessHarness();
    await harness.startSim();
    [, bot] = await Promise.all([harness.startAgent(), harness.startBot()]);
  });

  afterAll(async () => {
    if (!harness) return;
    await harness.stopAll();
    // stopAll leaves nothing behind in Redis.
    expect(await keysUnder(harness.redisUrl, harness.prefix)).toBe(0);
  });

  it('answers /list xen1 typed on the bot’s stdin from the simulated host', async () => {
    const sim = harness.sim;
    if (!sim) throw new Error('no sim');
    const { lastSeq } = await sim.control.log();
    const mark = bot.lines.length;
    bot.write('/list xen1');
    const title = await bot.waitForLine(/^✔ Domains on xen1$/, 30_000, { from: mark });
    const reply = bot.lines.slice(title.index);
    expect(reply.some((l) => /^xen1\s+gateway\s+\d+\s+\S+/.test(l))).toBe(true);
    expect(reply.some((l) => /^xen1\s+web\s+\d+\s+\S+/.test(l))).toBe(true);
    expect(reply.some((l) => /xen2/.test(l))).toBe(false);

    // The agent ran `xl list` on xen1 for it (however it quotes the words, whatever options, with or without sudo).
    const page = await sim.control.waitForLog({ host: 'xen1', match: /\bxl'? '?list\b/, since: lastSeq, timeoutMs: 5_000 });
    const list = page.entries[0];
    expect(list).toMatchObject({ host: 'xen1', end: { how: 'exit', code: 0 } });
    // In one round trip with the config dirs' listings: the agent process wraps its SSH pool to meter it, and that
    // wrapper once hid the pool's batching (four round trips per /list).
    const { entries } = await sim.control.log({ host: 'xen1', since: lastSeq });
    const sameTrip = entries.filter((e) => e.trip === list?.trip).map((e) => e.command);
    expect(sameTrip).toEqual([list?.command, 'ls -1 /etc/xen/vm', 'ls -1 /etc/xen/auto', 'ls -l /etc/xen/auto/']);

    // /status reads each host's info with its list: one round trip per host.
    const before = (await sim.control.log()).lastSeq;
    const statusMark = bot.lines.length;
    bot.write('/status');
    await bot.waitForLine(/^✔ Fleet status$/, 30_000, { from: statusMark });
    const status = (await sim.control.log({ host: 'xen1', since: before })).entries;
    const info = status.find((e) => /\bxl'? '?info\b/.test(e.command));
    expect(status.filter((e) => e.trip === info?.trip).map((e) => e.command)).toEqual([
      list?.command,
      'ls -1 /etc/xen/vm',
      'ls -1 /etc/xen/auto',
      'ls -l /etc/xen/auto/',
      info?.command,
    ]);

    // The run's queues live under its own prefix.
    expect(await keysUnder(harness.redisUrl, harness.prefix)).toBeGreaterThan(0);

    // stdin closing ends the terminal bot cleanly, and its private audit file has the request.
    bot.endInput();
    expect(await bot.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(harness.auditFile)).toBe(true);
    const audit = readFileSync(harness.auditFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { command: string; person: string });
    expect(audit.some((e) => e.command === 'list' && e.person === 'alice')).toBe(true);
  });
});
