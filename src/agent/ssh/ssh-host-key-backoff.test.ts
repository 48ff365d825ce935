import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { HostKeyError } from '../../core/errors.ts';

/**
 * A Dom0 whose host key changed since it was pinned (reinstalled, or another machine on its address). Every attempt
 * after the first waits out the reconnect backoff, which the sampler's stream keeps growing: the commands that come
 * meanwhile must still be refused as a host key refusal — at once, not after waiting, and never as "unreachable" (a
 * TransportError the agent retries, a read the bot then reports as "no connection within 30 s").
 */
describe('a host key that changed between two connections', () => {
  let env: SimEnv;
  beforeAll(async () => {
    env = await startSimEnv();
  });
  afterAll(async () => {
    await env.sim.faults.presentAnotherHostKey('xen2', false);
    await env.stop();
  });

  it('is refused as such by every command while the reconnect backoff runs, at once, and keeps no connection', async () => {
    const pool = env.pool({}, { commandTimeoutMs: 3000, reconnectBaseMs: 20_000, reconnectMaxMs: 20_000 });
    expect((await pool.run('xen2', ['true'])).code).toBe(0);
    await env.sim.faults.presentAnotherHostKey('xen2', true);
    env.sim.faults.dropConnections('xen2');
    await expect.poll(() => pool.isConnected('xen2')).toBe(false);
    const presented = env.sim.hosts['xen2']?.hostKeyFingerprint;
    const expected = env.hosts['xen2']?.hostKey;
    const refusal = `refusing to connect to xen2: host key mismatch (expected ${expected}, presented ${presented})`;
    const before = env.sim.log.lastSeq;

    const first = await pool.run('xen2', ['xl', 'list']).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(HostKeyError);
    expect((first as Error).message).toBe(refusal);

    // The next attempt is 20 s away: the second command is told the same, now.
    const started = performance.now();
    const second = await pool.run('xen2', ['xl', 'list']).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(second).toBeInstanceOf(HostKeyError);
    expect((second as Error).message).toBe(refusal);
    expect(pool.isConnected('xen2')).toBe(false);
    expect(env.sim.log.query({ host: 'xen2', since: before })).toEqual([]);
    await expect.poll(() => env.sim.state().hosts['xen2']?.connections).toBe(0);
  });
});
