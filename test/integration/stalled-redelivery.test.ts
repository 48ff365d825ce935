import { describe, expect, it } from 'vitest';
import { redeliveryRig } from '../helpers/redelivery-rig.ts';
import { meta } from './agent-support.ts';

/**
 * A BullMQ stalled job redelivered while its first run is still alive (its lock lapsed: a Redis blip longer than
 * lockDuration, simulated here by the lock key going away). Both runs pass the journal's "no entry yet" check; the
 * first to write the journal sends `xl create`, the other must send nothing — and the job's final outcome must say
 * what really happened on the host. Real simulator, Redis, BullMQ and agent.
 */
const scene = redeliveryRig();

describe('a stalled mutation redelivered while its first run still runs', () => {
  it('is not reported as failed when the first run started the domain', async () => {
    const { env, rig, agent } = scene;
    expect(agent).toBeDefined();
    const since = env.sim.log.lastSeq;
    // Both runs' fleet-wide check (xl list on xen2) is slow; the first run's answer comes first.
    await env.sim.faults.add('xen2', { kind: 'delay', match: /xl list/, ms: 4000, times: 2 });
    const m = meta({ command: 'start' });
    const job = await rig.enqueue({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: m });
    const outcome = rig.outcome(job, 20_000);
    // The first run is waiting for xen2: its BullMQ lock lapses (as after a Redis blip longer than lockDuration).
    await env.sim.log.waitFor({ host: 'xen2', match: /xl list/, since, timeoutMs: 5000 });
    const lockKey = `${rig.prefix}:host-xen1:${job.id}:lock`;
    expect(await rig.redis.del(lockKey)).toBe(1);
    const o = await outcome;

    const creates = env.sim.log.query({ host: 'xen1', since, match: /xl create/ }).map((e) => e.command);
    const mail = env.sim.fleet.host('xen1').domains.find((d) => d.name === 'mail');
    // What the host received and what it is in now:
    expect(creates).toHaveLength(1);
    expect(mail).toBeDefined();
    // The journal knows: the run that sent `xl create` recorded it done, with its result.
    expect(await rig.journal.get(job.id ?? '')).toMatchObject({ step: 'done', result: { outcome: 'started' } });
    // What the operator is told must agree with it.
    // Was "internal error in the agent": the run that lost the journal race failed the job, and BullMQ took its
    // failure, not the other run's success (this run held the job's lock by then).
    expect(o).toMatchObject({ ok: true, result: { outcome: 'started' } });
  }, 30_000);
});
