import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import type { Reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

/**
 * The agent's own Redis connection (journal, domain locks, heartbeats) goes silent while BullMQ's still answers: a
 * half-open connection that no error reports (a NAT or firewall that forgot it, a blip). A job awaiting that connection
 * must still end, so the person who asked is told how it went, instead of "queued" standing for ever.
 */
let env: SimEnv;
const prefixes: string[] = [];

beforeAll(async () => {
  env = await startSimEnv({
    fleet: twoHostFleet([{ name: 'news', memoryMiB: 512, vcpus: 1, running: false }]),
    timeScale: 0.05,
  });
}, 30_000);

afterAll(async () => {
  await env?.stop();
  for (const p of prefixes) await deleteKeysWithPrefix(REDIS_URL, p);
});

describe("the agent's Redis connection going silent during a job", () => {
  /** /start xen1:DOMAIN with the agent's own connection going silent at the first command `at` accepts. */
  async function startWithSilence(requestId: string, domain: string, at: (d: Buffer) => boolean): Promise<Reply | undefined> {
    const prefix = uniquePrefix();
    prefixes.push(prefix);
    const proxy = TcpProxy.forUrl(REDIS_URL);
    await proxy.start();
    const config = simBotConfig(env, prefix, REDIS_URL);
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    let agent: Agent | null = null;
    try {
      agent = await startAgent({
        config,
        runner: env.pool(),
        connection: proxy.url,
        prefix,
        logger: quietLogger,
        hosts: ['xen1', 'xen2'],
        timings: { redisCommandTimeoutMs: 1_000 },
      });
      await bot.start();
      proxy.freezeRepliesAt(at);
      const r = chatRequest(requestId, `start xen1:${domain}`);
      await bot.core.handle(r, targetOf(r));
      await adapter.until(() => adapter.finals(r.id).length > 0, 10_000, 'the final reply to /start');
      return adapter.finals(r.id)[0];
    } finally {
      // First: a connection left frozen would hold the agent's close (its QUIT) too.
      await proxy.stop();
      await bot.stop();
      await agent?.close(1_000);
    }
  }

  const onXen1 = (name: string) => env.sim.fleet.findDomain(env.sim.fleet.host('xen1'), name);

  it('GIVEN its journal write after xl create goes unanswered THEN /start still gets its final reply', async () => {
    // The job's `done` record: the guest has started by then.
    const final = await startWithSilence('agent-redis-silent-1', 'mail', (d) => d.includes('"step":"done"'));
    expect(final).toMatchObject({ kind: 'result', tone: 'success' });
    expect(onXen1('mail')?.id).not.toBeNull();
  }, 20_000);

  it('GIVEN its read of the domain lock goes unanswered THEN /start is answered that nothing was sent', async () => {
    const final = await startWithSilence('agent-redis-silent-2', 'news', (d) => d.includes(':lock:news'));
    expect(final).toMatchObject({ kind: 'result', tone: 'error' });
    expect(JSON.stringify(final)).toMatch(/Redis[^"]*; nothing was sent/);
    expect(JSON.stringify(final)).not.toMatch(/internal error/);
    expect(onXen1('news')?.id ?? null).toBeNull();
  }, 20_000);
});
