import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProcessHandle, ProcessHarness } from '../helpers/processes.ts';
import { freePort, type PrivateRedis, startPrivateRedis } from '../helpers/redis-server.ts';

const RIGHT = 'right-Redis-pass-4k9q2';
const WRONG = 'wrong-Redis@pass-7x3m8';

/** All a process printed: stdout (the terminal chat), stderr and its log file. */
function everything(p: ProcessHandle): string {
  return [...p.stdout.lines, ...p.stderr.lines, ...p.log.lines].join('\n');
}

/**
 * The real agent and bot, at debug level, on a Redis that refuses their password and on one that is not there: each
 * says it is waiting for Redis (and why), again and again, and never writes the password, encoded or not.
 */
describe.runIf(process.env['XENOPS_FAULT_TESTS'] === '1')('a Redis password never in the processes’ output', () => {
  let redis: PrivateRedis;
  let h: ProcessHarness;
  beforeAll(async () => {
    redis = await startPrivateRedis({ password: RIGHT });
    h = new ProcessHarness({ redisUrl: redis.url, logLevel: 'debug' });
    await h.startSim();
  });
  afterAll(async () => {
    await h?.stopAll();
    await redis?.stop();
  });

  it.each([
    ['refused', async () => `redis://:${encodeURIComponent(WRONG)}@127.0.0.1:${redis.port}`, /WRONGPASS/],
    ['unreachable', async () => `redis://xenops:${encodeURIComponent(WRONG)}@127.0.0.1:${await freePort()}`, /ECONNREFUSED/],
  ])('%s', async (_name, urlOf, why) => {
    const env = { REDIS_URL: await urlOf() };
    const agent = await h.startAgent({ awaitStart: false, env });
    const bot = await h.startBot({ awaitStart: false, env });
    // Both have met the failure more than once (the first retry, and what the clients said at debug level).
    const again = new RegExp(`waiting for Redis at .*${why.source}.*attempt 3`);
    await Promise.all([agent.waitForLine(again, 30_000, { stream: 'stderr' }), bot.waitForLine(again, 30_000, { stream: 'log' })]);
    agent.kill('SIGKILL');
    bot.kill('SIGKILL');
    await Promise.all([agent.exited, bot.exited]);
    const out = `${everything(agent)}\n${everything(bot)}`;
    expect(out).toMatch(/redis:\/\/(xenops)?:\[redacted\]@127\.0\.0\.1/);
    expect(out).not.toContain(WRONG);
    expect(out).not.toContain(encodeURIComponent(WRONG));
    expect(out).not.toContain('pass-7x3m8');
  });
});
