import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv } from '../../../test/helpers/sim.ts';
import { RemoteCommandError } from '../../core/errors.ts';

/**
 * /top on a Dom0 without xentop: the shell answers exit 127 (dash: `sh: 1: xentop: not found`), and the reply used to
 * be that raw line. Through `sudo -n --`, sudo itself reports the missing command and exits 1.
 */
let env: SimEnv;

beforeAll(async () => {
  env = await startSimEnv({
    fleet: { hosts: { xen1: { toolstack: 'xl', domains: [{ name: 'web', memoryMiB: 1024, vcpus: 1, running: true }] } } },
  });
});
afterAll(async () => {
  await env.stop();
});
afterEach(() => {
  env.sim.faults.clear();
});

async function topFailure(stderr: string, code: number, sudo = false): Promise<RemoteCommandError> {
  await env.sim.faults.add('xen1', { kind: 'fail', match: /\bxentop\b/, times: 0, code, stderr });
  const ts = simToolstack(env.pool(sudo ? { xen1: { sudo: true } } : {}), 'xen1');
  const e = await ts.topTable().then(
    (r) => r,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(RemoteCommandError);
  return e as RemoteCommandError;
}

describe('/top on a host without xentop', () => {
  it('says xentop is not installed, in one plain line, instead of the shell line', async () => {
    const e = await topFailure('sh: 1: xentop: not found\n', 127);
    expect(e.message).toBe('xentop is not installed on xen1 (it comes with the Xen tools)');
  });

  it('says so for bash as well', async () => {
    const e = await topFailure('bash: line 1: xentop: command not found\n', 127);
    expect(e.message).toBe('xentop is not installed on xen1 (it comes with the Xen tools)');
  });

  it('says so through sudo, which reports the missing command itself and exits 1', async () => {
    const e = await topFailure('sudo: xentop: command not found\n', 1, true);
    expect(e.message).toBe('xentop is not installed on xen1 (it comes with the Xen tools)');
  });

  it('does not blame xentop when the shell is missing another command (sudo itself)', async () => {
    const e = await topFailure('sh: 1: sudo: not found\n', 127, true);
    expect(e.message).toBe('xentop -b -i 2 -d 1 on xen1 exited 127: sh: 1: sudo: not found');
  });

  it('leaves other failures as they were', async () => {
    const e = await topFailure('Failed to initialize xenstat library\n', 1);
    expect(e.message).toBe('xentop -b -i 2 -d 1 on xen1 exited 1: Failed to initialize xenstat library');
  });
});
