import { describe, expect, it } from 'vitest';
import { redeliveryRig } from '../../test/helpers/redelivery-rig.ts';
import { meta } from '../../test/integration/agent-support.ts';

/**
 * BullMQ hands a mutation out again while its first run still sends the command (the job's own lock lapsed, as in a
 * Redis blip longer than lockDuration) — here after that run wrote its journal entry. The second run must not take
 * the entry for one a dead agent left: it must neither answer before the command ends nor let the domain go while
 * the first run still migrates it. One agent, as most deployments run: BullMQ's stalled check hands the job back to
 * the agent that still runs it. Real simulator, Redis, BullMQ and agent.
 */
const scene = redeliveryRig();

describe('a migration redelivered after its first run journaled it and while that run still migrates', () => {
  it('is answered with what the migration did, once it ended, and the domain stays locked until then', async () => {
    const { env, rig, agent } = scene;
    expect(agent).toBeDefined();
    const since = env.sim.log.lastSeq;
    // The memory copy takes 3 s: long enough for BullMQ to hand the job out again meanwhile.
    await env.sim.faults.add('xen1', { kind: 'delay', match: /xl migrate/, ms: 3000 });
    const m = meta({ command: 'migrate' });
    await rig.locks.acquire(
      { requestId: m.requestId, person: 'alice', command: 'migrate', host: 'xen1', domain: 'web', reason: 'migration', since: 0 },
      30_000,
    );
    const job = await rig.enqueue({ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2', meta: m });
    const outcome = rig.outcome(job, 20_000);
    const [migrate] = await env.sim.log.waitFor({ host: 'xen1', match: /xl migrate/, since, timeoutMs: 5000 });
    expect(await rig.journal.get(job.id ?? '')).toMatchObject({ step: 'issuing' });
    expect(await rig.redis.del(`${rig.prefix}:host-xen1:${job.id}:lock`)).toBe(1);

    const o = await outcome;
    // Was "interrupted when the agent restarted: … nothing moved", answered (and the domain's lock released, so a
    // retry could run) while the first run's `xl migrate` still ran and then moved the guest.
    expect(migrate?.end).toBeDefined();
    expect(o).toMatchObject({ ok: true, result: { outcome: 'migrated', target: 'xen2' } });
    expect(env.sim.log.query({ host: 'xen1', since, match: /xl migrate/ })).toHaveLength(1);
    expect(env.sim.fleet.host('xen2').domains.some((d) => d.name === 'web')).toBe(true);
    // Let go once both runs ended, by the last of them.
    expect(await rig.locks.holder('web')).toBeNull();
  }, 30_000);
});
