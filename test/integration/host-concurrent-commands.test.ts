import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, startSimEnv, twoHostFleet } from '../helpers/sim.ts';
import { type AgentRig, meta, startRig } from './agent-support.ts';

/** Two people's jobs on one host at once, through one agent and its SSH pool: one's failure is not the other's. */
describe('a read that hangs on a host while a migration from it runs', () => {
  let env: SimEnv;
  let rig: AgentRig;
  beforeAll(async () => {
    // timeScale 5: the simulator's `xl migrate` of web takes ~2 s.
    env = await startSimEnv({ fleet: twoHostFleet(), timeScale: 5 });
    rig = await startRig(env);
    await rig.startAgent({ pool: env.pool({}, { commandTimeoutMs: 1000 }) });
  });
  afterAll(async () => {
    await rig?.stop();
    await env?.stop();
  });

  it("someone's /console timing out does not fail bob's /migrate", async () => {
    const since = env.sim.log.lastSeq;
    const migrate = await rig.enqueue({
      op: 'domain.migrate',
      host: 'xen1',
      domain: 'web',
      target: 'xen2',
      meta: meta({ command: 'migrate', person: 'bob', userId: 'bob' }),
    });
    await env.sim.log.waitFor({ host: 'xen1', since, match: /migrate/, timeoutMs: 10_000 });
    // A read on the same host hangs (on a second try too, were there one) while the migration streams.
    env.sim.faults.hangNext('xen1', /^test -r/);
    env.sim.faults.hangNext('xen1', /^test -r/);
    const consoleJob = await rig.enqueue({
      op: 'domain.console',
      host: 'xen1',
      domain: 'web',
      lines: 20,
      meta: meta({ command: 'console' }),
    });
    const read = await rig.outcome(consoleJob);
    expect(read).toMatchObject({ ok: false, failure: { code: 'transport' } });
    const moved = await rig.outcome(migrate);
    expect(moved.ok ? 'migrated' : `${moved.failure.code}: ${moved.failure.message}`).toBe('migrated');
  }, 30_000);
});
