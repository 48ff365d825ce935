import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatTable, type Reply } from '../../src/core/reply.ts';
import { type PrivateRedisStack, startPrivateRedisStack } from '../helpers/private-redis-stack.ts';
import { targetOf } from '../helpers/requests.ts';

/**
 * Redis losing its data (a restart without it, a flush, a failover to a replica that lagged) under a running stack:
 * what the operator is told, and what the hosts receive.
 */
let stack: PrivateRedisStack;

beforeAll(async () => {
  stack = await startPrivateRedisStack({
    extra: { schedules: { board: { what: 'status', every: '5s', channel: { platform: 'terminal', id: 'ops' }, as: 'alice' } } },
  });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
}, 60_000);

const textOf = (r: Reply) => r.blocks.map((b) => (b.type === 'table' ? formatTable(b.table) : b.type === 'text' ? b.text : '')).join('\n');

describe('Redis loses its data while a mutation runs', () => {
  it('the retry the "outcome unknown" reply invites is refused while the first command still runs on the host', async () => {
    const { env, bot, adapter } = stack;
    const since = env.sim.log.lastSeq;
    // The graceful shutdown takes 12 s on the host.
    await env.sim.faults.add('xen1', { kind: 'delay', match: /shutdown/, ms: 12_000 });
    const first = stack.ask('stop web');
    await bot.core.handle(first, targetOf(first));
    await env.sim.log.waitFor({ host: 'xen1', since, match: /shutdown/, timeoutMs: 10_000 });
    const admin = new Redis(stack.redis.url);
    await admin.flushall();
    admin.disconnect();

    // Answered by the bot's look for lost requests (every 5 s); the domain lock went with the data.
    const lost = await adapter.finalReply(first.id);
    expect(textOf(lost)).toContain('whether it took effect is unknown, and the agent may still be running it');
    const retry = stack.ask('stop web --force');
    await bot.core.handle(retry, targetOf(retry));
    const answer = await adapter.finalReply(retry.id);
    expect(answer.title).toMatch(/Could not/);
    expect(textOf(answer)).toMatch(/web is busy: alice's stop on xen1 \(request /);
    // Nothing but the first shutdown reached the host.
    expect(env.sim.log.query({ host: 'xen1', since, match: /destroy|shutdown/ }).map((e) => e.command)).toEqual([
      'timeout 5 xl shutdown -w web',
    ]);
  }, 60_000);
});

describe('a config schedule when Redis loses its data', () => {
  it('goes on posting: the running bot puts it back, as a restart would', async () => {
    const posts = () => stack.adapter.delivered.filter((d) => d.target.requestId.startsWith('sched-cfg-board')).length;
    await stack.adapter.until(() => posts() >= 1, 20_000, 'the first post of the config schedule');
    const admin = new Redis(stack.redis.url);
    await admin.flushall();
    admin.disconnect();
    const after = posts();
    await stack.adapter.until(() => posts() >= after + 2, 25_000, 'two posts after Redis lost its data');
  }, 60_000);
});
