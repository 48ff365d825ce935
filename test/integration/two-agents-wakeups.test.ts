import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName } from '../../src/queue/names.ts';
import { monitorRedis } from '../helpers/redis.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type AgentRig, FAST, meta, startRig } from './agent-support.ts';

/**
 * Two agents serving the same host share its queue's wake-up marker: each one's BZPOPMIN waits on it. The README
 * promises that a job waiting wakes a free slot one round trip later — whichever agent's slot that is.
 */
let env: SimEnv;
let rig: AgentRig;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  rig = await startRig(env);
});

afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});

describe('two agents serving the same host, one of them busy', () => {
  it('a job queued while the first agent has both slots taken is run at once by the idle second agent', async () => {
    const marker = `${rig.prefix}:${hostQueueName('xen1')}:marker`;
    const monitor = await monitorRedis();
    // The connections whose BZPOPMIN names xen1's marker (each agent's blocking connection).
    const popping = () =>
      new Set(monitor.calls.filter((c) => /^bzpopmin$/i.test(c.args[0] ?? '') && c.args.includes(marker)).map((c) => c.source));
    try {
      const timings = { ...FAST, lockDurationMs: 5_000, stalledIntervalMs: 3_000 };
      const busy = await rig.startAgent({ hosts: ['xen1'], timings });
      // Two slow uptimes fill the busy agent's two slots on xen1 (concurrency 2).
      await env.sim.faults.add('xen1', { kind: 'delay', ms: 8_000, match: /\buptime\b/, times: 2 });
      const slow = await Promise.all([0, 1].map(() => rig.enqueue({ op: 'host.uptime', host: 'xen1', meta: meta({ command: 'uptime' }) })));
      await expect.poll(() => rig.queue('xen1').getActiveCount(), { timeout: 5_000 }).toBe(2);
      await expect.poll(() => popping().size, { timeout: 5_000 }).toBe(1);
      const idle = await rig.startAgent({ hosts: ['xen1'], timings });
      expect(busy.agentId).not.toBe(idle.agentId);
      // The idle agent waits on the marker too, behind the busy one's pop: Redis wakes the busy one first.
      await expect.poll(() => popping().size, { timeout: 5_000 }).toBe(2);
      const t0 = Date.now();
      const quick = await rig.enqueue({ op: 'domain.list', host: 'xen1', meta: meta({ command: 'list' }) });
      const outcome = await rig.outcome(quick, 20_000);
      const ms = Date.now() - t0;
      expect(outcome.ok).toBe(true);
      // Answered by the idle agent in milliseconds, not when a busy slot frees up (8 s) or the idle agent's wait times
      // out (5 s).
      expect(ms).toBeLessThan(1_500);
      await Promise.all(slow.map((j) => rig.outcome(j, 20_000)));
    } finally {
      monitor.stop();
    }
  });
});
