import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { OutcomeUnknownError, TransportError } from '../../core/errors.ts';

let env: SimEnv;
beforeAll(async () => {
  env = await startSimEnv();
});
afterAll(async () => {
  await env.stop();
});

/**
 * The agent closes its pool on SIGTERM. A connection still being made then must not come up afterwards: it would
 * run the command the agent was told to stop for, and stay open (its keepalive keeping the process alive).
 */
describe('closing the pool while a connection is being made', () => {
  it('sends nothing and leaves no connection behind', async () => {
    const pool = env.pool();
    const since = env.sim.log.lastSeq;
    const running = pool.run('xen1', ['xl', 'create', '/etc/xen/vm/mail.cfg']).catch((e: unknown) => e);
    const streaming = pool
      .stream('xen2', ['xentop', '-b', '-d', '1'], { signal: new AbortController().signal, onStdout: () => {} })
      .catch((e: unknown) => e);
    await pool.close();
    const [ran, streamed] = await Promise.all([running, streaming]);
    expect(ran).toBeInstanceOf(TransportError);
    expect(ran).not.toBeInstanceOf(OutcomeUnknownError);
    expect(streamed).toBeInstanceOf(TransportError);
    expect(env.sim.log.query({ since, match: /create|xentop/ })).toEqual([]);
    await expect.poll(() => [env.sim.state().hosts['xen1']?.connections, env.sim.state().hosts['xen2']?.connections]).toEqual([0, 0]);
  });
});
