import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDELIVERY_TIMINGS } from '../../test/helpers/redelivery-rig.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../test/helpers/sim.ts';
import { type AgentRig, meta, startRig } from '../../test/integration/agent-support.ts';

/**
 * BullMQ's stalled check hands a mutation whose job lock lapsed (a Redis blip, an event loop stall) to a Worker of
 * ANOTHER agent while the first one still runs `xl migrate`. The second agent cannot count the first one's runs as
 * the first counts its own: only Redis tells it that the `issuing` entry it finds belongs to a live run, which it
 * must wait for — neither answering with a half-done state read back nor letting the domain go meanwhile. Two real
 * agents (each its own journal, locks and SSH pool, as two processes), Redis, BullMQ and the simulator.
 */
let env: SimEnv;
let rig: AgentRig;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  rig = await startRig(env);
}, 30_000);
afterAll(async () => {
  await rig?.stop();
  await env?.stop();
});

describe('a migration handed to a second agent while the first one still migrates', () => {
  it('is answered with what the migration did once it ended, sent once, the domain locked until then', async () => {
    const first = await rig.startAgent({ hosts: ['xen1'], timings: REDELIVERY_TIMINGS });
    const since = env.sim.log.lastSeq;
    await env.sim.faults.add('xen1', { kind: 'delay', match: /xl migrate/, ms: 4000 });
    const m = meta({ command: 'migrate' });
    await rig.locks.acquire(
      { requestId: m.requestId, person: 'alice', command: 'migrate', host: 'xen1', domain: 'web', reason: 'migration', since: 0 },
      30_000,
    );
    const job = await rig.enqueue({ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2', meta: m });
    let answeredAt: number | null = null;
    const outcome = rig.outcome(job, 30_000).then((o) => {
      answeredAt = Date.now();
      return o;
    });
    const [migrate] = await env.sim.log.waitFor({ host: 'xen1', match: /xl migrate/, since, timeoutMs: 5000 });
    expect(await rig.journal.get(job.id ?? '')).toMatchObject({ step: 'issuing' });

    // The first agent's Worker stops fetching (its run goes on): the redelivery can land only on the second agent.
    await first.workers[0]?.close(true);
    await rig.startAgent({ hosts: ['xen1'], timings: REDELIVERY_TIMINGS });
    expect(await rig.redis.del(`${rig.prefix}:host-xen1:${job.id}:lock`)).toBe(1);

    // Was: the second agent answered "nothing moved" at once and released the lock while `xl migrate` still ran.
    let redelivered = false;
    let unlockedMidway = false;
    while (migrate?.end === undefined) {
      const j = await rig.queue('xen1').getJob(job.id ?? '');
      if ((j?.attemptsStarted ?? 0) >= 2) redelivered = true;
      if ((await rig.locks.holder('web')) === null) unlockedMidway = true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const endedAt = Date.now();
    expect(redelivered).toBe(true);
    expect(unlockedMidway).toBe(false);

    const o = await outcome;
    expect(o).toMatchObject({ ok: true, result: { outcome: 'migrated', target: 'xen2' } });
    expect(answeredAt ?? 0).toBeGreaterThanOrEqual(endedAt - 100);
    expect(env.sim.log.query({ host: 'xen1', since, match: /xl migrate/ })).toHaveLength(1);
    expect(env.sim.fleet.host('xen2').domains.some((d) => d.name === 'web')).toBe(true);
    await expect.poll(() => rig.locks.holder('web'), { timeout: 3000 }).toBeNull();
  }, 40_000);
});
