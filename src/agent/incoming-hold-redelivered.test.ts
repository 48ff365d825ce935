import { describe, expect, it } from 'vitest';
import { redeliveryRig } from '../../test/helpers/redelivery-rig.ts';
import { meta } from '../../test/integration/agent-support.ts';

/**
 * A plan's migration step (keepFreeMiB: it holds its target) handed out again by BullMQ while its first run is
 * between taking the hold and writing its journal entry (checking the target's free memory). The second run reads
 * the guest on its source, waits for the hold, and gets it once the first run's migration has arrived — then checks
 * the target's room with the guest already counted there. Real simulator, Redis, BullMQ and agent.
 */
const scene = redeliveryRig();

const XL_INFO = /\bxl'? '?info\b/;

describe('a plan step redelivered while its first run holds the target and checks its room', () => {
  it('is answered with the migration its first run made, not refused as "no room, not migrated"', async () => {
    const { env, rig, agent } = scene;
    expect(agent).toBeDefined();
    const since = env.sim.log.lastSeq;
    // Room for web (2048 MiB) once, with the reserve kept; after it arrived, not again.
    const keep = env.sim.fleet.freeMemoryMiB(env.sim.fleet.host('xen2')) - 2048;
    // The first run's free-memory check of xen2 takes 2 s: BullMQ hands the job out again meanwhile.
    await env.sim.faults.add('xen2', { kind: 'delay', match: XL_INFO, ms: 2000 });
    const m = meta({ command: 'evacuate' });
    await rig.locks.acquire(
      { requestId: m.requestId, person: 'alice', command: 'evacuate', host: 'xen1', domain: 'web', reason: 'migration', since: 0 },
      30_000,
    );
    const job = await rig.enqueue({ op: 'domain.migrate', host: 'xen1', domain: 'web', target: 'xen2', keepFreeMiB: keep, meta: m });
    const outcome = rig.outcome(job, 25_000);
    await env.sim.log.waitFor({ host: 'xen2', match: XL_INFO, since, timeoutMs: 5000 });
    expect(await rig.journal.get(job.id ?? '')).toBeNull();
    expect(await rig.redis.del(`${rig.prefix}:host-xen1:${job.id}:lock`)).toBe(1);

    const o = await outcome;
    expect(env.sim.log.query({ host: 'xen1', since, match: /xl migrate/ })).toHaveLength(1);
    expect(env.sim.fleet.host('xen2').domains.some((d) => d.name === 'web')).toBe(true);
    // Was: { ok: false, failure: 'xen2 has … MiB free now: web (2048 MiB) would leave it … — not migrated; nothing was sent' }
    expect(o).toMatchObject({ ok: true, result: { outcome: 'migrated', target: 'xen2' } });
    expect(await rig.redis.exists(`${rig.prefix}:incoming:xen2`)).toBe(0);
  }, 40_000);
});
