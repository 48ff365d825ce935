import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMMANDS } from '../../commands/index.ts';
import { type Agent, startAgent } from '../../src/agent/agent.ts';
import { createBot } from '../../src/app/bot.ts';
import type { Config } from '../../src/config/schema.ts';
import { defineCommand } from '../../src/core/define-command.ts';
import { DomainRefArg } from '../../src/core/domain-ref.ts';
import { reply } from '../../src/core/reply.ts';
import { CaptureAdapter } from '../helpers/capture-adapter.ts';
import { deleteKeysWithPrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { freePort, startPrivateRedis } from '../helpers/redis-server.ts';
import { chatRequest, targetOf } from '../helpers/requests.ts';
import { quietLogger, type SimEnv, simBotConfig, startSimEnv } from '../helpers/sim.ts';

/**
 * The seams the next features build on: the system entry point (no chat event behind a request), plans (jobs one
 * after another under one progress message, stopping at the first failure), and Redis outages.
 */

const prefix = uniquePrefix();
let env: SimEnv;
let agent: Agent;

const configFor = (p: string, url = REDIS_URL): Config => simBotConfig(env, p, url);

const request = (id: string, text: string, user = 'alice') => chatRequest(id, text, user);
const target = (requestId: string) => targetOf(chatRequest(requestId, ''));

/** A two-step plan for the tests: stop a domain, then start it again, one after the other. */
const cycle = defineCommand({
  name: 'cycle',
  description: 'stop then start (a test plan)',
  args: z.strictObject({ domain: DomainRefArg }),
  positional: ['domain'],
  permission: 'domain.stop',
  risk: 'write',
  scope: 'domain',
  op: 'domain.stop',
  examples: [],
  job: (_a, t) => ({ op: 'domain.stop', host: t.host, domain: t.domain ?? '', force: false }),
  plan: (_a, t) => [
    { op: 'domain.stop', host: t.host, domain: t.domain ?? '', force: false },
    { op: 'domain.start', host: t.host, domain: t.domain ?? '' },
  ],
  render: (outcomes) =>
    reply.result(
      `cycle: ${outcomes.length} step(s)`,
      outcomes.map((o) => reply.text(`${o.host}: ${o.ok ? (o.result as { outcome: string }).outcome : o.failure.code}`)),
    ),
});

beforeAll(async () => {
  env = await startSimEnv({ shutdownDelayMs: 300, timeScale: 0.05 });
  agent = await startAgent({ config: configFor(prefix), runner: env.pool(), connection: REDIS_URL, prefix, logger: quietLogger });
}, 30_000);

afterAll(async () => {
  await agent?.close(1_000);
  await env?.stop();
  await deleteKeysWithPrefix(REDIS_URL, prefix);
});

describe('the system entry point', () => {
  it('runs a command as a person, replying in a channel, audited as that person', async () => {
    const adapter = new CaptureAdapter();
    const config = configFor(prefix);
    const bot = await createBot({ config, redis: REDIS_URL, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    try {
      await bot.run({ command: 'list', args: 'xen2', as: 'alice', channel: { platform: 'terminal', id: 'ops' }, requestId: 'sys-1' });
      const r = await adapter.finalReply('sys-1');
      expect(r.title).toBe('Domains on xen2');
      expect(adapter.delivered.every((d) => d.target.channelId === 'ops')).toBe(true);
      await bot.run({ command: 'stop', args: 'files', as: 'carol', channel: { platform: 'terminal', id: 'ops' }, requestId: 'sys-2' });
      expect(await adapter.finalReply('sys-2')).toMatchObject({ title: 'Not allowed' });
      const audit = readFileSync(config.audit.file, 'utf8');
      expect(audit).toMatch(
        /"requestId":"sys-1".*"person":"alice".*"event":"request"|"event":"request".*"requestId":"sys-1".*"person":"alice"/,
      );
    } finally {
      await bot.stop();
    }
  });
});

/** A bot that also knows the test plan `cycle`. */
async function cycleBot() {
  const adapter = new CaptureAdapter();
  const bot = await createBot({
    config: configFor(prefix),
    redis: REDIS_URL,
    logger: quietLogger,
    adapters: [adapter],
    commands: [...COMMANDS, cycle],
  });
  await bot.start();
  return { adapter, bot };
}

describe('plans', () => {
  it('runs the steps one after another under one message, and renders every outcome', async () => {
    const { adapter, bot } = await cycleBot();
    try {
      const before = env.sim.hosts['xen1']?.commandLog.length ?? 0;
      await bot.core.handle(request('plan-1', 'cycle xen1:gateway'), target('plan-1'));
      const r = await adapter.finalReply('plan-1');
      expect(r.title).toBe('cycle: 2 step(s)');
      expect(r.blocks).toEqual([reply.text('xen1: shut-down'), reply.text('xen1: started')]);
      const log = (env.sim.hosts['xen1']?.commandLog ?? []).slice(before);
      const shutdown = log.findIndex((c) => /\bshutdown\b/.test(c));
      const create = log.findIndex((c) => /\bcreate\b/.test(c));
      expect(shutdown).toBeGreaterThanOrEqual(0);
      expect(create).toBeGreaterThan(shutdown);
      // One message: every delivery edits the same target, the one the "queued" reply made.
      const mine = adapter.delivered.filter((d) => d.target.requestId === 'plan-1');
      expect(mine.map((d) => Number(d.target.state['deliveries'] ?? 0))).toEqual(mine.map((_, i) => i));
      expect(mine.filter((d) => d.reply.kind !== 'progress')).toHaveLength(1);
    } finally {
      await bot.stop();
    }
  });

  it('stops at the first failure: later steps are never queued', async () => {
    const { adapter, bot } = await cycleBot();
    try {
      const before = env.sim.hosts['xen2']?.commandLog.length ?? 0;
      env.sim.faults.failNext('xen2', { match: /\bshutdown\b/, code: 1, stderr: 'libxl: error: injected\n' });
      await bot.core.handle(request('plan-2', 'cycle xen2:files'), target('plan-2'));
      const r = await adapter.finalReply('plan-2');
      expect(r.title).toBe('cycle: 1 step(s)');
      expect(r.blocks).toHaveLength(1);
      expect((env.sim.hosts['xen2']?.commandLog ?? []).slice(before).filter((c) => /\bcreate\b/.test(c))).toEqual([]);
    } finally {
      await bot.stop();
    }
  });
});

describe('Redis outages', () => {
  it('at start-up the bot says it is waiting for Redis, naming the URL, and once Redis is there it starts and queues', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const p = uniquePrefix();
    const lines: string[] = [];
    let announced: () => void = () => {};
    const said = new Promise<void>((resolve) => {
      announced = resolve;
    });
    const adapter = new CaptureAdapter();
    const bot = await createBot({
      config: configFor(p, url),
      redis: url,
      logger: quietLogger,
      adapters: [adapter],
      onRedisWait: (line) => {
        lines.push(line);
        announced();
      },
    });
    const started = bot.start();
    await said;
    expect(lines[0]).toMatch(new RegExp(`^waiting for Redis at redis://127\\.0\\.0\\.1:${port} \\(.+\\); retrying \\(attempt 1\\)$`));
    const redis = await startPrivateRedis({ port });
    try {
      await started;
      // Its queues work too: made while Redis was down, BullMQ's connection once gave up for good, and every command
      // was answered "Redis is unreachable". No agent here: the read is saved with its "no agent" outcome, in the MULTI
      // on the adding connection, which is made from BullMQ's shared one once that is ready.
      await bot.core.handle(request('late-1', 'list xen1'), target('late-1'));
      const r = await adapter.finalReply('late-1');
      expect(r.title).not.toBe('Redis is unreachable');
      expect(JSON.stringify(r.blocks)).toMatch(/no agent/);
      await bot.stop();
    } finally {
      await redis.stop();
    }
  });

  it('during an outage a request is answered "Redis is unreachable", and the audit entry reaches the stream afterwards', async () => {
    const redis = await startPrivateRedis();
    const p = uniquePrefix();
    const config = configFor(p, redis.url);
    const adapter = new CaptureAdapter();
    const bot = await createBot({ config, redis: redis.url, logger: quietLogger, adapters: [adapter] });
    await bot.start();
    try {
      await redis.kill('SIGKILL');
      await bot.core.handle(request('outage-1', 'list xen1'), target('outage-1'));
      const r = await adapter.finalReply('outage-1');
      expect(r).toMatchObject({ kind: 'error', title: 'Redis is unreachable' });
      expect(r.blocks).toEqual([reply.text('nothing was queued; try again when it is back')]);
      expect(readFileSync(config.audit.file, 'utf8')).toContain('"requestId":"outage-1"');
      await redis.restart();
      const client = new Redis(redis.url);
      await expect
        .poll(async () => (await client.xrange(`${p}:audit`, '-', '+')).some(([, f]) => f.includes('outage-1')), { timeout: 15_000 })
        .toBe(true);
      client.disconnect();
    } finally {
      await bot.stop();
      await redis.stop();
    }
  });
});
